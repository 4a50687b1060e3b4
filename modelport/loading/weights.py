"""Weights from an HDF5 file (full model or ``save_weights``), assigned by layer name, all or nothing.

Layout (every Keras era): ``[model_weights/]<layer>/`` with a ``weight_names`` attribute listing the
layer's arrays in save order (trainable, then non-trainable). Keras 1 names them ``dense_1_W``/``_b``;
tf_keras's own converter turns Keras 1 and cuDNN layouts into today's. Every array in the file must
land in the model and every model weight must get one: no silent partial load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, NotAModelError

CONV_CLASSES = {
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "SeparableConv1D",
    "SeparableConv2D",
    "DepthwiseConv2D",
    "Conv2DTranspose",
    "Conv3DTranspose",
}


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_h5_weights(path: str | Path) -> dict[str, list[tuple[str, Any]]]:
    """Layer name -> ``(weight name, array)`` pairs, for layers that saved any (in saved order)."""
    import h5py
    import numpy as np

    try:
        with h5py.File(path, "r") as f:
            g = f["model_weights"] if "model_weights" in f else f
            out: dict[str, list[Any]] = {}
            names = [_text(n) for n in g.attrs.get("layer_names", [])]
            if "top_level_model_weights" in g and "top_level_model_weights" not in names:
                names.append("top_level_model_weights")
            for name in names:
                if name not in g:
                    continue
                weight_names = [_text(w) for w in g[name].attrs.get("weight_names", [])]
                if weight_names:
                    out[name] = [(w, np.asarray(g[name][w])) for w in weight_names]
            return out
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as e:  # h5py's ways of saying "corrupt"
        raise NotAModelError(
            f"{path}: the weights in this HDF5 file are damaged or unreadable ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:120] if str(e) else ''})",
            "download or save the model again",
        ) from None


def finalize_states(model: Any) -> None:
    """Let every layer rebuild what it derives from its variables, as Keras's own loaders do after
    assigning weights. An adapted ``Normalization`` computes with tensors made from its ``mean`` and
    ``variance`` variables by ``finalize_state``; assigning the variables alone leaves it computing
    with mean 0 / variance 1 (lookup layers and ``Discretization`` work the same way)."""
    for layer in model._flatten_layers(include_self=True, recursive=True):
        finalize = getattr(layer, "finalize_state", None)
        if callable(finalize) and getattr(layer, "built", True):
            finalize()


def _legacy_weights(layer: Any) -> list[Any]:
    """The order Keras writes a layer's weights to HDF5: trainable, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def flip_theano_kernels(layer: Any, values: list[Any]) -> list[Any]:
    """Theano convolves with flipped kernels; TensorFlow correlates. Flip every spatial axis, as
    Keras 2's own loader did for Theano-trained files."""
    if type(layer).__name__ not in CONV_CLASSES or not values:
        return values
    kernel = values[0]
    spatial = kernel.ndim - 2
    values = list(values)
    values[0] = kernel[tuple([slice(None, None, -1)] * spatial + [slice(None)] * 2)].copy()
    return values


def assign_by_name(
    model: Any, saved: dict[str, list[tuple[str, Any]]], *, loader: str, keras_version: str | None,
    backend: str | None,
) -> tuple[list[Assignment], list[str]]:
    """Assign every saved array to the model layer of the same name. Returns what was assigned
    (for the audit: the value meant for each variable, after the era conversions) and the weight
    conversions used. Raises ``BadInputError`` on any mismatch."""
    remaining = dict(saved)
    assignments: list[Assignment] = []
    conversions: list[str] = []
    original = "1" if not keras_version or keras_version.startswith("1") else keras_version
    for layer in model.layers:
        targets = _legacy_weights(layer)
        if not targets:
            continue
        if layer.name not in remaining:
            raise BadInputError(
                f"the weights file has no weights for layer '{layer.name}'",
                "pass the weights saved from this very architecture",
            )
        stored = remaining.pop(layer.name)
        names = [f"{layer.name}/{n}" for n, _ in stored]
        values = [v for _, v in stored]
        if loader == "tf_keras":
            from tf_keras.src.saving.legacy import hdf5_format

            values = hdf5_format.preprocess_weights_for_loading(layer, list(values), original, backend)
        if backend == "theano" and type(layer).__name__ in CONV_CLASSES:
            values = flip_theano_kernels(layer, values)
            if "theano-kernel-flip" not in conversions:
                conversions.append("theano-kernel-flip")
        if len(values) != len(targets):
            raise BadInputError(
                f"layer '{layer.name}' has {len(targets)} weights but the file holds {len(values)}",
                "the architecture and the weights do not belong together",
            )
        sources: tuple[str, ...] = ()
        if len(names) != len(values):  # an era conversion merged or split arrays: name them by layer
            names, sources = [f"{layer.name}/#{i}" for i in range(len(values))], tuple(names)
        for var, value, name in zip(targets, values, names, strict=True):
            if tuple(var.shape) != tuple(value.shape):
                raise BadInputError(
                    f"layer '{layer.name}': weight {_var_name(var)} has shape {tuple(var.shape)}, "
                    f"the file's {name} {value.shape}",
                    "the architecture and the weights do not belong together",
                )
            var.assign(value)
            assignments.append(Assignment(layer.name, name, var, value, sources))
    if remaining:
        raise BadInputError(
            f"weights for layers {', '.join(sorted(remaining))} found no layer in the model (no silent partial load)",
            "pass the weights saved from this very architecture",
        )
    finalize_states(model)
    return assignments, conversions


@dataclass
class Assignment:
    """One stored array and the variable it was assigned to (``value``: after era conversions)."""

    layer: str
    stored_name: str  # "<layer>/<weight name>" as in the file
    variable: Any
    value: Any
    sources: tuple[str, ...] = ()  # when an era conversion merged arrays: every stored array of the layer


def _var_name(var: Any) -> str:
    return str(getattr(var, "path", None) or getattr(var, "name", "?"))
