"""ONNX via tf2onnx: dynamic batch, output names equal to the Keras output names, full-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact, ExportOptions, Finding
from modelport.errors import BadInputError
from modelport.spec import ModelSpec

# Highest ai.onnx opset each onnxruntime minor release implements (from its release notes);
# releases newer than the table implement at least the last entry.
_ORT_MAX_OPSET = {(1, 14): 18, (1, 15): 19, (1, 16): 19, (1, 17): 20, (1, 18): 21, (1, 19): 21,
                  (1, 20): 21, (1, 21): 22, (1, 22): 23}


def onnxruntime_max_opset() -> int:
    from importlib.metadata import version

    major, minor = (int(p) for p in version("onnxruntime").split(".")[:2])
    if (major, minor) in _ORT_MAX_OPSET:
        return _ORT_MAX_OPSET[(major, minor)]
    return max(_ORT_MAX_OPSET.values()) if (major, minor) > max(_ORT_MAX_OPSET) else 17


def tf2onnx_max_opset() -> int:
    from tf2onnx import constants

    return max(constants.OPSET_TO_IR_VERSION)


def default_opset() -> int:
    """The highest opset both tf2onnx and the installed onnxruntime support."""
    return min(tf2onnx_max_opset(), onnxruntime_max_opset())


class OnnxConverter:
    target = "onnx"
    suffix = ".onnx"
    description = "ONNX (ONNX Runtime in Java, C#, C++, JS, ...)"

    def check(self, spec: ModelSpec) -> list[Finding]:
        from modelport.convert.tf_graph import standard_checks

        return standard_checks(spec, self.target)

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        import onnx
        import tf2onnx
        import tf2onnx.utils

        from modelport.convert.tf_graph import library_versions, trace

        opset = options.opset or default_opset()
        if not 7 <= opset <= tf2onnx_max_opset():
            raise BadInputError(
                f"ONNX opset {opset} is not supported", f"choose an opset from 7 to {tf2onnx_max_opset()}"
            )
        traced = trace(model, spec)
        tf2onnx.utils.INTERNAL_NAME = 1  # tf2onnx numbers its names globally: reset for identical bytes
        proto, _ = tf2onnx.convert.from_function(
            traced.function, input_signature=traced.input_signature, opset=opset,
        )
        _rename_inputs(proto, {s.name: t.name for s, t in zip(traced.input_signature, spec.inputs)})
        onnx.checker.check_model(proto, full_check=True)
        dest.write_bytes(proto.SerializeToString(deterministic=True))
        return Artifact(
            path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
            details={"opset": opset, "ir_version": proto.ir_version},
            producer=library_versions("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx"),
        )


def _rename_inputs(proto: Any, names: dict[str, str]) -> None:
    """Give graph inputs the exact Keras input names (the TF signature had to sanitise them)."""
    renames = {old: new for old, new in names.items() if old != new}
    if not renames:
        return
    for value in proto.graph.input:
        value.name = renames.get(value.name, value.name)
    for node in proto.graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
