"""ONNX via tf2onnx: dynamic batch, output names equal to the Keras output names, full-checked."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact, ExportOptions
from modelport.convert.tf_graph import TracedTarget, table_reasons
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


def check_opset(opset: int | None) -> int:
    """The opset to write (the default when None); an opset tf2onnx cannot write is bad input (exit 2).
    ``convert`` asks before loading, so a wrong --opset stops the run before any work."""
    opset = opset or default_opset()
    if not 7 <= opset <= tf2onnx_max_opset():
        raise BadInputError(f"ONNX opset {opset} is not supported", f"choose an opset from 7 to {tf2onnx_max_opset()}")
    return opset


class OnnxConverter(TracedTarget):
    target = "onnx"
    sources = ("keras",)  # the kinds of source it converts (modelport.convert.get picks by kind)
    suffix = ".onnx"
    one_protobuf = True
    description = "ONNX (ONNX Runtime in Java, C#, C++, JS, ...)"
    unsupported_layers = {**table_reasons("tf2onnx cannot translate (LookupTableFindV2 on a captured table)"),
                          "Hashing": "ONNX has no string hash op (StringToHashBucketFast)"}

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        import onnx

        from modelport.convert.onnx_io import write_model
        from modelport.convert.onnx_weights import convert_frozen
        from modelport.convert.tf_graph import frozen_graph, library_versions, trace

        opset = check_opset(options.opset)
        traced = trace(model, spec)
        # Convert the canonical frozen graph (the .pb's bytes), not the live function: tf2onnx's
        # own freezing orders nodes by trace history, which would make the bytes vary run to run.
        graph_def = frozen_graph(traced, model, lower_control_flow=False)  # shared, read only
        inputs = [f"{s.name}:0" for s in traced.input_signature]
        outputs = [f"{op}:0" for op in traced.output_ops]
        with _without_duplicate_merging(), _quiet_about_rewritten_ops():
            proto = convert_frozen(graph_def, inputs, outputs, opset)
        _rename_values(proto, {**dict(zip(inputs, (t.name for t in spec.inputs))),
                               **dict(zip(outputs, (t.name for t in spec.outputs)))})
        _order_outputs(proto, [t.name for t in spec.outputs])
        replace_unsupported_ops(proto.graph, opset)
        canonical_names(proto)
        proto.graph.doc_string = ""  # tf2onnx puts the traced function's per-process name here
        details = {"opset": opset, "ir_version": proto.ir_version}
        external = write_model(proto, dest)  # streamed: no second copy of the weights in memory
        if external:
            details["external_data"] = external
        del proto
        onnx.checker.check_model(str(dest), full_check=True)  # from the file: also > 2 GB
        return Artifact(
            path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
            details=details,
            producer=library_versions("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx"),
        )


@contextlib.contextmanager
def _without_duplicate_merging():
    """tf2onnx's merge-duplicates pass keeps whichever of two equal nodes it meets first, and that
    order varies between runs, so the surviving names (and the bytes) would too. Equal nodes are
    rare and tiny (shape constants), so the pass is switched off for the conversion."""
    from tf2onnx import optimizer

    removed = optimizer._optimizers.pop("merge_duplication", None)
    try:
        yield
    finally:
        if removed is not None:
            optimizer._optimizers["merge_duplication"] = removed


# TensorFlow ops without an ONNX op, which tf2onnx passes through unconverted: Keras 3's exact gelu
# is 0.5 x erfc(-x / sqrt 2), celu uses expm1. Each is written exactly with ONNX ops (to float rounding).
_UNARY_REWRITES = {
    "Erfc": ("Erf", "one_minus"),  # erfc(x) = 1 - erf(x)
    "Expm1": ("Exp", "minus_one"),  # expm1(x) = exp(x) - 1
}


class _RewrittenOpsFilter(logging.Filter):
    """tf2onnx logs an error for every op it passes through; for the ops rewritten below that is
    not true of the artifact, so those messages are dropped (any other unsupported op still shows)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "is not supported" in message:
            return not any(f": {op}]" in message for op in _UNARY_REWRITES)
        if message.startswith("Unsupported ops: Counter("):
            return not set(re.findall(r"'(\w+)'", message)) <= set(_UNARY_REWRITES)
        return True


@contextlib.contextmanager
def _quiet_about_rewritten_ops():
    logger, quiet = logging.getLogger("tf2onnx.tfonnx"), _RewrittenOpsFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def replace_unsupported_ops(graph: Any, opset: int) -> None:
    """Rewrite the ops of ``_UNARY_REWRITES`` in ``graph`` and its loop and branch bodies."""
    from onnx import TensorProto, helper

    nodes = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                replace_unsupported_ops(attr.g, opset)
            for sub in attr.graphs:
                replace_unsupported_ops(sub, opset)
        if node.op_type not in _UNARY_REWRITES or node.domain not in ("", "ai.onnx"):
            nodes.append(node)
            continue
        op, form = _UNARY_REWRITES[node.op_type]
        x, y, base = node.input[0], node.output[0], node.name or node.output[0]
        one = helper.make_node("Constant", [], [f"{base}/one"],
                               value=helper.make_tensor(f"{base}/one_value", TensorProto.FLOAT, [], [1.0]))
        nodes.append(one)
        one_name = one.output[0]
        if opset >= 15:  # CastLike keeps the graph right for float16/float64 models too
            nodes.append(helper.make_node("CastLike", [one_name, x], [f"{base}/one_like"], name=f"{base}/CastLike"))
            one_name = f"{base}/one_like"
        nodes.append(helper.make_node(op, [x], [f"{base}/{op}"], name=f"{base}/{op}"))
        pair = [one_name, f"{base}/{op}"] if form == "one_minus" else [f"{base}/{op}", one_name]
        nodes.append(helper.make_node("Sub", pair, [y], name=f"{base}/Sub"))
    if len(nodes) != len(graph.node):
        del graph.node[:]
        graph.node.extend(nodes)


def _rename_values(proto: Any, names: dict[str, str]) -> None:
    """Give graph inputs and outputs the exact Keras names (the graph has ``name:0`` tensors)."""
    for value in [*proto.graph.input, *proto.graph.output]:
        value.name = names.get(value.name, value.name)
    for node in proto.graph.node:
        node.input[:] = [names.get(i, i) for i in node.input]
        node.output[:] = [names.get(o, o) for o in node.output]


def _order_outputs(proto: Any, names: list[str]) -> None:
    """tf2onnx sorts a dict's outputs by key; restore the Keras order."""
    order = {name: i for i, name in enumerate(names)}
    proto.graph.output.sort(key=lambda v: order.get(v.name, len(order)))


_COUNTER = re.compile(r"__(\d+)")
_SUFFIX = re.compile(r"__(\d+)$")


def canonical_names(proto: Any) -> None:
    """Make tf2onnx's generated names independent of process history.

    tf2onnx draws name suffixes (``Shape__34``, ``unk__40``) from a process-wide counter, and when it
    merges equal constants the surviving name (``const_starts__2`` or ``const_axes__4``) depends on
    that history too. So: generated constants are all called ``const__N``, suffixes are renumbered
    in order of first use, and initializers are sorted — the same model gives the same bytes.
    """
    numbers: dict[str, str] = {}
    # the counter is the LAST __N: an einsum's constants are named like einsum<id>_ba__1__104
    generated = {i.name: "const__" + m.group(1)
                 for i in proto.graph.initializer if "/" not in i.name and (m := _SUFFIX.search(i.name))}

    def renumber(text: str) -> str:
        text = generated.get(text, text)
        return _COUNTER.sub(lambda m: "__" + numbers.setdefault(m.group(1), str(len(numbers) + 1)), text)

    def visit_values(values: Any) -> None:
        for value in values:
            value.name = renumber(value.name)
            for dim in value.type.tensor_type.shape.dim:
                if dim.dim_param:
                    dim.dim_param = renumber(dim.dim_param)

    def visit_graph(graph: Any) -> None:
        visit_values(graph.input)
        for node in graph.node:
            node.input[:] = [renumber(i) for i in node.input]
            node.name = renumber(node.name)
            node.output[:] = [renumber(o) for o in node.output]
            for attr in node.attribute:
                if attr.HasField("g"):
                    visit_graph(attr.g)
                for sub in attr.graphs:
                    visit_graph(sub)
        visit_values(graph.output)
        visit_values(graph.value_info)
        for init in graph.initializer:
            init.name = renumber(init.name)
        graph.initializer.sort(key=lambda t: t.name)  # in place: copying them held every weight twice

    visit_graph(proto.graph)
