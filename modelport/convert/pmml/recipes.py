"""Activation recipes: each Keras activation as exact PMML NeuralLayers (docs/pmml.md, mapping §2).

Every recipe takes the pre-activation ``z`` (an :class:`Affine`) and returns the activation's value
as an Affine, adding NeuralLayers to the :class:`Network` only where a non-linearity needs one. The
last "combine" step of a recipe stays lazy, so it folds into the next Dense. Activations that one
NeuralNetwork cannot express (softplus, exact gelu) go through the ``MiningModel`` modelChain
(:meth:`Chain.hatch`), never an approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from math import pi, sqrt

import numpy as np

from modelport.convert.pmml.graph import Affine, Network, combine, stack

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _relu_pieces(net: Network, z: Affine, pieces: list[tuple[float, float]]) -> list[Affine]:
    """One rectifier layer holding relu(a*z + b) for every (a, b); returns each piece."""
    z = net.ids_of(z) if len(pieces) > 1 else z
    stacked = _stack([z.scale_shift(a, b) for a, b in pieces])
    out = net.layer(stacked, "rectifier")
    return _unstack(out, len(pieces), z.shape)


def _stack(parts: list[Affine]) -> Affine:
    """Side by side, as one flat tensor (for a layer that computes several pieces at once)."""
    return stack(parts)


def _unstack(a: Affine, k: int, shape: tuple[int, ...]) -> list[Affine]:
    n = a.units // k
    return [a.take(np.arange(i * n, (i + 1) * n), shape) for i in range(k)]


def product(net: Network, a: Affine, b: Affine) -> Affine:
    """a * b = ((a+b)^2 - (a-b)^2) / 4 with one ``square`` layer (the product trick)."""
    sq = net.layer(_stack([combine([(1, a), (1, b)]), combine([(1, a), (-1, b)])]), "square")
    plus, minus = _unstack(sq, 2, a.shape)
    return combine([(0.25, plus), (-0.25, minus)])


def leaky(net: Network, z: Affine, alpha: np.ndarray | float) -> Affine:
    p, q = _relu_pieces(net, z, [(1.0, 0.0), (-1.0, 0.0)])
    return combine([(1, p), (1, q.scale_shift(-np.asarray(alpha, np.float64)))])


def relu_general(net: Network, z: Affine, max_value: float | None, negative_slope: float) -> Affine:
    """Keras ReLU with threshold 0: relu(z) - relu(z - m) - slope * relu(-z)."""
    pieces = [(1.0, 0.0)]
    if max_value is not None:
        pieces.append((1.0, -float(max_value)))
    if negative_slope:
        pieces.append((-1.0, 0.0))
    parts = _relu_pieces(net, z, pieces)
    terms = [(1.0, parts[0])]
    if max_value is not None:
        terms.append((-1.0, parts[1]))
    if negative_slope:
        terms.append((-float(negative_slope), parts[-1]))
    return combine(terms) if len(terms) > 1 else parts[0]


def hard_sigmoid(net: Network, z: Affine, slope: float) -> Affine:
    """clip(slope*z + 1/2, 0, 1) = relu(slope*z + 1/2) - relu(slope*z - 1/2)."""
    p, q = _relu_pieces(net, z, [(slope, 0.5), (slope, -0.5)])
    return combine([(1, p), (-1, q)])


def elu(net: Network, z: Affine, alpha: float, scale: float = 1.0) -> Affine:
    """scale * (p + alpha*exp(-q) - alpha) with p = relu(z), q = relu(-z)."""
    p, q = _relu_pieces(net, z, [(1.0, 0.0), (-1.0, 0.0)])
    e = net.layer(q.scale_shift(-1.0), "exponential")
    return combine([(scale, p), (scale * alpha, e)]).scale_shift(1.0, -scale * alpha)


def silu(net: Network, z: Affine) -> Affine:
    z = net.ids_of(z)
    return product(net, z, net.layer(z, "logistic"))


def hard_silu(net: Network, z: Affine, slope: float) -> Affine:
    z = net.ids_of(z)
    return product(net, z, hard_sigmoid(net, z, slope))


def gelu_tanh(net: Network, z: Affine) -> Affine:
    """0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))), cubes and products by the square trick."""
    z = net.ids_of(z)
    cube = product(net, z, net.layer(z, "square"))
    k = sqrt(2.0 / pi)
    t = net.layer(combine([(k, z), (k * 0.044715, cube)]), "tanh")
    return combine([(0.5, z), (0.5, product(net, z, t))])


def mish(net: Network, z: Affine) -> Affine:
    """z * tanh(softplus z), with tanh(softplus z) = 1 - 2 / (u^2 + 2u + 2), u = e^z."""
    z = net.ids_of(z)
    u = net.layer(z, "exponential")
    v = net.layer(u, "square")
    r = net.layer(combine([(1, v), (2, u)]).scale_shift(1.0, 2.0), "reciprocal")
    return product(net, z, r.scale_shift(-2.0, 1.0))


# --- the modelChain escape hatch: functions applied with Apply between NeuralNetwork segments ----

def _softplus_xml(field: str) -> str:
    x = f'<FieldRef field="{field}"/>'
    return (
        '<Apply function="+"><Apply function="max">' + x + '<Constant dataType="double">0</Constant>'
        '</Apply><Apply function="ln1p"><Apply function="exp"><Apply function="*">'
        '<Constant dataType="double">-1</Constant><Apply function="abs">' + x + '</Apply>'
        '</Apply></Apply></Apply></Apply>'
    )


def _gelu_xml(field: str) -> str:
    x = f'<FieldRef field="{field}"/>'
    return f'<Apply function="*">{x}<Apply function="stdNormalCDF">{x}</Apply></Apply>'


HATCH_FUNCTIONS: dict[str, Callable[[str], str]] = {"softplus": _softplus_xml, "gelu": _gelu_xml}


def apply(net: Network, z: Affine, name: str, params: dict | None = None, *, hatch=None) -> Affine:
    """``name(z)``; ``params`` carry alpha / max_value / slope where the activation has them.

    ``hatch(z, function_name)`` splits the document (modelChain) for softplus and exact gelu.
    """
    params = params or {}
    simple = {"relu": "rectifier", "sigmoid": "logistic", "tanh": "tanh", "softsign": "Elliott",
              "exponential": "exponential"}
    if name == "linear":
        return z
    if name in simple:
        return net.layer(z, simple[name])
    if name == "softmax":
        return net.layer(z, "identity", "softmax")
    if name == "leaky_relu":
        return leaky(net, z, params.get("alpha", 0.2))
    if name == "relu6":
        return relu_general(net, z, 6.0, 0.0)
    if name == "relu_general":
        return relu_general(net, z, params.get("max_value"), params.get("negative_slope", 0.0))
    if name == "hard_sigmoid":
        return hard_sigmoid(net, z, params.get("slope", 1.0 / 6.0))
    if name in ("hard_silu", "hard_swish"):
        return hard_silu(net, z, params.get("slope", 1.0 / 6.0))
    if name == "elu":
        return elu(net, z, params.get("alpha", 1.0))
    if name == "selu":
        return elu(net, z, SELU_ALPHA, SELU_SCALE)
    if name in ("silu", "swish"):
        return silu(net, z)
    if name == "gelu" and params.get("approximate"):
        return gelu_tanh(net, z)
    if name == "mish":
        return mish(net, z)
    if name in HATCH_FUNCTIONS:
        return hatch(z, name)
    raise KeyError(name)
