"""Which target can hold the preprocessing, step by step: a finding per branch of the transformer,
added to the Keras model's own analysis under the layer name ``(preprocessing) <branch>``."""

from __future__ import annotations

from typing import Any

from modelport.compose.columns import STRING, Preprocessing
from modelport.convert.base import NATIVE, UNSUPPORTED, Finding

TENSORFLOW_TARGETS = {"savedmodel", "pb", "ckpt"}
LAYER = "(preprocessing)"
OTHER = "use --to onnx,pmml, which hold the preprocessing in front of the network"


def findings(prep: Preprocessing, target: str) -> list[Finding]:
    """One finding per step of the preprocessing for ``target``."""
    if target in TENSORFLOW_TARGETS:  # one model-wide finding: no step of it fits
        return [Finding(target, LAYER, type(prep.transformer).__name__, UNSUPPORTED,
                        reason=f"{target} holds the Keras network only: a scikit-learn transformer cannot go into "
                               f"the TensorFlow graph, and serving it beside the graph is where train/serve skew "
                               f"hides", hint=OTHER)]
    if target == "onnx":
        missing = onnx_unsupported(prep)
        return [Finding(target, f"{LAYER} {s.name}", " → ".join(s.class_names()),
                        UNSUPPORTED if s.name in missing else NATIVE,
                        rule=None if s.name in missing else "skl2onnx",
                        reason=missing.get(s.name), hint="use pmml, or a transformer skl2onnx converts"
                        if s.name in missing else None)
                for s in prep.steps]
    if target == "pmml":
        from modelport.compose.pmml import unsupported_steps

        bad = {s.name: reason for s, reason in unsupported_steps(prep)}
        return [Finding(target, f"{LAYER} {s.name}", " → ".join(s.class_names()),
                        UNSUPPORTED if s.name in bad else NATIVE, rule=None if s.name in bad else "derived-fields",
                        reason=bad.get(s.name), hint="use onnx" if s.name in bad else None)
                for s in prep.steps]
    return [Finding(target, LAYER, type(prep.transformer).__name__, UNSUPPORTED,
                    reason=f"modelport does not compose preprocessing with {target}", hint=OTHER)]


def onnx_unsupported(prep: Preprocessing) -> dict[str, str]:
    """step name -> why skl2onnx cannot convert it (a transformer it has no converter for)."""
    from skl2onnx._supported_operators import sklearn_operator_name_map  # class -> its registered converter

    out = {}
    for step in prep.steps:
        absent = [type(t).__name__ for t in step.chain if type(t) not in sklearn_operator_name_map]
        if absent:
            out[step.name] = f"skl2onnx has no converter for {', '.join(absent)}"
        elif any(prep.column(c).kind == STRING for c in step.columns) and any(
                type(t).__name__ == "SimpleImputer" and not isinstance(t.missing_values, str) for t in step.chain):
            out[step.name] = "skl2onnx imputes a string column only when missing_values is a string"
    return out


def add_findings(analysis: Any, prep: Preprocessing, targets: list[str]) -> None:
    """Prepend the preprocessing's findings to each target's (the analysis of the Keras model)."""
    for t in targets:
        analysis.findings[t] = findings(prep, t) + list(analysis.findings.get(t, []))
