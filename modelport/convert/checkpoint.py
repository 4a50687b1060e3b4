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
    sources = ("keras",)  # the kinds of source it converts (modelport.convert.get picks by kind)
    suffix = ""  # a directory
    description = "TF1 checkpoint + meta graph (tf.compat.v1 Saver, TF Java)"
    unsupported_layers = table_reasons("the checkpoint's graph captures uninitialised (a Saver restores variables, not tables)")

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        import tensorflow as tf
        from tensorflow.python.framework import tensor_util

        from modelport.convert.tf_graph import frozen_graph, library_versions, trace

        traced = trace(model, spec)
        frozen = frozen_graph(traced, model)  # shared, read only: its weights are read, not copied
        const_to_weight = traced.frozen[True][1]
        weights = {node.name: node for node in frozen.node if node.name in const_to_weight}
        dest.mkdir(parents=True, exist_ok=True)
        graph = tf.Graph()
        with graph.as_default():
            input_map = {}
            variables = {}  # const node name -> variable, set from the frozen value at save time
            for name, node in weights.items():
                shape = tf.TensorShape(node.attr["value"].tensor.tensor_shape)
                variables[name], input_map[f"{name}:0"] = _ref_variable(
                    tf, f"weights/{const_to_weight[name]}", shape, tf.as_dtype(node.attr["dtype"].type))
            tf.compat.v1.import_graph_def(_with_placeholders(frozen, weights), input_map=input_map, name="")
            inputs = [f"{s.name}:0" for s in traced.input_signature]
            outputs = [f"{op}:0" for op in traced.output_ops]
            _check_names(graph, inputs + outputs)
            saver = tf.compat.v1.train.Saver(sharded=False)
            saver_def = saver.as_saver_def()  # the ops a non-Python caller runs to restore
            with tf.compat.v1.Session(graph=graph) as session:
                # feeding each initializer's value input sets the weights without storing them as
                # constants in the meta graph (which would double the checkpoint's size); a few at
                # a time, so the numpy values never hold every weight at once
                for group in _groups(list(weights), weights):
                    session.run([variables[n].initializer for n in group],
                                {variables[n].initializer.inputs[1]: tensor_util.MakeNdarray(weights[n].attr["value"].tensor)
                                 for n in group})
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


_GROUP_BYTES = 64 << 20  # weights set per session run


def _ref_variable(tf: Any, name: str, shape: Any, dtype: Any) -> tuple[Any, Any]:
    """``(variable, its read tensor)``: a classic (ref) variable, the TF1 idiom checkpoint readers
    expect, with the ops and collections ``get_variable(initializer=zeros)`` gives it, built from
    those ops directly: get_variable's scope machinery took 2.5x as long (262 variables for MobileNetV2)."""
    from tensorflow.core.framework import variable_pb2
    from tensorflow.python.ops.ref_variable import RefVariable

    ref = tf.raw_ops.VariableV2(shape=shape, dtype=dtype, name=name)
    zeros = tf.zeros(shape, dtype, name=f"{name}/Initializer/zeros")
    assign = tf.raw_ops.Assign(ref=ref, value=zeros, name=f"{name}/Assign")
    read = tf.identity(ref, name=f"{name}/read")
    variable = RefVariable(variable_def=variable_pb2.VariableDef(
        variable_name=ref.name, initializer_name=assign.op.name, snapshot_name=read.name,
        initial_value_name=zeros.name, trainable=True))
    keys = tf.compat.v1.GraphKeys
    tf.compat.v1.add_to_collections([keys.GLOBAL_VARIABLES, keys.TRAINABLE_VARIABLES], variable)
    return variable, read


def _groups(names: list[str], nodes: dict[str, Any]) -> list[list[str]]:
    groups, size = [[]], 0
    for name in names:
        nbytes = len(nodes[name].attr["value"].tensor.tensor_content)
        if groups[-1] and size + nbytes > _GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += nbytes
    return groups


def _with_placeholders(frozen: Any, weights: dict[str, Any]) -> Any:
    """A copy of the frozen graph whose weight constants are typed placeholders (mapped to the
    variables on import); the weights themselves are not copied."""
    from tensorflow.core.framework import graph_pb2

    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(frozen.versions)
    out.library.CopyFrom(frozen.library)
    for node in frozen.node:
        if node.name not in weights:
            out.node.add().CopyFrom(node)
            continue
        placeholder = out.node.add(name=node.name, op="Placeholder", device=node.device)
        placeholder.attr["dtype"].type = node.attr["dtype"].type
        placeholder.attr["shape"].shape.CopyFrom(node.attr["value"].tensor.tensor_shape)
    return out


def _check_names(graph: Any, names: list[str]) -> None:
    """The import must not have renamed a signature tensor (it would if a weight scope clashed)."""
    missing = [n for n in names if n.split(":")[0] not in {op.name for op in graph.get_operations()}]
    if missing:
        raise RuntimeError(f"checkpoint graph lost signature tensors {missing}")
