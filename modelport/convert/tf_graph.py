"""Trace a Keras model (Keras 3 or tf_keras) into a TensorFlow function with a stable signature.

Shared by the SavedModel, frozen-pb, checkpoint and ONNX converters: inputs are placeholders named
after the Keras inputs (sanitised to TF op names) with a dynamic batch dimension; outputs are
``tf.identity`` ops named after the Keras outputs, so a Java user can address them by name.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from modelport.spec import ModelSpec

_OP_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


def op_name(name: str) -> str:
    """A TensorFlow op name for a Keras tensor name (TF allows [A-Za-z0-9_.-], not leading '_' or '-')."""
    clean = _OP_NAME.sub("_", name) or "tensor"
    return clean if clean[0].isalnum() or clean[0] == "." else f"t{clean}"


@dataclass
class TracedModel:
    function: Any  # tf.function with an input_signature
    concrete: Any  # its ConcreteFunction
    input_signature: list[Any]  # tf.TensorSpec per Keras input, named op_name(input)
    output_ops: list[str]  # graph op name per Keras output (the tf.identity), in spec order
    frozen: dict = field(default_factory=dict)  # lower_control_flow -> (graph_def, const_to_weight)


# Converting to several targets traces (and freezes) the model once: about 1 s saved per target on
# MobileNetV2. Keyed weakly on the model, so the cache lives exactly as long as the loaded model.
_TRACES: weakref.WeakKeyDictionary[Any, tuple[ModelSpec, TracedModel]] = weakref.WeakKeyDictionary()
# functional control flow, and what lowering turns it into
_CONTROL_FLOW = {"While", "StatelessWhile", "If", "StatelessIf", "Case", "StatelessCase",
                 "Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond"}


def trace(model: Any, spec: ModelSpec) -> TracedModel:
    """One trace per loaded model and spec: every TF target (and ONNX) reuses it."""
    cached = _TRACES.get(model)
    if cached is not None and cached[0] is spec:
        return cached[1]
    traced = _trace(model, spec)
    _TRACES[model] = (spec, traced)
    return traced


def forget(model: Any) -> None:
    """Drop the model's trace and frozen graphs (a copy of every weight) once the targets are built."""
    _TRACES.pop(model, None)


def _trace(model: Any, spec: ModelSpec) -> TracedModel:
    from modelport.runtimes.keras_call import call
    from modelport.tfimport import import_tensorflow

    tf = import_tensorflow()

    signature = [
        tf.TensorSpec([None, *t.shape[1:]], tf.as_dtype(t.dtype), name=op_name(t.name)) for t in spec.inputs
    ]
    output_names = [t.name for t in spec.outputs]
    output_ops: list[str] = []

    @tf.function(input_signature=signature, autograph=False)
    def serve(*args):
        tensors = call(model, list(args))
        outputs = {}
        output_ops.clear()
        for name, tensor in zip(output_names, tensors):
            out = tf.identity(tensor, name=op_name(name))
            output_ops.append(out.name.split(":")[0])
            outputs[name] = out
        return outputs

    concrete = serve.get_concrete_function()
    return TracedModel(serve, concrete, signature, list(output_ops))


def tf_variable(weight: Any) -> Any:
    """The tf.Variable behind a Keras 3 variable (tf_keras weights already are tf.Variables)."""
    import tensorflow as tf

    return weight if isinstance(weight, tf.Variable) else weight.value


def lookup_tables(model: Any) -> list[Any]:
    """The hash tables of lookup layers (StringLookup, IntegerLookup, TextVectorization): resources
    the traced function captures, which a SavedModel must track to save and initialise them."""
    import tensorflow as tf

    kinds = (tf.lookup.StaticHashTable, tf.lookup.StaticVocabularyTable,
             tf.lookup.experimental.MutableHashTable, tf.lookup.experimental.DenseHashTable)
    tables: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:  # a lookup layer keeps its table in an attribute
        if id(obj) in seen or depth > 2:
            return
        seen.add(id(obj))
        if isinstance(obj, kinds):
            tables.append(obj)
            return
        for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, kinds) or type(item).__name__ in LOOKUP_LAYERS:
                    visit(item, depth + 1)

    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    for layer in layers:
        if type(layer).__name__ in LOOKUP_LAYERS:
            visit(layer, 0)
    return tables


LOOKUP_LAYERS = {"StringLookup", "IntegerLookup", "TextVectorization"}


def freeze(traced: TracedModel, model: Any, lower_control_flow: bool = True) -> tuple[Any, dict[str, str]]:
    """Frozen GraphDef (variables folded into constants) and {const node name: Keras weight path}.

    ``lower_control_flow`` turns functional While/If into TF1 control-flow ops (what older TF
    runtimes load); tf2onnx wants them functional. The caller gets its own copy to edit."""
    graph_def = frozen_graph(traced, model, lower_control_flow)
    copy = type(graph_def)()
    copy.CopyFrom(graph_def)  # callers may edit their graph (the checkpoint converter does)
    return copy, dict(traced.frozen[lower_control_flow][1])


def frozen_graph(traced: TracedModel, model: Any, lower_control_flow: bool = True) -> Any:
    """The cached frozen GraphDef itself, not a copy (a copy costs the weight bytes once more):
    callers must not edit it."""
    if lower_control_flow not in traced.frozen:
        other = traced.frozen.get(not lower_control_flow)
        if other is not None and not _has_control_flow(other[0]):  # lowering changes nothing
            traced.frozen[lower_control_flow] = other
        else:
            traced.frozen[lower_control_flow] = _freeze(traced, model, lower_control_flow)
    return traced.frozen[lower_control_flow][0]


def _has_control_flow(graph_def: Any) -> bool:
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    return any(n.op in _CONTROL_FLOW for n in nodes)


def _freeze(traced: TracedModel, model: Any, lower_control_flow: bool) -> tuple[Any, dict[str, str]]:
    by_handle = {id(tf_variable(w).handle): _weight_path(w) for w in model.weights}
    const_to_weight = {}
    for external, internal in traced.concrete.graph.captures:
        if id(external) in by_handle:
            const_to_weight[internal.name.split(":")[0]] = by_handle[id(external)]
    from tensorflow.python.framework import convert_to_constants as cc

    from modelport._memory import release

    # convert_variables_to_constants_v2's own steps, less its last one: that one wraps the frozen
    # GraphDef into a new function (importing every constant again) only for us to export it back
    data = cc._FunctionConverterDataInEager(func=traced.concrete, lower_control_flow=lower_control_flow,
                                            aggressive_inlining=False)
    frozen, _ = cc._replace_variables_by_constants(converter_data=data)
    del data
    drop_variable_writes(frozen)  # before anything imports the graph (see _VARIABLE_WRITES)
    release()  # freezing went through several copies of the weights
    graph_def = canonical_graph_def(frozen)
    del frozen
    release()
    return graph_def, const_to_weight


# Ops that write a resource variable: in a frozen graph every variable is a constant, so a write
# has nothing to write to (TF fails importing it: "AssignVariableOp was passed int64 from
# .../ReadVariableOp/resource"). Keras 3 RNNs with (recurrent_)dropout advance their dropout seed
# generator's integer state on every call, training or not; the mask is unused at inference.
_VARIABLE_WRITES = frozenset({"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})


def drop_variable_writes(graph_def: Any) -> list[str]:
    """Remove every variable-write op (and control edges to it) from the graph and its functions;
    returns their names. Nothing reads a write's output: it only orders side effects."""
    dropped = _drop_writes(graph_def.node)
    for function in graph_def.library.function:
        names = _drop_writes(function.node_def)
        for key in [k for k, v in function.control_ret.items() if v in names]:
            del function.control_ret[key]
            outputs = [o for o in function.signature.control_output if o != key]
            del function.signature.control_output[:]
            function.signature.control_output.extend(outputs)
        dropped += names
    return dropped


def _drop_writes(nodes: Any) -> list[str]:
    names = {n.name for n in nodes if n.op in _VARIABLE_WRITES}
    if not names:
        return []
    keep = [n for n in nodes if n.name not in names]
    for node in keep:
        inputs = [i for i in node.input if not (i.startswith("^") and i[1:] in names)]
        if len(inputs) != len(node.input):
            del node.input[:]
            node.input.extend(inputs)
    copies = [type(n)() for n in keep]
    for copy, node in zip(copies, keep):
        copy.CopyFrom(node)
    del nodes[:]
    nodes.extend(copies)
    return sorted(names)


# Tracing hints that vary with process history and mean nothing to a loaded graph.
_VOLATILE_ATTRS = ("_has_manual_control_dependencies",)


def canonical_graph_def(graph_def: Any) -> Any:
    """A copy with nodes (and function bodies) sorted by name, volatile tracing hints dropped, so the same model
    gives the same bytes: grappler's node order and those hints depend on what the process traced
    before. Node order carries no meaning in a GraphDef."""
    _drop_dangling_placeholders(graph_def)
    # a new GraphDef, nodes added in order: sorting in place would hold the graph three times over
    # (protobuf frees a message's parts only with the whole message)
    out = type(graph_def)()
    for descriptor, value in graph_def.ListFields():
        if descriptor.name != "node":
            getattr(out, descriptor.name).CopyFrom(value)
    for node in sorted(graph_def.node, key=lambda n: n.name):
        copy = out.node.add()
        copy.CopyFrom(node)
        _drop_volatile(copy)
    for function in out.library.function:
        _sort_nodes(function.node_def)
    return out


def _drop_dangling_placeholders(graph_def: Any) -> None:
    """Lowering loops leaves ``unused_control_flow_input_N`` placeholders that nothing reads, and
    how many depends on trace history; a caller would also mistake them for inputs."""
    consumed = {i.lstrip("^").split(":")[0] for n in graph_def.node for i in n.input}
    keep = [n for n in graph_def.node
            if not (n.op == "Placeholder" and n.name.startswith("unused_control_flow_input") and n.name not in consumed)]
    if len(keep) != len(graph_def.node):
        copies = [type(n)() for n in keep]
        for copy, node in zip(copies, keep):
            copy.CopyFrom(node)
        del graph_def.node[:]
        graph_def.node.extend(copies)


def _sort_nodes(nodes: Any) -> None:
    ordered = sorted(nodes, key=lambda n: n.name)
    copies = [type(n)() for n in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
        _drop_volatile(copy)
    del nodes[:]
    nodes.extend(copies)


def _drop_volatile(node: Any) -> None:
    for key in _VOLATILE_ATTRS:
        if key in node.attr:
            del node.attr[key]


def _weight_path(weight: Any) -> str:
    """'dense/kernel' for Keras 3 and tf_keras alike (tf_keras names end in ':0')."""
    path = (getattr(weight, "path", None) or weight.name).split(":")[0]
    return re.sub(r"[^A-Za-z0-9_./\-]", "_", path)


def library_versions(*names: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# Lookup layers keep their vocabulary in a hash table, a resource a frozen graph of constants
# cannot hold (its initialiser never runs there) and tf2onnx cannot translate.
TABLE_REASON = ("its vocabulary lives in a TensorFlow hash table, which {what}")
LOOKUP_TABLE_LAYERS = ("StringLookup", "IntegerLookup", "TextVectorization")


def table_reasons(what: str) -> dict[str, str]:
    return {cls: TABLE_REASON.format(what=what) for cls in LOOKUP_TABLE_LAYERS}


class TracedTarget:
    """Base of the targets built from the traced TensorFlow graph (savedmodel, pb, ckpt, onnx).

    Every Keras layer traces, so every layer is native for them, except the classes in
    ``unsupported_layers`` (class name -> why this target cannot hold them). Layers that need user
    code (Lambda, custom classes) only reach a converter once the user trusted them at load time.
    """

    target = ""
    unsupported_layers: dict[str, str] = {}
    unsupported_hint = "use savedmodel, which keeps lookup tables and string ops"
    one_protobuf = False  # the artifact is one protobuf message holding every weight (pb, onnx)

    def check(self, spec: ModelSpec) -> list:
        from modelport.convert.base import NATIVE, UNSUPPORTED, Finding

        findings = []
        for layer in spec.layers:
            reason = self.unsupported_layers.get(layer.class_name)
            findings.append(Finding(self.target, layer.name, layer.class_name, UNSUPPORTED,
                                    reason=f"{layer.class_name}: {reason}", hint=self.unsupported_hint)
                            if reason else Finding(self.target, layer.name, layer.class_name, NATIVE))
        return findings

    def check_loaded(self, model: Any, spec: ModelSpec) -> list:
        """A protobuf message cannot exceed 2 GiB: a model whose weights do not fit is refused here,
        before tracing, instead of failing in the serialiser."""
        import numpy as np

        from modelport.convert.base import UNSUPPORTED, Finding

        if not self.one_protobuf:
            return []
        sizes = {la.name: sum(int(np.prod(w.shape)) * np.dtype(_dtype_name(w)).itemsize for w in la.weights)
                 for la in getattr(model, "layers", [])}
        total = sum(sizes.values())
        if total < PROTOBUF_LIMIT:
            return []
        largest = max(sizes, key=sizes.get)
        class_name = type(next(la for la in model.layers if la.name == largest)).__name__
        return [Finding(self.target, largest, class_name, UNSUPPORTED,
                        reason=f"the weights take {total / 2**30:.2f} GiB; one {self.target} protobuf holds "
                               f"at most 2 GiB (found after loading the weights)",
                        hint="use savedmodel or ckpt, which store weights beside the graph")]


PROTOBUF_LIMIT = 2**31 - 2**24  # 2 GiB less room for the graph itself


def _dtype_name(weight: Any) -> str:
    dtype = getattr(weight, "dtype", "float32")
    return getattr(dtype, "name", None) or str(dtype)
