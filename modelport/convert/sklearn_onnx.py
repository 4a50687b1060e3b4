"""ONNX from a scikit-learn source through skl2onnx: float32 inputs, probabilities as a tensor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import NATIVE, UNSUPPORTED, Artifact, ExportOptions, Finding
from modelport.spec import ModelSpec, TensorSpec


def _float32(tensors: list[TensorSpec]) -> list[TensorSpec]:
    """The graph computes in float32 (skl2onnx's tree and linear kernels): callers feed float32."""
    return [TensorSpec(t.name, t.shape, "float32" if t.dtype == "float64" else t.dtype) for t in tensors]


class SklearnOnnxConverter:
    target = "onnx"
    suffix = ".onnx"
    description = "ONNX from a scikit-learn pipeline (skl2onnx, float32)"
    sources = ("sklearn",)

    def check(self, spec: ModelSpec) -> list[Finding]:
        from modelport.sklearn.verdicts import verdict

        findings = []
        for step in spec.layers:
            ok, reason = verdict("skl2onnx", step.config.get("module", ""), step.class_name)
            findings.append(Finding(self.target, step.name, step.class_name, NATIVE if ok else UNSUPPORTED,
                                    rule="via skl2onnx" if ok else None, reason=reason,
                                    hint=None if ok else "convert to pmml instead"))
        return findings

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        from importlib.metadata import version

        from modelport.sklearn.export import to_onnx

        details = to_onnx(model, dest, options.opset)
        return Artifact(path=dest, format=self.target, inputs=_float32(spec.inputs), outputs=_float32(spec.outputs),
                        details=details,
                        producer={lib: version(lib) for lib in ("scikit-learn", "skl2onnx", "onnx")})
