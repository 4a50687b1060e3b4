"""PMML verdicts that need the loaded model (weights and tensor shapes), made before anything is written.

``rules.check`` judges the config alone; these are the export-time conditions the config cannot show:
a weight that is NaN or infinite (PMML numbers must be finite), a BatchNormalization or Normalization
over a non-last axis, a merge whose inputs broadcast. ``api.convert`` runs them right after loading,
so ``--to all`` skips PMML with the reason and ``--to pmml`` exits 3 before writing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.convert.base import UNSUPPORTED, Finding
from modelport.spec import LayerSpec, ModelSpec

TARGET = "pmml"
AFTER_LOADING = "found after loading the weights"
ELEMENTWISE_MERGES = {"Add", "Subtract", "Average", "Maximum", "Minimum", "Multiply"}


def _finding(layer: LayerSpec, reason: str, hint: str) -> Finding:
    return Finding(TARGET, layer.name, layer.class_name, UNSUPPORTED,
                   reason=f"{layer.class_name}: {reason} ({AFTER_LOADING})", hint=hint)


def _weight_name(weight: Any, layer_name: str, k: int) -> str:
    name = getattr(weight, "path", None) or getattr(weight, "name", None) or f"{layer_name}/weight{k}"
    return str(name).split(":")[0]


def _non_finite(klayer: Any) -> str | None:
    """The first weight of a layer holding NaN or infinity, by name."""
    for k, weight in enumerate(getattr(klayer, "weights", [])):
        value = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
            return _weight_name(weight, klayer.name, k)
    return None


def _input_shapes(klayer: Any) -> list[tuple] | None:
    """The per-example shapes of a layer's inputs, or None when the layer has no single call."""
    try:
        inputs = klayer.input
    except (AttributeError, ValueError, RuntimeError):  # shared or never-called layers
        return None
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    try:
        return [tuple(t.shape)[1:] for t in inputs]
    except (AttributeError, TypeError):
        return None


def _axis(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def _shape_finding(layer: LayerSpec, klayer: Any) -> Finding | None:
    shapes = _input_shapes(klayer)
    if not shapes:
        return None
    cls, cfg = layer.class_name, layer.config
    rank = len(shapes[0])
    if cls == "BatchNormalization" and _axis(cfg.get("axis", -1)) not in (-1, rank):
        return _finding(layer, "only normalisation over the last axis can be folded into PMML weights",
                        "use onnx or savedmodel")
    if cls == "Normalization":
        mean = getattr(klayer, "mean", None)
        size = None if mean is None else int(np.asarray(mean).size)
        if size is not None and size not in (1, shapes[0][-1] if shapes[0] else 1):
            return _finding(layer, "normalisation over a non-last axis has no PMML form", "use onnx or savedmodel")
    if cls in ELEMENTWISE_MERGES and len(set(shapes)) > 1:
        return _finding(layer, f"inputs of shapes {[list(s) for s in shapes]} broadcast; PMML merges equal shapes",
                        "make the inputs the same shape, or use onnx or savedmodel")
    return None


def check_loaded(model: Any, spec: ModelSpec) -> list[Finding]:
    """Every layer PMML cannot write once its weights and shapes are known (empty when all can)."""
    by_name = {la.name: la for la in getattr(model, "layers", [])}
    findings = []
    for layer in spec.layers:
        klayer = by_name.get(layer.name)
        if klayer is None:
            continue
        bad_weight = _non_finite(klayer)
        if bad_weight:
            findings.append(_finding(layer, f"weight '{bad_weight}' holds NaN or infinity; PMML numbers are finite",
                                     "retrain or re-save the model with finite weights, or use onnx or savedmodel"))
            continue
        shape = _shape_finding(layer, klayer)
        if shape is not None:
            findings.append(shape)
    return findings
