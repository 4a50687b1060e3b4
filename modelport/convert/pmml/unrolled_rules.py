"""Verdicts for the unrolled layers (convolution, pooling, recurrence), from the config alone.

Kept apart from :mod:`unrolled` (which needs the loaded weights) so ``analyze`` stays light.
Whether the unrolled network fits the size budget is decided by :mod:`budget`, not here.
"""

from __future__ import annotations

from typing import Any

from modelport.convert.base import REWRITE, UNSUPPORTED, Finding
from modelport.convert.pmml.activation_rules import activation_name, activation_verdict
from modelport.spec import LayerSpec

CONV = {"Conv1D", "Conv2D", "Convolution1D", "Convolution2D"}
DEPTHWISE = {"DepthwiseConv1D", "DepthwiseConv2D"}
SEPARABLE = {"SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D"}
MAX_POOL = {"MaxPooling1D", "MaxPooling2D", "MaxPool1D", "MaxPool2D"}
AVG_POOL = {"AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D"}
GLOBAL_POOL = {"GlobalAveragePooling1D": "avg", "GlobalAveragePooling2D": "avg", "GlobalMaxPooling1D": "max",
               "GlobalMaxPooling2D": "max", "GlobalAvgPool1D": "avg", "GlobalAvgPool2D": "avg",
               "GlobalMaxPool1D": "max", "GlobalMaxPool2D": "max"}
RNN = {"LSTM", "GRU", "SimpleRNN"}
CLASSES = CONV | DEPTHWISE | SEPARABLE | MAX_POOL | AVG_POOL | set(GLOBAL_POOL) | RNN | {
    "Bidirectional", "TimeDistributed", "RepeatVector", "Sequential"}
EMITTED = CLASSES | {"Masking"}  # what unrolled.emit handles (Masking is judged in rules.check)
HINT = "use onnx or savedmodel"


def _finding(layer: LayerSpec, verdict: str, rule: str | None = None, reason: str | None = None) -> Finding:
    hint = HINT if verdict == UNSUPPORTED else None
    reason = f"{layer.class_name}: {reason}" if reason else None
    return Finding("pmml", layer.name, layer.class_name, verdict, rule, reason, hint)


def _activation_problem(*names: Any) -> str | None:
    for value in names:
        name = activation_name(value)
        if activation_verdict(name)[0] == UNSUPPORTED or name in ("gelu", "softplus"):
            return f"activation '{name}' has no exact form inside an unrolled layer"
    return None


def _rnn_problem(cfg: dict[str, Any]) -> str | None:
    if cfg.get("stateful"):
        return "a stateful RNN carries state between calls; PMML scores each row alone"
    if cfg.get("return_state"):
        return "return_state gives several outputs from one layer; not supported"
    if cfg.get("time_major"):
        return "time_major inputs are not supported"
    return _activation_problem(cfg.get("activation", "tanh"), cfg.get("recurrent_activation", "sigmoid"))


def _inner_layer(cfg: dict[str, Any]) -> dict[str, Any]:
    """A wrapper's (Bidirectional, TimeDistributed) inner layer, read defensively: configs are untrusted."""
    inner = cfg.get("layer")
    inner = inner if isinstance(inner, dict) else {}
    config = inner.get("config")
    return {**inner, "config": config if isinstance(config, dict) else {}}


MAX_NESTING = 8  # nested Sequential models deeper than this are refused (a hostile config stays cheap)


def check_layer(layer: LayerSpec, depth: int = 0, *, outer_check: Any = None) -> Finding:
    """``outer_check(layer, by_name)`` judges the plain layers inside a nested Sequential (rules.check_layer)."""
    cls, cfg = layer.class_name, layer.config
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        return _finding(layer, UNSUPPORTED, reason="only channels_last layouts are unrolled")
    if cls in CONV | DEPTHWISE | SEPARABLE:
        if int(cfg.get("groups", 1) or 1) != 1:
            return _finding(layer, UNSUPPORTED, reason="grouped convolutions are not unrolled")
        problem = _activation_problem(cfg.get("activation"))
        if problem:
            return _finding(layer, UNSUPPORTED, reason=problem)
        rule = "conv-unroll" if cls in CONV else ("depthwise-conv-unroll" if cls in DEPTHWISE else "separable-conv-unroll")
        return _finding(layer, REWRITE, rule)
    if cls in MAX_POOL:
        return _finding(layer, REWRITE, "max-pool-relu-tree")
    if cls in AVG_POOL:
        return _finding(layer, REWRITE, "average-pool-unroll")
    if cls in GLOBAL_POOL:
        return _finding(layer, REWRITE, "global-max-relu-tree" if GLOBAL_POOL[cls] == "max" else "global-average-fold")
    if cls in RNN:
        problem = _rnn_problem(cfg)
        return _finding(layer, UNSUPPORTED, reason=problem) if problem else _finding(layer, REWRITE, f"{cls.lower()}-unroll")
    if cls == "Bidirectional":
        inner = _inner_layer(cfg)
        inner_cls, inner_cfg = inner.get("class_name"), inner["config"]
        if inner_cls not in RNN:
            return _finding(layer, UNSUPPORTED, reason=f"Bidirectional({inner_cls}) is not unrolled")
        if cfg.get("merge_mode", "concat") not in ("concat", "sum", "ave", "mul"):
            return _finding(layer, UNSUPPORTED, reason="merge_mode=None gives two outputs; not supported")
        problem = _rnn_problem(inner_cfg)
        return _finding(layer, UNSUPPORTED, reason=problem) if problem else _finding(layer, REWRITE, "bidirectional-unroll")
    if cls == "TimeDistributed":
        inner = _inner_layer(cfg)
        if inner.get("class_name") != "Dense":
            return _finding(layer, UNSUPPORTED, reason=f"TimeDistributed({inner.get('class_name')}) is not unrolled")
        problem = _activation_problem(inner["config"].get("activation"))
        return _finding(layer, UNSUPPORTED, reason=problem) if problem else _finding(layer, REWRITE, "time-distributed-unroll")
    if cls == "RepeatVector":
        return _finding(layer, REWRITE, "repeat-vector-copy")
    if cls == "Sequential":
        if depth >= MAX_NESTING:
            return _finding(layer, UNSUPPORTED, reason=f"models nested more than {MAX_NESTING} deep")
        raw_layers = cfg.get("layers", [])
        for raw in raw_layers if isinstance(raw_layers, list) else []:
            if not isinstance(raw, dict) or not isinstance(raw.get("config", {}), dict):
                return _finding(layer, UNSUPPORTED, reason="an inner layer's config is unreadable")
            inner = LayerSpec(str(raw.get("config", {}).get("name")), str(raw.get("class_name")), raw.get("config", {}))
            if inner.class_name == "InputLayer":
                continue
            f = (check_layer(inner, depth + 1, outer_check=outer_check) if inner.class_name == "Sequential"
                 else outer_check(inner, {}))
            if not f.ok:
                return _finding(layer, UNSUPPORTED, reason=f"inner layer '{inner.name}': {f.reason}")
        return _finding(layer, REWRITE, "nested-sequential-flatten")
    return _finding(layer, UNSUPPORTED, reason="no PMML mapping for this layer class")
