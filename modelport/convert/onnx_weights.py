"""Keep a model's weights out of tf2onnx's TensorFlow side, where its memory goes.

tf2onnx's TensorFlow half (grappler, then constant folding that evaluates ops one TF session at a
time) holds several numpy copies of every constant: about 70x the weight bytes for ResNet50. The
ONNX half (op handlers, rewriters, the optimizer that folds NHWC transposes and batch-norm
arithmetic into the weights) works on one copy. So the frozen graph goes in with each large
``Const`` replaced by a ``Placeholder`` of the same name, dtype and shape; when tf2onnx has parsed
it (``graphs_from_tf``), each such placeholder becomes a constant again holding the original bytes,
before any handler runs. Handlers and optimizer then see exactly what they would have seen, and
fold the same way, deterministically.

Small constants (shape vectors, axes, scalars) stay constants throughout: TensorFlow's shape
inference and tf2onnx's handlers read them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

# Floating-point constants at least this big are held back from TensorFlow (32 float32 values).
# Shape, axis and padding constants are integers and stay: TensorFlow's shape inference reads them.
LARGE_CONST_BYTES = 128
FLOAT_TYPES = {1, 2, 14, 19}  # DT_FLOAT, DT_DOUBLE, DT_BFLOAT16, DT_HALF


def const_bytes(node: Any) -> int:
    tensor = node.attr["value"].tensor
    if tensor.tensor_content:
        return len(tensor.tensor_content)
    elements = 1
    for dim in tensor.tensor_shape.dim:
        elements *= max(dim.size, 0)
    return elements * 4 if not tensor.string_val else sum(len(s) for s in tensor.string_val)


def is_weight(node: Any, threshold: int | None = None) -> bool:
    """A large floating-point Const stored as raw bytes (how TensorFlow stores non-splat tensors)."""
    threshold = LARGE_CONST_BYTES if threshold is None else threshold
    return (node.op == "Const" and node.attr["dtype"].type in FLOAT_TYPES
            and bool(node.attr["value"].tensor.tensor_content) and const_bytes(node) >= threshold)


def split_weights(graph_def: Any, threshold: int | None = None) -> tuple[Any, dict[str, Any]]:
    """(a copy of ``graph_def`` whose large Consts are Placeholders, {node name: the original Const}).

    The weights are not copied: the returned nodes are those of ``graph_def``, which must outlive
    the conversion. Function bodies are copied as they are (their constants are small loop state)."""
    from tensorflow.core.framework import graph_pb2

    stripped = graph_pb2.GraphDef()
    stripped.versions.CopyFrom(graph_def.versions)
    stripped.library.CopyFrom(graph_def.library)
    weights = {}
    for node in graph_def.node:
        if not is_weight(node, threshold):
            stripped.node.add().CopyFrom(node)
            continue
        weights[node.name] = node
        placeholder = stripped.node.add(name=node.name, op="Placeholder", device=node.device)
        placeholder.attr["dtype"].type = node.attr["dtype"].type
        placeholder.attr["shape"].shape.CopyFrom(node.attr["value"].tensor.tensor_shape)
    return stripped, weights


def onnx_tensor(name: str, node: Any) -> Any:
    """The Const's value as an ONNX TensorProto, raw bytes copied once (TF and ONNX both store
    little-endian row-major raw data)."""
    from onnx import TensorProto
    from tf2onnx.tf_utils import map_tf_dtype

    tf_tensor = node.attr["value"].tensor
    tensor = TensorProto(name=name, data_type=map_tf_dtype(node.attr["dtype"].type))
    tensor.dims.extend(d.size for d in tf_tensor.tensor_shape.dim)
    tensor.raw_data = tf_tensor.tensor_content
    return tensor


def restore_weights(graph: Any, weights: dict[str, Any]) -> int:
    """Turn each held-back placeholder of a parsed tf2onnx graph into the constant it was, the way
    tf2onnx's own parser makes constants (a ``Const`` whose ``value`` is named ``<node>:0``)."""
    from onnx import AttributeProto

    restored = 0
    for node in graph.get_nodes():
        if node.type != "Placeholder" or node.name not in weights:
            continue
        value = AttributeProto(name="value", type=AttributeProto.TENSOR)
        value.t.CopyFrom(onnx_tensor(node.output[0], weights[node.name]))
        for key in list(node.attr):
            del node.attr[key]
        node.type = "Const"
        node.attr["value"] = value
        restored += 1
    return restored


# TensorFlow ops that arithmetic on weights uses (batch-norm's scale and offset, casts), computed in
# numpy as TensorFlow's constant folding would have computed them: float32 in, float32 out.
_FOLD = {
    "Identity": lambda x: x,
    "Rsqrt": lambda x: np.reciprocal(np.sqrt(x)),
    "Sqrt": np.sqrt,
    "Reciprocal": np.reciprocal,
    "Inv": np.reciprocal,
    "Neg": np.negative,
    "Square": np.square,
    "Add": np.add,
    "AddV2": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "RealDiv": np.divide,
    "Maximum": np.maximum,
    "Minimum": np.minimum,
}


def fold_weight_arithmetic(graph: Any, weights: dict[str, Any]) -> int:
    """Compute every op above whose inputs are all constants and that reads a held-back weight, the
    way tf2onnx's TensorFlow-side folding (``fold_constants_using_tf``) would have: the op becomes a
    constant node and its consumers read that. Returns how many ops were folded."""
    from tf2onnx import utils

    outputs = set(graph.outputs)
    derived = {f"{name}:0" for name in weights}  # tensors computed from a held-back weight
    folded, progress = 0, True
    while progress:  # the node list is not always in topological order: repeat until nothing folds
        progress = False
        for op in list(graph.get_nodes()):
            func = _FOLD.get(op.type)
            if func is None or len(op.output) != 1 or op.output[0] in outputs or not op.input:
                continue
            producers = [graph.get_node_by_output(i) for i in op.input]
            if not all(p is not None and p.is_const() for p in producers) or not derived & set(op.input):
                continue
            value = np.asarray(func(*[p.get_tensor_value(as_list=False) for p in producers]))
            dtype = graph.get_dtype(op.output[0])
            if dtype is not None:
                value = value.astype(utils.map_onnx_to_numpy_type(dtype), copy=False)
            old = op.output[0]
            const = graph.make_const(utils.make_name(op.name), value)
            for consumer in graph.find_output_consumers(old):
                graph.replace_input(consumer, old, const.output[0])
            graph.remove_node(op.name)
            derived.add(const.output[0])
            folded += 1
            progress = True
    return folded


@contextlib.contextmanager
def weights_restored_after_parsing(weights: dict[str, Any]) -> Iterator[dict[str, int]]:
    """While active, tf2onnx's ``graphs_from_tf`` (its TensorFlow half) hands back a graph whose
    held-back placeholders are constants again. Yields a counter of the constants restored."""
    from tf2onnx import tfonnx

    original = tfonnx.graphs_from_tf
    counts = {"restored": 0, "folded": 0}

    def graphs_from_tf(*args: Any, **kwargs: Any) -> Any:
        main, subgraphs = original(*args, **kwargs)
        counts["restored"] += restore_weights(main, weights)
        counts["folded"] += fold_weight_arithmetic(main, weights)
        return main, subgraphs

    tfonnx.graphs_from_tf = graphs_from_tf
    try:
        yield counts
    finally:
        tfonnx.graphs_from_tf = original


def convert_frozen(graph_def: Any, inputs: list[str], outputs: list[str], opset: int) -> Any:
    """tf2onnx's ``from_graph_def`` on ``graph_def`` with its weights kept out of the TensorFlow half."""
    import tf2onnx

    from modelport._memory import release

    stripped, weights = split_weights(graph_def)
    try:
        with weights_restored_after_parsing(weights) as counts, _optimizer_without_copies():
            proto, _ = tf2onnx.convert.from_graph_def(stripped, input_names=inputs, output_names=outputs,
                                                      opset=opset)
    except _OptimizerFailed:
        # an optimizer pass failed: convert again the way tf2onnx does by default, where a failing
        # pass is skipped on a copy of the graph (one copy of the weights per pass)
        release()
        with weights_restored_after_parsing(weights) as counts:
            proto, _ = tf2onnx.convert.from_graph_def(stripped, input_names=inputs, output_names=outputs,
                                                      opset=opset)
    release()  # tf2onnx's graphs are cyclic garbage holding the weights
    if counts["restored"] != len(weights):  # a weight tf2onnx's parser did not see: the graph would lack it
        raise RuntimeError(f"tf2onnx parsed {counts['restored']} of {len(weights)} held-back weights")
    return proto


class _OptimizerFailed(Exception):
    pass


@contextlib.contextmanager
def _optimizer_without_copies() -> Iterator[None]:
    """tf2onnx's optimizer deep-copies the whole graph, weights included, before each of its passes
    in each iteration (so it can drop a pass that fails): ~40x the weight bytes and most of the
    time for ResNet50. Here the passes run on the graph itself; if one fails, the caller converts
    again with tf2onnx's copying behaviour, so the result is what tf2onnx alone would give."""
    from tf2onnx import convert, optimizer

    original = convert.optimizer.optimize_graph

    def optimize_graph(graph: Any, catch_errors: bool = True, optimizers: Any = None) -> Any:
        try:
            return original(graph, False, optimizers=optimizers)
        except Exception as e:
            raise _OptimizerFailed(str(e)) from e

    optimizer.optimize_graph = optimize_graph
    try:
        with _constants_not_reserialised():
            yield
    finally:
        optimizer.optimize_graph = original


@contextlib.contextmanager
def _constants_not_reserialised() -> Iterator[None]:
    """Each optimizer pass ends with ``update_proto``, which copies every node's attributes into its
    NodeProto again, weights included; protobuf keeps the replaced copies until the node dies, so
    each pass added the weight bytes once more. A constant's NodeProto is never written (``make_graph``
    takes initializers from the node's attributes), so constants are skipped."""
    from tf2onnx.graph import Node

    original = Node.update_proto

    def update_proto(self: Any, external_tensor_storage: Any = None) -> None:
        if not self.is_const():
            original(self, external_tensor_storage)

    Node.update_proto = update_proto
    try:
        yield
    finally:
        Node.update_proto = original
