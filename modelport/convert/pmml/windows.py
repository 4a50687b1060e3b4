"""Receptive fields of convolutions and pooling windows (index arithmetic only: numpy, no scipy),
shared by the emitters (:mod:`spatial`) and the size estimate (:mod:`budget`)."""

from __future__ import annotations

import numpy as np


def _tuple(value, n: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value) if len(value) == n else tuple(int(value[0]) for _ in range(n))
    return tuple(int(value) for _ in range(n))


def geometry(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """(output length, padding before) for one spatial axis, as Keras/TensorFlow compute them."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return max((size - span) // stride + 1, 0), 0
    if padding == "causal":
        return (size - 1) // stride + 1, span - 1
    out = -(-size // stride)  # same
    total = max((out - 1) * stride + span - size, 0)
    return out, total // 2


def windows(in_spatial: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
            dilation: tuple[int, ...], padding: str) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Every (output position, kernel offset, input position) triple inside the input.

    Returns the output spatial shape and three flat arrays: output position index, kernel offset
    index (row-major over the kernel) and input position index (row-major over the input)."""
    per_axis = []
    out_shape = []
    for size, k, s, d in zip(in_spatial, kernel, strides, dilation, strict=True):
        out, pad = geometry(size, k, s, d, padding)
        o, kk = np.meshgrid(np.arange(out), np.arange(k), indexing="ij")
        i = o * s + kk * d - pad
        ok = (i >= 0) & (i < size)
        per_axis.append((o[ok], kk[ok], i[ok]))
        out_shape.append(out)
    o_idx, k_idx, i_idx = np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)
    for (o, kk, i), out, k, size in zip(per_axis, out_shape, kernel, in_spatial, strict=True):
        o_idx = (o_idx[:, None] * out + o[None, :]).ravel()
        k_idx = (k_idx[:, None] * k + kk[None, :]).ravel()
        i_idx = (i_idx[:, None] * size + i[None, :]).ravel()
    return tuple(out_shape), o_idx, k_idx, i_idx
