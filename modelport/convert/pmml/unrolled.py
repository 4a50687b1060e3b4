"""Emitters for the layers PMML can only express unrolled: convolutions, pooling, recurrences,
TimeDistributed, RepeatVector, and nested Sequential models (flattened into the outer network).

``emit(walker, layer, x)`` returns the layer's output, or None when the class is not one of these.
Weights come from the loaded Keras layer (Keras 3 and tf_keras name them alike).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from modelport.convert.pmml import recurrent, spatial
from modelport.convert.pmml.graph import Affine, combine, concat_last
from modelport.convert.pmml.rules import activation_name
from modelport.convert.pmml.unrolled_rules import (
    AVG_POOL,
    CONV,
    DEPTHWISE,
    EMITTED,
    GLOBAL_POOL,
    MAX_POOL,
    RNN,
    SEPARABLE,
)
from modelport.spec import LayerSpec


def _bias(weights: list[np.ndarray], cfg: dict[str, Any], index: int) -> np.ndarray | None:
    return weights[index] if cfg.get("use_bias", True) and len(weights) > index else None


def _inner(cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    layer = cfg.get("layer", {})
    return str(layer.get("class_name")), dict(layer.get("config", {}))


def emit(walker: Any, la: LayerSpec, x: Affine) -> Affine | None:
    cls, cfg = la.class_name, la.config
    if cls not in EMITTED:
        return None
    net = walker.net
    klayer = walker.keras_layers.get(la.name)
    if cls == "Sequential":
        return flatten_sequential(walker, la, klayer, x)
    padding = str(cfg.get("padding", "valid")).lower()
    if cls in CONV:
        w = klayer.get_weights()
        z = spatial.conv(net, x, w[0], _bias(w, cfg, 1), cfg.get("strides", 1), cfg.get("dilation_rate", 1), padding)
        return walker.activate_layer(la, z)
    if cls in DEPTHWISE:
        w = klayer.get_weights()
        z = spatial.conv(net, x, w[0], _bias(w, cfg, 1), cfg.get("strides", 1), cfg.get("dilation_rate", 1),
                         padding, depthwise=True)
        return walker.activate_layer(la, z)
    if cls in SEPARABLE:
        w = klayer.get_weights()
        dw = spatial.conv(net, x, w[0], None, cfg.get("strides", 1), cfg.get("dilation_rate", 1), padding,
                          depthwise=True)
        pointwise = w[1].reshape(w[1].shape[-2], w[1].shape[-1])
        P = dw.units // dw.shape[-1]
        A = sp.kron(sp.identity(P), sp.csc_matrix(pointwise.astype(np.float64)), format="csc")
        b = _bias(w, cfg, 2)
        z = net.linear(dw, A, None if b is None else np.tile(np.asarray(b, np.float64), P),
                       (*dw.shape[:-1], pointwise.shape[1]))
        return walker.activate_layer(la, z)
    if cls in MAX_POOL:
        return spatial.max_pool(net, x, cfg.get("pool_size", 2), cfg.get("strides"), padding)
    if cls in AVG_POOL:
        return spatial.average_pool(net, x, cfg.get("pool_size", 2), cfg.get("strides"), padding)
    if cls in GLOBAL_POOL:
        return spatial.global_pool(net, x, GLOBAL_POOL[cls], bool(cfg.get("keepdims", False)))
    if cls == "Masking":
        walker.masks[la.name] = recurrent.mask_of(net, x, float(cfg.get("mask_value", 0.0)))
        return x  # its readers are recurrent layers (rules), which skip the masked steps
    mask = walker.masks.get(la.inbound[0]) if la.inbound else None
    if cls in RNN:
        return rnn(walker, cls, cfg, klayer.get_weights(), x, bool(cfg.get("go_backwards", False)), mask)
    if cls == "Bidirectional":
        return bidirectional(walker, cfg, klayer, x, mask)
    if cls == "TimeDistributed":
        _, inner_cfg = _inner(cfg)
        w = klayer.layer.get_weights()
        z = x.matmul_last(w[0], _bias(w, inner_cfg, 1))
        return walker.activate(z, activation_name(inner_cfg.get("activation")))
    if cls == "RepeatVector":
        n = int(cfg["n"])
        return x.take(np.tile(np.arange(x.units), n), (n, x.units))
    return None


def rnn(walker: Any, cls: str, cfg: dict[str, Any], weights: list[np.ndarray], x: Affine,
        go_backwards: bool, mask: list[Affine] | None = None) -> Affine:
    net = walker.net
    act = activation_name(cfg.get("activation", "tanh"))
    rec_act = activation_name(cfg.get("recurrent_activation", "sigmoid"))
    seq = bool(cfg.get("return_sequences", False))
    if cls == "LSTM":
        return recurrent.lstm(net, x, weights, act, rec_act, walker.activate, go_backwards, seq, mask)
    if cls == "GRU":
        reset_after = bool(cfg.get("reset_after", False))  # configs without the key predate it
        return recurrent.gru(net, x, weights, act, rec_act, walker.activate, reset_after, go_backwards, seq, mask)
    return recurrent.simple_rnn(net, x, weights, act, walker.activate, go_backwards, seq, mask)


def bidirectional(walker: Any, cfg: dict[str, Any], klayer: Any, x: Affine, mask: list[Affine] | None = None) -> Affine:
    cls, inner = _inner(cfg)
    back_cfg = dict(cfg.get("backward_layer", {}).get("config", inner)) if cfg.get("backward_layer") else inner
    fwd = rnn(walker, cls, inner, klayer.forward_layer.get_weights(), x, bool(inner.get("go_backwards", False)), mask)
    bwd = rnn(walker, cls, back_cfg, klayer.backward_layer.get_weights(), x,
              not bool(inner.get("go_backwards", False)) if not cfg.get("backward_layer")
              else bool(back_cfg.get("go_backwards", True)), mask)
    if inner.get("return_sequences"):
        bwd = recurrent.reverse_time(bwd)  # Keras aligns the backward sequence with the forward one
    mode = cfg.get("merge_mode", "concat")
    if mode == "concat":
        return concat_last([fwd, bwd])
    if mode == "sum":
        return combine([(1, fwd), (1, bwd)])
    if mode == "ave":
        return combine([(0.5, fwd), (0.5, bwd)])
    if mode == "mul":
        return recurrent.products(walker.net, [(fwd, bwd)])[0]
    raise ValueError(f"Bidirectional merge_mode={mode!r} has no single output")


def flatten_sequential(walker: Any, la: LayerSpec, klayer: Any, x: Any) -> Any:
    """A nested Sequential's layers emitted in place (Teachable Machine's model-in-a-model)."""
    inner_layers = la.config.get("layers", [])
    by_name = {k.name: k for k in klayer.layers}
    value = x
    for raw in inner_layers:
        cfg = raw.get("config", {})
        name = str(cfg.get("name") or raw.get("name"))
        cls = str(raw.get("class_name"))
        if cls == "InputLayer":
            continue
        walker.keras_layers[name] = by_name[name]
        value = walker.emit(LayerSpec(name, cls, cfg, ()), [value])
    return value
