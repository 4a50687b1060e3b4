"""Frozen GraphDef (.pb): variables folded into constants, loadable with import_graph_def alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact, ExportOptions
from modelport.convert.tf_graph import TracedTarget, table_reasons
from modelport.spec import ModelSpec

# A .pb is one protobuf message, which cannot pass 2 GiB; the graph's structure needs some room too.
PB_WEIGHT_LIMIT = 2**31 - (64 << 20)


class FrozenGraphConverter(TracedTarget):
    target = "pb"
    sources = ("keras",)  # the kinds of source it converts (modelport.convert.get picks by kind)
    suffix = ".pb"
    one_protobuf = True
    description = "frozen TensorFlow GraphDef (TF Java, TF C API, tf.compat.v1)"
    unsupported_layers = table_reasons("a frozen graph of constants cannot hold (nothing runs its initialiser)")

    def check(self, spec: ModelSpec) -> list:
        """Every layer traces; but weights beyond protobuf's limit cannot be one .pb file."""
        from modelport.analyze.weight_bytes import weight_bytes
        from modelport.convert.base import UNSUPPORTED, Finding

        findings = super().check(spec)
        size = weight_bytes(spec)
        if size is None or size < PB_WEIGHT_LIMIT:
            return findings
        return [Finding(self.target, "(all weights)", spec.model_class, UNSUPPORTED,
                        reason=f"the weights ({size / 1e9:.2f} GB) exceed the 2 GB a single protobuf (.pb) can hold",
                        hint="convert to savedmodel or ckpt (weights stored beside the graph), or onnx "
                             "(written with external data)"), *findings]

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        from modelport.convert.tf_graph import frozen_graph, library_versions, trace

        traced = trace(model, spec)
        graph_def = frozen_graph(traced, model)  # shared, read only
        dest.write_bytes(graph_def.SerializeToString(deterministic=True))
        return Artifact(
            path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
            details={
                "input_tensors": [f"{s.name}:0" for s in traced.input_signature],
                "output_tensors": [f"{op}:0" for op in traced.output_ops],
            },
            producer=library_versions("tensorflow", "keras", "tf_keras"),
        )
