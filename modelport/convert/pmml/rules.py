"""PMML verdicts from the model config alone (pure, no TensorFlow): one Finding per layer."""

from __future__ import annotations

from typing import Any

from modelport.convert.base import NATIVE, REWRITE, UNSUPPORTED, Finding
from modelport.convert.pmml import unrolled_rules
from modelport.convert.pmml.activation_rules import (  # noqa: F401  (re-exported)
    NATIVE_ACTIVATIONS,
    REWRITE_ACTIVATIONS,
    activation_name,
    activation_verdict,
)
from modelport.spec import LayerSpec, ModelSpec

TARGET = "pmml"
OTHER_TARGETS = "use onnx or savedmodel"

NOOP_LAYERS = {
    "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "Identity",
}
NATIVE_LAYERS = {"InputLayer", "Flatten", "Reshape", "Concatenate", "Softmax"}
REWRITE_LAYERS = {
    "BatchNormalization": "batchnorm-fold",
    "Add": "linear-merge-fold",
    "Subtract": "linear-merge-fold",
    "Average": "linear-merge-fold",
    "Maximum": "maximum-relu",
    "Minimum": "minimum-relu",
    "Multiply": "multiply-product",
    "LeakyReLU": "leaky-relu-split",
    "PReLU": "leaky-relu-split",
    "ELU": "elu-split",
}
RECURRENT = {"RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "CuDNNLSTM", "CuDNNGRU", "LSTMCell", "GRUCell"}
# Preprocessing layers that read strings or look values up in a table; PMML could map them
# (MapValues / NormDiscrete) but the converter does not, so they are refused with the reason.
LOOKUP_REASONS = {
    "StringLookup": "string vocabulary lookups are not translated to PMML (string input fields)",
    "IntegerLookup": "integer vocabulary lookups (with their OOV bucket) are not translated to PMML",
    "CategoryEncoding": "category one-hot/count encoding is not translated to PMML",
    "Hashing": "PMML has no hash function (Hashing's farmhash/siphash buckets cannot be computed)",
    "TextVectorization": "PMML cannot split and standardise raw text into token ids",
}
# MapValues rows one Embedding may emit (vocabulary x dimensions x positions read): larger
# documents take minutes and gigabytes to write and evaluate (10000 words x 16 x 20 = 144 MB).
MAX_EMBEDDING_ROWS = 200_000
ATTENTION = {"Attention", "MultiHeadAttention", "AdditiveAttention", "GroupedQueryAttention"}
CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
NESTED_MODELS = {"Sequential", "Functional", "Model"}
# classes check_layer judges by name outside the tables above
NAMED_LAYERS = {"Dense", "Activation", "ReLU", "Normalization", "Rescaling", "Embedding"}


def known_classes() -> set[str]:
    """Every layer class the PMML analysis names (the analyser matrix builds a cell for each).
    Convolution and pooling classes are judged by name pattern, so they are not listed here."""
    return (NATIVE_LAYERS | NOOP_LAYERS | set(REWRITE_LAYERS) | RECURRENT | ATTENTION | CODE_LAYERS
            | NESTED_MODELS | NAMED_LAYERS | unrolled_rules.RNN | {"Bidirectional", "TimeDistributed", "RepeatVector"})


def _finding(layer: LayerSpec, verdict: str, rule=None, reason=None, hint=None) -> Finding:
    return Finding(TARGET, layer.name, layer.class_name, verdict, rule, reason, hint)


def _unsupported(layer: LayerSpec, reason: str, hint: str = OTHER_TARGETS) -> Finding:
    return _finding(layer, UNSUPPORTED, reason=f"{layer.class_name}: {reason}", hint=hint)


def _activation_finding(layer: LayerSpec, name: str | None) -> Finding:
    verdict, rule = activation_verdict(name)
    if verdict == UNSUPPORTED:
        return _unsupported(layer, f"activation '{name}' has no exact PMML NeuralNetwork form")
    return _finding(layer, verdict, rule)


def _embedding_rows(layer: LayerSpec, inputs: dict[str, Any]) -> int:
    positions = 1
    for name in layer.inbound:
        shape = getattr(inputs.get(name), "shape", ()) or ()
        for d in shape[1:]:
            positions *= int(d) if d else 1
    return int(layer.config.get("input_dim") or 0) * int(layer.config.get("output_dim") or 0) * positions


def check_layer(layer: LayerSpec, by_name: dict[str, LayerSpec], spec_inputs: dict[str, Any] | None = None) -> Finding:
    cls, cfg = layer.class_name, layer.config
    spec_inputs = spec_inputs or {}
    from_input = bool(layer.inbound) and all(
        by_name.get(n) is not None and by_name[n].class_name == "InputLayer" for n in layer.inbound
    )
    if cls in ("Dense", "Activation"):
        return _activation_finding(layer, activation_name(cfg.get("activation")))
    if cls in NATIVE_LAYERS:
        if cls == "Softmax" and cfg.get("axis", -1) not in (-1, None):
            return _unsupported(layer, "softmax over a non-last axis needs one layer per group")
        if cls == "Concatenate" and cfg.get("axis", -1) != -1:
            return _unsupported(layer, "concatenation on a non-last axis is not supported")
        return _finding(layer, NATIVE)
    if cls in NOOP_LAYERS:
        return _finding(layer, NATIVE, reason="identity at inference")
    if cls == "ReLU":
        if float(cfg.get("threshold") or 0.0) != 0.0:
            return _unsupported(layer, "ReLU(threshold != 0) is discontinuous; PMML has no exact form")
        plain = cfg.get("max_value") is None and not float(cfg.get("negative_slope") or 0.0)
        return _finding(layer, NATIVE) if plain else _finding(layer, REWRITE, "relu-clip-split")
    if cls in ("Normalization", "Rescaling"):
        if from_input:
            return _finding(layer, NATIVE, reason="input transformation (Apply in NeuralInput)")
        return _finding(layer, REWRITE, f"{cls.lower()}-fold")
    if cls == "Embedding":
        if cfg.get("mask_zero"):
            return _unsupported(layer, "masking (mask_zero=True) cannot be expressed in PMML")
        if not from_input:
            return _unsupported(layer, "an Embedding must read an integer model input directly")
        rows = _embedding_rows(layer, spec_inputs)
        if rows > MAX_EMBEDDING_ROWS:
            return _unsupported(layer, f"{rows:,} MapValues rows (vocabulary x dimensions x positions) exceed "
                                       f"the PMML size limit of {MAX_EMBEDDING_ROWS:,}")
        return _finding(layer, REWRITE, "embedding-mapvalues")
    if cls in LOOKUP_REASONS:
        return _unsupported(layer, LOOKUP_REASONS[cls])
    if cls in REWRITE_LAYERS:
        if cls == "GlobalAveragePooling1D" and cfg.get("data_format", "channels_last") != "channels_last":
            return _unsupported(layer, "only channels_last pooling is supported")
        return _finding(layer, REWRITE, REWRITE_LAYERS[cls])
    if cls in unrolled_rules.CLASSES:
        return unrolled_rules.check_layer(layer, outer_check=check_layer)
    if cls == "Masking":  # judged with its consumers in check()
        return _finding(layer, REWRITE, "masking-threshold-gate")
    if cls in RECURRENT:
        return _unsupported(layer, "PMML has no recurrence (a NeuralNetwork is a single forward pass)")
    if cls in ATTENTION:
        return _unsupported(layer, "attention multiplies data-dependent tensors and needs a softmax per query")
    if cls.startswith(("Conv", "DepthwiseConv", "SeparableConv")):
        return _unsupported(layer, "only 1D and 2D convolutions (plain, depthwise, separable) are unrolled")
    if "Pooling" in cls:
        return _unsupported(layer, "only 1D and 2D max/average pooling is unrolled")
    if cls in CODE_LAYERS:
        return _unsupported(layer, "arbitrary Python/TensorFlow code cannot be translated to PMML",
                            "replace it with built-in layers, or use onnx or savedmodel (with --trust-code)")
    if cls in NESTED_MODELS:
        return _unsupported(layer, "nested models are not supported by the PMML converter",
                            "flatten the nested model into the outer one, or use onnx or savedmodel")
    return _unsupported(layer, "no PMML mapping for this layer class")


def _id_inputs(spec: ModelSpec) -> set[str]:
    """Model inputs an Embedding reads: PMML declares their fields integer (ids)."""
    return {n for la in spec.layers if la.class_name == "Embedding" for n in la.inbound}


def check_inputs(spec: ModelSpec) -> dict[str, Finding]:
    """Input name -> its Finding when PMML cannot read it: a NeuralNetwork has one field per value,
    so every dimension but the batch must be fixed."""
    out = {}
    for t in spec.inputs:
        if any(d is None for d in t.shape[1:]):
            layer = next((la for la in spec.layers if la.name == t.name), LayerSpec(t.name, "InputLayer"))
            time_axis_only = len(t.shape) >= 3 and t.shape[1] is None and None not in t.shape[2:]
            out[t.name] = _unsupported(
                layer, f"pmml needs a fixed input shape; input '{t.name}' has shape {list(t.shape)}",
                ("pass --sequence-length N (the number of time steps), " if time_axis_only else "")
                + "rebuild the model with a fixed input shape, or use onnx or savedmodel")
    return out


def check(spec: ModelSpec) -> list[Finding]:
    by_name = {la.name: la for la in spec.layers}
    ids = _id_inputs(spec)
    inputs = {t.name: t for t in spec.inputs}
    unreadable = check_inputs(spec)
    findings = []
    for la in spec.layers:
        if la.name in unreadable:
            findings.append(unreadable.pop(la.name))
        elif la.class_name != "Embedding" and ids.intersection(la.inbound):
            findings.append(_unsupported(la, "reads an input that also feeds an Embedding; PMML declares "
                                             "that input integer ids", "give the layer its own input"))
        else:
            findings.append(check_layer(la, by_name, inputs))
    for k, la in enumerate(spec.layers):
        if la.class_name == "Masking":
            readers = [c for c in spec.layers if la.name in c.inbound]
            if not readers or any(c.class_name not in unrolled_rules.RNN | {"Bidirectional"} for c in readers):
                findings[k] = _unsupported(la, "a mask is expressed only when a recurrent layer reads it directly",
                                           "feed the Masking layer straight into the LSTM/GRU/SimpleRNN, or use onnx")
    return findings + list(unreadable.values())  # inputs of a Sequential without an InputLayer
