"""Keras activations and their PMML verdicts: native, or a named exact rewrite (else unsupported).

Shared by the layer rules and the unrolled-layer rules, which both judge activations.
"""

from __future__ import annotations

from typing import Any

from modelport.convert.base import NATIVE, REWRITE, UNSUPPORTED

NATIVE_ACTIVATIONS = {"linear", "relu", "sigmoid", "tanh", "softmax", "softsign", "exponential"}
REWRITE_ACTIVATIONS = {
    "leaky_relu": "leaky-relu-split",
    "relu6": "relu6-split",
    "hard_sigmoid": "hard-sigmoid-split",
    "hard_silu": "hard-silu-product",
    "hard_swish": "hard-silu-product",
    "elu": "elu-split",
    "selu": "selu-split",
    "silu": "silu-product",
    "swish": "silu-product",
    "gelu": "gelu-chain",  # exact gelu: MiningModel modelChain with stdNormalCDF
    "gelu_tanh": "gelu-tanh-product",
    "mish": "mish-product",
    "softplus": "softplus-chain",  # MiningModel modelChain with ln1p/exp
}


def activation_name(value: Any) -> str | None:
    """The activation's name from any era's config (string, or a serialized function dict)."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        return value.get("class_name")
    return None


def activation_verdict(name: str | None) -> tuple[str, str | None]:
    if name in NATIVE_ACTIVATIONS:
        return NATIVE, None
    if name in REWRITE_ACTIVATIONS:
        return REWRITE, REWRITE_ACTIVATIONS[name]
    return UNSUPPORTED, None
