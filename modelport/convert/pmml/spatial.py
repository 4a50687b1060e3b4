"""Unrolled convolutions and pooling: one neuron per output position and channel, connected to its
receptive field only (PMML has no weight sharing, so the kernel is copied into every position).

Everything here is index arithmetic over channels_last tensors in Keras row-major order: a
convolution or an average pooling is a sparse (input units x output units) matrix applied with
:meth:`Network.linear`; a max pooling is a tree of ``max(a, b) = a + relu(b - a)`` steps, one
rectifier layer per level. Padding is handled by leaving the padded connections out ('same' average
pooling divides by the count of real inputs, as TensorFlow does).
"""

from __future__ import annotations

from math import prod

import numpy as np
import scipy.sparse as sp

from modelport.convert.pmml.graph import Affine, Network, combine, stack
from modelport.convert.pmml.windows import _tuple, windows


def conv_matrix(in_shape: tuple[int, ...], kernel: np.ndarray, strides, dilation, padding: str,
                depthwise: bool = False) -> tuple[sp.csc_matrix, tuple[int, ...]]:
    """The convolution as a sparse (input units, output units) matrix and the output shape.

    ``kernel`` is Keras's (*k, cin, cout) array, or (*k, cin, multiplier) when ``depthwise``."""
    n = len(in_shape) - 1
    cin = in_shape[-1]
    ksize = kernel.shape[:n]
    W = np.asarray(kernel, np.float64).reshape(prod(ksize), cin, kernel.shape[-1])
    out_sp, o, k, i = windows(in_shape[:-1], ksize, _tuple(strides, n), _tuple(dilation, n), padding)
    ci = np.arange(cin)
    if depthwise:
        mult = kernel.shape[-1]
        cout = cin * mult
        m = np.arange(mult)
        rows = (i[:, None, None] * cin + ci[None, :, None]) + 0 * m[None, None, :]
        cols = o[:, None, None] * cout + ci[None, :, None] * mult + m[None, None, :]
        data = W[k]  # (pairs, cin, mult)
    else:
        cout = kernel.shape[-1]
        co = np.arange(cout)
        rows = (i[:, None, None] * cin + ci[None, :, None]) + 0 * co[None, None, :]
        cols = o[:, None, None] * cout + co[None, None, :] + 0 * ci[None, :, None]
        data = W[k]  # (pairs, cin, cout)
    shape = (prod(in_shape), prod(out_sp) * cout)
    A = sp.csc_matrix((data.ravel(), (rows.ravel(), cols.ravel())), shape=shape)
    return A, (*out_sp, cout)


def conv(net: Network, x: Affine, kernel: np.ndarray, bias: np.ndarray | None, strides, dilation,
         padding: str, depthwise: bool = False) -> Affine:
    A, out_shape = conv_matrix(x.shape, kernel, strides, dilation, padding, depthwise)
    b = None if bias is None else np.tile(np.asarray(bias, np.float64), prod(out_shape[:-1]))
    return net.linear(x, A, b, out_shape)


def _pool_index(shape: tuple[int, ...], pool, strides, padding: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """(output units, window slots) matrix of input unit indices; a slot outside the input repeats
    the window's first real member (max(a, a) = a), and -1 marks it for average pooling."""
    n = len(shape) - 1
    C = shape[-1]
    pool = _tuple(pool, n)
    strides = _tuple(strides if strides is not None else pool, n)
    out_sp, o, k, i = windows(shape[:-1], pool, strides, (1,) * n, padding)
    K, P = prod(pool), prod(out_sp)
    pos = np.full((P, K), -1, np.int64)
    pos[o, k] = i
    units = (pos[:, None, :] * C + np.arange(C)[None, :, None]).reshape(P * C, K)
    units[np.repeat(pos, C, axis=0) < 0] = -1
    return units, (*out_sp, C)


def average_pool(net: Network, x: Affine, pool, strides, padding: str) -> Affine:
    idx, out_shape = _pool_index(x.shape, pool, strides, padding)
    valid = idx >= 0
    weight = 1.0 / valid.sum(axis=1)
    cols = np.repeat(np.arange(idx.shape[0]), idx.shape[1]).reshape(idx.shape)
    A = sp.csc_matrix((np.broadcast_to(weight[:, None], idx.shape)[valid], (idx[valid], cols[valid])),
                      shape=(x.units, idx.shape[0]))
    return net.linear(x, A, None, out_shape)


def max_pool(net: Network, x: Affine, pool, strides, padding: str) -> Affine:
    idx, out_shape = _pool_index(x.shape, pool, strides, padding)
    return max_over(net, x, idx, out_shape)


def max_over(net: Network, x: Affine, idx: np.ndarray, out_shape: tuple[int, ...]) -> Affine:
    """The maximum over each row of ``idx`` (input unit indices), by a tree of pairwise maxima."""
    idx = np.where(idx < 0, idx.max(axis=1, keepdims=True), idx)
    x = net.ids_of(x)
    cands = [x.take(idx[:, j], out_shape) for j in range(idx.shape[1])]
    while len(cands) > 1:
        pairs = [(cands[k], cands[k + 1]) for k in range(0, len(cands) - 1, 2)]
        rest = cands[-1:] if len(cands) % 2 else []
        diffs = net.layer(stack([combine([(1.0, b), (-1.0, a)]) for a, b in pairs]), "rectifier")
        n = pairs[0][0].units
        cands = [combine([(1.0, a), (1.0, diffs.take(np.arange(k * n, (k + 1) * n), out_shape))])
                 for k, (a, _) in enumerate(pairs)] + rest
    return net.ids_of(cands[0]).reshape(out_shape)


def global_pool(net: Network, x: Affine, kind: str, keepdims: bool) -> Affine:
    C = x.shape[-1]
    P = x.units // C
    shape = (*(1,) * (len(x.shape) - 1), C) if keepdims else (C,)
    idx = (np.arange(P)[None, :] * C + np.arange(C)[:, None])  # (C, P)
    if kind == "max":
        return max_over(net, x, idx, shape)
    A = sp.csc_matrix((np.full(idx.size, 1.0 / P), (idx.ravel(), np.repeat(np.arange(C), P))),
                      shape=(x.units, C))
    return net.linear(x, A, None, shape)
