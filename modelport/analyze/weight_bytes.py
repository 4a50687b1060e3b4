"""A model's weight bytes from its config alone (no TensorFlow, no weight data read).

Shapes are propagated through the layer graph from the inputs (a layer's config gives its output
shape from its input's), and each layer's parameter count follows from its config and input shape,
as Keras computes them when it builds the layer. Used to refuse, up front, a target that cannot hold
the weights (a frozen ``.pb`` is one protobuf: 2 GiB at most). ``None`` when a layer is unknown here.
"""

from __future__ import annotations

import math
from typing import Any

from modelport.spec import ModelSpec

Shape = tuple  # without the batch dimension; None for an unknown dimension

_SAME_SHAPE = {
    "Activation", "ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "Softmax", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
    "Masking", "Identity", "Rescaling", "Normalization",
}
_MERGE = {"Add", "Multiply", "Subtract", "Average", "Maximum", "Minimum"}


def weight_bytes(spec: ModelSpec, itemsize: int = 4) -> int | None:
    shapes: dict[str, Shape] = {t.name: tuple(t.shape[1:]) for t in spec.inputs}
    total = 0
    for layer in spec.layers:
        ins = [shapes.get(name) for name in layer.inbound]
        if any(s is None for s in ins):
            return None
        try:
            result = _layer(layer.class_name, layer.config, ins)
        except (KeyError, TypeError, ValueError, IndexError, ArithmeticError):  # a config no Keras writes
            return None
        if result is None:
            return None
        params, shape = result
        total += params
        shapes[layer.name] = shape
    return total * itemsize


def _pair(value: Any, rank: int) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * rank


def _spatial(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    if n is None:
        return None
    if padding == "same":
        return math.ceil(n / s)
    return (n - d * (k - 1) - 1) // s + 1


def _conv_out(shape: Shape, cfg: dict, rank: int, channels: int, pool: bool = False) -> Shape:
    key = "pool_size" if pool else "kernel_size"
    k = _pair(cfg[key], rank)
    s = _pair(cfg.get("strides") or k, rank) if pool else _pair(cfg.get("strides", 1), rank)
    d = (1,) * rank if pool else _pair(cfg.get("dilation_rate", 1), rank)
    dims = tuple(_spatial(n, *args, cfg.get("padding", "valid")) for n, *args in zip(shape[:rank], k, s, d))
    return (*dims, channels)


def _axis(axis: int) -> int:
    """A Keras axis counts the batch dimension; shapes here do not."""
    return axis - 1 if axis > 0 else axis


def _layer(kind: str, cfg: dict, ins: list[Shape]) -> tuple[int, Shape] | None:
    x = ins[0] if ins else ()
    bias = 1 if cfg.get("use_bias", True) else 0
    if kind == "InputLayer":
        return 0, tuple((cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:])
    if kind in _SAME_SHAPE:
        return 0, x
    if kind in _MERGE:
        return 0, x
    if kind == "Dense":
        units = cfg["units"]
        return x[-1] * units + bias * units, (*x[:-1], units)
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        rank = int(kind[4])
        k, filters = _pair(cfg["kernel_size"], rank), cfg["filters"]
        params = math.prod(k) * x[-1] // cfg.get("groups", 1) * filters + bias * filters
        return params, _conv_out(x, cfg, rank, filters)
    if kind in ("DepthwiseConv2D", "DepthwiseConv1D"):
        rank = 2 if kind.endswith("2D") else 1
        out = x[-1] * cfg.get("depth_multiplier", 1)
        return math.prod(_pair(cfg["kernel_size"], rank)) * out + bias * out, _conv_out(x, cfg, rank, out)
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        rank = 2 if kind.endswith("2D") else 1
        mid, filters = x[-1] * cfg.get("depth_multiplier", 1), cfg["filters"]
        params = math.prod(_pair(cfg["kernel_size"], rank)) * mid + mid * filters + bias * filters
        return params, _conv_out(x, cfg, rank, filters)
    if kind in ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                "AveragePooling3D"):
        return 0, _conv_out(x, cfg, int(kind[-2]), x[-1], pool=True)
    if kind.startswith("Global") and "Pooling" in kind:
        return 0, ((1,) * (len(x) - 1) + (x[-1],)) if cfg.get("keepdims") else (x[-1],)
    if kind in ("BatchNormalization", "LayerNormalization"):
        axes = cfg.get("axis", -1)
        channels = math.prod(x[_axis(a)] for a in (axes if isinstance(axes, (list, tuple)) else [axes]))
        per = (1 if cfg.get("center", True) else 0) + (1 if cfg.get("scale", True) else 0)
        return channels * (per + (2 if kind == "BatchNormalization" else 0)), x
    if kind == "Embedding":
        return cfg["input_dim"] * cfg["output_dim"], (*x, cfg["output_dim"])
    if kind == "Flatten":
        return 0, (math.prod(x),) if all(d is not None for d in x) else (None,)
    if kind == "Reshape":
        target = list(cfg["target_shape"])
        if -1 in target and all(d is not None for d in x):
            target[target.index(-1)] = math.prod(x) // -math.prod(target)
        return 0, tuple(target)
    if kind == "Concatenate":
        axis = _axis(cfg.get("axis", -1)) % len(x)
        size = None if any(s[axis] is None for s in ins) else sum(s[axis] for s in ins)
        return 0, (*x[:axis], size, *x[axis + 1:])
    if kind in ("ZeroPadding2D", "Cropping2D"):
        key = "padding" if kind.startswith("Zero") else "cropping"
        pads = [_pair(p, 2) for p in _pair(cfg[key], 2)]
        sign = 1 if kind.startswith("Zero") else -1
        return 0, (*(None if n is None else n + sign * sum(p) for n, p in zip(x[:2], pads)), x[2])
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        units = cfg["units"]
        gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[kind]
        biases = gates * units * (2 if kind == "GRU" and cfg.get("reset_after", True) else 1) * bias
        params = gates * units * (x[-1] + units) + biases
        return params, ((x[0], units) if cfg.get("return_sequences") else (units,))
    if kind == "Bidirectional":
        inner = cfg["layer"]
        result = _layer(inner["class_name"], inner["config"], ins)
        if result is None:
            return None
        params, shape = result
        merged = (*shape[:-1], shape[-1] * 2) if cfg.get("merge_mode", "concat") == "concat" else shape
        return 2 * params, merged
    return None
