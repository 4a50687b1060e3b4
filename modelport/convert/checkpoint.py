"""TF checkpoint plus meta graph: restorable and runnable with import_meta_graph + restore alone.

Built from the frozen graph by turning each folded weight back into a variable, so the meta graph
needs no Python model code. Variables are named ``weights/<keras weight path>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact, ExportOptions
from modelport.convert.tf_graph import TracedTarget, table_reasons
from modelport.spec import ModelSpec

PREFIX = "model"  # files: model.meta, model.index, model.data-00000-of-00001


class CheckpointConverter(TracedTarget):
    target = "ckpt"
    suffix = ""  # a directory
    description = "TF1 checkpoint + meta graph (tf.compat.v1 Saver, TF Java)"
    unsupported_layers = table_reasons("the checkpoint's graph captures uninitialised (a Saver restores variables, not tables)")

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        import tensorflow as tf
        from tensorflow.python.framework import tensor_util

        from modelport.convert.tf_graph import freeze, library_versions, trace

        traced = trace(model, spec)
        graph_def, const_to_weight = freeze(traced, model)
        dest.mkdir(parents=True, exist_ok=True)
        graph = tf.Graph()
        with graph.as_default():
            input_map = {}
            values = {}  # variable -> its value, fed to the initializer so the meta graph holds no weights
            for node in graph_def.node:
                if node.name not in const_to_weight:
                    continue
                value = tensor_util.MakeNdarray(node.attr["value"].tensor)
                variable = tf.compat.v1.get_variable(
                    f"weights/{const_to_weight[node.name]}", shape=value.shape, dtype=value.dtype,
                    # classic (ref) variables: the TF1 idiom checkpoint readers expect, and a third
                    # faster to create than resource variables (262 of them for MobileNetV2)
                    initializer=tf.compat.v1.zeros_initializer(), use_resource=False
                )
                values[variable] = value
                # keep the node as a typed placeholder so the import can map it to the variable
                node.op = "Placeholder"
                del node.attr["value"]
                node.attr["shape"].shape.CopyFrom(tf.TensorShape(value.shape).as_proto())
                input_map[f"{node.name}:0"] = tf.identity(variable)
            tf.compat.v1.import_graph_def(graph_def, input_map=input_map, name="")
            inputs = [f"{s.name}:0" for s in traced.input_signature]
            outputs = [f"{op}:0" for op in traced.output_ops]
            _check_names(graph, inputs + outputs)
            saver = tf.compat.v1.train.Saver(sharded=False)
            saver_def = saver.as_saver_def()  # the ops a non-Python caller runs to restore
            with tf.compat.v1.Session(graph=graph) as session:
                # feeding each initializer's value input sets the weights without storing them as
                # constants in the meta graph (which would double the checkpoint's size)
                session.run([v.initializer for v in values], {v.initializer.inputs[1]: x for v, x in values.items()})
                saver.save(session, str(dest / PREFIX), write_state=False)
        return Artifact(
            path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
            details={
                "checkpoint_prefix": PREFIX,
                "meta_graph": f"{PREFIX}.meta",
                "restore_op": saver_def.restore_op_name,
                "filename_tensor": saver_def.filename_tensor_name,
                "input_tensors": inputs,
                "output_tensors": outputs,
            },
            producer=library_versions("tensorflow", "keras", "tf_keras"),
        )


def _check_names(graph: Any, names: list[str]) -> None:
    """The import must not have renamed a signature tensor (it would if a weight scope clashed)."""
    missing = [n for n in names if n.split(":")[0] not in {op.name for op in graph.get_operations()}]
    if missing:
        raise RuntimeError(f"checkpoint graph lost signature tensors {missing}")
