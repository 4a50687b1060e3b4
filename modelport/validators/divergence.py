"""Name the first Keras layer whose output an artifact does not reproduce.

Run only when an artifact fails. Two methods:

* ``tap`` (ONNX, pb): the artifact itself is opened with extra outputs at each Keras layer's last
  tensor (converters keep Keras layer names as name scopes, ``model/dense_1/Relu``) and compared with
  the Keras layer outputs, in layer order, in one run. This sees damage inside the artifact file.
* ``reconvert`` (SavedModel, checkpoint, and ONNX/pb layers that could not be tapped): the Keras
  model truncated after each layer is converted with the same converter and compared, layer by layer.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.validators.compare import compare


def _layers(model: Any) -> list[Any]:
    """Layers in computation order, skipping inputs and layers with several outputs."""
    out = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError, RuntimeError):
            continue
        if isinstance(output, (list, tuple)):
            continue
        out.append(layer)
    return out


def keras_layer_outputs(model: Any, layers: list[Any], inputs: dict[str, np.ndarray], input_names: list[str]) -> list[np.ndarray]:
    import keras

    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    xs = [inputs[n] for n in input_names]
    values = probe(xs, training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    return [np.asarray(v) for v in values]


def _scope(layer: str) -> re.Pattern:
    # tf2onnx / TF keep the Keras layer name as a scope, uniquified with _<n> by Keras 3
    return re.compile(rf"(^|/){re.escape(layer)}(_\d+)?/")


def _sinks(nodes: list[tuple[str, list[str], list[str]]], layer: str) -> list[str]:
    """Output tensors of ``layer``'s nodes that no other node of the same layer consumes."""
    pattern = _scope(layer)
    mine = [(name, ins, outs) for name, ins, outs in nodes if pattern.search(name + "/")]
    consumed = {i.split("^")[-1] for _, ins, _ in mine for i in ins}
    sinks = [t for _, _, outs in mine for t in outs if t not in consumed]
    return sinks


def _match(keras_value: np.ndarray, candidates: dict[str, np.ndarray]) -> np.ndarray | None:
    for value in candidates.values():
        if value.shape == keras_value.shape:
            return value
        if value.ndim == 4 and value.transpose(0, 2, 3, 1).shape == keras_value.shape:
            return value.transpose(0, 2, 3, 1)  # NCHW left in place by the converter
    return None


def _tap_onnx(artifact: Any, sinks_for: dict[str, list[str]], inputs: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(artifact.path))
    nodes = [(n.name, list(n.input), list(n.output)) for n in proto.graph.node]
    existing = {o.name for o in proto.graph.output}
    wanted: dict[str, list[str]] = {}
    for layer in sinks_for:
        wanted[layer] = _sinks(nodes, layer)
        if layer in {t.name for t in artifact.outputs}:
            wanted[layer].append(layer)
    for tensor in {t for ts in wanted.values() for t in ts} - existing:
        proto.graph.output.append(onnx.ValueInfoProto(name=tensor))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = dict(zip(names, session.run(names, inputs)))
    return {layer: {t: np.asarray(values[t]) for t in ts if t in values} for layer, ts in wanted.items()}


def _tap_pb(artifact: Any, sinks_for: dict[str, list[str]], inputs: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    from modelport.tfimport import import_tensorflow

    tf = import_tensorflow()

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(artifact.path).read_bytes())
    nodes = []
    for n in graph_def.node:
        outs = [f"{n.name}:0"]
        nodes.append((n.name, [i if ":" in i else f"{i}:0" for i in n.input], outs))
    wanted = {layer: _sinks(nodes, layer) for layer in sinks_for}
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    feeds = dict(zip([t.name for t in artifact.inputs], artifact.details["input_tensors"]))
    fetch = sorted({t for ts in wanted.values() for t in ts})
    fetchable = []
    for t in fetch:
        try:
            if graph.get_tensor_by_name(t).dtype.is_floating:
                fetchable.append(t)
        except (KeyError, ValueError):
            pass
    with tf.compat.v1.Session(graph=graph) as session:
        values = dict(zip(fetchable, session.run(fetchable, {feeds[k]: v for k, v in inputs.items()})))
    return {layer: {t: np.asarray(values[t]) for t in ts if t in values} for layer, ts in wanted.items()}


def _reconvert(model: Any, spec: Any, artifact: Any, runtime: str, layer: Any,
               inputs: dict[str, np.ndarray]) -> np.ndarray:
    import keras

    from modelport import convert
    from modelport.convert.base import ExportOptions
    from modelport.loading import describe_model
    from modelport.validators import runtimes as rt

    sub = keras.Model(model.inputs, layer.output, name=f"upto_{layer.name}")
    sub_spec = describe_model(sub, type(spec)(spec.source, spec.container, "Functional", spec.layers, [], []))
    converter = convert.get(artifact.format)
    with tempfile.TemporaryDirectory(prefix="modelport-div-") as tmp:
        dest = Path(tmp) / f"upto{converter.suffix}"
        sub_artifact = converter.export(sub, sub_spec, dest, ExportOptions(opset=artifact.details.get("opset")))
        session = rt.load(runtime, sub_artifact)
        try:
            outs = session.run(inputs)
        finally:
            close = getattr(session, "close", None)  # a TensorFlow child process ends here
            if callable(close):
                close()
        return np.asarray(outs[sub_spec.outputs[0].name])


def locate(model: Any, spec: Any, artifact: Any, runtime: str, inputs: dict[str, np.ndarray],
           tolerance: Any) -> dict[str, Any]:
    """``{"layer", "class_name", "method", "max_abs", "checked"}``; ``layer`` None when every
    checked layer agrees (the divergence is then in how outputs are assembled) or none could be checked."""
    layers = _layers(model)
    input_names = [t.name for t in spec.inputs]
    expected = keras_layer_outputs(model, layers, inputs, input_names)
    bound = tolerance.bound("", artifact.format)
    taps: dict[str, dict[str, np.ndarray]] = {}
    method = "reconvert"
    if artifact.format in ("onnx", "pb"):
        tapper = _tap_onnx if artifact.format == "onnx" else _tap_pb
        taps = tapper(artifact, {layer.name: [] for layer in layers}, inputs)
        method = "tap"
    checked = []
    for layer, keras_value in zip(layers, expected):
        actual = _match(keras_value, taps.get(layer.name, {})) if taps else None
        how = "tap"
        if actual is None:
            if method == "tap":
                continue  # an untappable layer (fused away): judge it by the layers around it
            actual = _reconvert(model, spec, artifact, runtime, layer, inputs)
            how = "reconvert"
        result = compare(layer.name, actual, keras_value, bound)
        checked.append(layer.name)
        if not result.passed:
            return {"layer": layer.name, "class_name": layer.__class__.__name__, "method": how,
                    "max_abs": result.max_abs, "mismatches": result.mismatches, "elements": result.elements,
                    "checked": checked}
    return {"layer": None, "class_name": None, "method": method, "checked": checked,
            "note": "every checked layer agrees with Keras" if checked else "no layer output could be matched"}
