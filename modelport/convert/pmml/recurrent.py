"""Recurrent layers unrolled over a fixed number of time steps (PMML has no recurrence).

Every step is a few NeuralLayers: gate activations (logistic / tanh / clipped rectifiers for
hard_sigmoid), one ``square`` layer for the step's products (``a*b = ((a+b)^2 - (a-b)^2)/4``), and
an identity layer that materialises the state so the next step reads it with one Con per unit.
Keras gate orders: LSTM (i, f, c, o); GRU (z, r, h). The initial state is zero, so the first step
drops the products with it. ``go_backwards`` reads the steps in reverse and, as Keras does, returns
the sequence in processing order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from modelport.convert.pmml.graph import Affine, Network, combine, stack

Activate = Callable[[Affine, str], Affine]  # (pre-activation, activation name) -> value


def products(net: Network, pairs: list[tuple[Affine, Affine]]) -> list[Affine]:
    """Every ``a * b`` of ``pairs`` from one square layer; a constant operand is a plain scale."""
    out: list[Affine | None] = [None] * len(pairs)
    todo = []
    for k, (a, b) in enumerate(pairs):
        if not b.ids:
            out[k] = a.scale_shift(b.c)
        elif not a.ids:
            out[k] = b.scale_shift(a.c)
        else:
            todo.append(k)
    if todo:
        parts = []
        for k in todo:
            a, b = pairs[k]
            parts += [combine([(1, a), (1, b)]), combine([(1, a), (-1, b)])]
        sq = net.layer(stack(parts), "square")
        n = [pairs[k][0].units for k in todo]
        start = 0
        for k, units in zip(todo, n, strict=True):
            plus = sq.take(np.arange(start, start + units), pairs[k][0].shape)
            minus = sq.take(np.arange(start + units, start + 2 * units), pairs[k][0].shape)
            out[k] = combine([(0.25, plus), (-0.25, minus)])
            start += 2 * units
    return out  # type: ignore[return-value]


def _split(z: Affine, k: int) -> list[Affine]:
    n = z.units // k
    return [z.take(np.arange(j * n, (j + 1) * n), (n,)) for j in range(k)]


def _steps(x: Affine, go_backwards: bool) -> list[Affine]:
    T, d = x.shape
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    return [x.take(np.arange(t * d, (t + 1) * d), (d,)) for t in order]


def _sequence(hs: list[Affine]) -> Affine:
    units = hs[0].units
    return stack(hs).reshape((len(hs), units))


def _gate(net: Network, m: Affine | None, new: list[Affine], prev: list[Affine | None]) -> list[Affine]:
    """Masked steps keep the state: state = prev + m * (new - prev), m in {0, 1} (one square layer)."""
    if m is None:
        return new
    units = new[0].units
    mu = m.take(np.zeros(units, np.int64), (units,))
    diffs = [n if p is None else combine([(1, n), (-1, p)]) for n, p in zip(new, prev, strict=True)]
    prods = products(net, [(mu, d) for d in diffs])
    return [net.ids_of(d if p is None else combine([(1, p), (1, d)])) for d, p in zip(prods, prev, strict=True)]


def step_masks(mask: list[Affine] | None, steps: int, go_backwards: bool) -> list[Affine | None]:
    """Each processed step's mask (None: no Masking layer), in processing order."""
    if mask is None:
        return [None] * steps
    return list(reversed(mask)) if go_backwards else list(mask)


def _recurrent_term(h: Affine | None, U: np.ndarray) -> Affine:
    """h @ U, or zeros for the first step (the initial state is zero)."""
    return Affine.const(np.zeros(U.shape[1]), (U.shape[1],)) if h is None else h.matmul_last(U, None)


def lstm(net: Network, x: Affine, weights: list[np.ndarray], act: str, rec_act: str, activate: Activate,
         go_backwards: bool = False, return_sequences: bool = False, mask: list[Affine] | None = None) -> Affine:
    W, U = weights[0], weights[1]
    b = weights[2] if len(weights) > 2 else None
    h = c = None
    hs = []
    masks = step_masks(mask, x.shape[0], go_backwards)
    for xt, m in zip(_steps(x, go_backwards), masks, strict=True):
        h_prev, c_prev = h, c
        z = combine([(1, xt.matmul_last(W, b)), (1, _recurrent_term(h, U))])
        i, f, g, o = _split(z, 4)
        gates = activate(stack([i, f, o]), rec_act)
        i, f, o = _split(gates, 3)
        g = activate(g, act)
        if c is None:
            (c,) = products(net, [(i, g)])
        else:
            fc, ig = products(net, [(f, c), (i, g)])
            c = combine([(1, fc), (1, ig)])
        c = net.ids_of(c)
        (h,) = products(net, [(o, net.compact(activate(c, act), 2))])
        h = net.ids_of(h)
        c, h = _gate(net, m, [c, h], [c_prev, h_prev])
        hs.append(h)
    return _sequence(hs) if return_sequences else h


def gru(net: Network, x: Affine, weights: list[np.ndarray], act: str, rec_act: str, activate: Activate,
        reset_after: bool, go_backwards: bool = False, return_sequences: bool = False,
        mask: list[Affine] | None = None) -> Affine:
    W, U = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    u = U.shape[0]
    if bias is not None and reset_after:
        b_in, b_rec = np.asarray(bias[0]), np.asarray(bias[1])
    else:
        b_in, b_rec = bias, None
    h = None
    hs = []
    masks = step_masks(mask, x.shape[0], go_backwards)
    for xt, m in zip(_steps(x, go_backwards), masks, strict=True):
        h_prev = h
        xz, xr, xh = _split(xt.matmul_last(W, b_in), 3)
        if reset_after:
            rec = _recurrent_term(h, U)
            if b_rec is not None:
                rec = rec.scale_shift(1.0, b_rec)
            rz, rr, rh = _split(rec, 3)
            gates = activate(stack([combine([(1, xz), (1, rz)]), combine([(1, xr), (1, rr)])]), rec_act)
            zg, r = _split(gates, 2)
            (reset,) = products(net, [(r, net.compact(rh))])
            hh = activate(combine([(1, xh), (1, reset)]), act)
        else:
            rz, rr = _split(_recurrent_term(h, U[:, : 2 * u]), 2)
            gates = activate(stack([combine([(1, xz), (1, rz)]), combine([(1, xr), (1, rr)])]), rec_act)
            zg, r = _split(gates, 2)
            if h is None:
                hh = activate(xh, act)
            else:
                (rh,) = products(net, [(r, h)])
                hh = activate(combine([(1, xh), (1, net.ids_of(rh).matmul_last(U[:, 2 * u:], None))]), act)
        hh = net.compact(hh)
        # h = z*h_prev + (1 - z)*hh = hh + z*(h_prev - hh)
        diff = hh.scale_shift(-1.0) if h is None else combine([(1, h), (-1, hh)])
        (zd,) = products(net, [(zg, diff)])
        h = net.ids_of(combine([(1, hh), (1, zd)]))
        (h,) = _gate(net, m, [h], [h_prev])
        hs.append(h)
    return _sequence(hs) if return_sequences else h


def simple_rnn(net: Network, x: Affine, weights: list[np.ndarray], act: str, activate: Activate,
               go_backwards: bool = False, return_sequences: bool = False, mask: list[Affine] | None = None) -> Affine:
    W, U = weights[0], weights[1]
    b = weights[2] if len(weights) > 2 else None
    h = None
    hs = []
    masks = step_masks(mask, x.shape[0], go_backwards)
    for xt, m in zip(_steps(x, go_backwards), masks, strict=True):
        h_prev = h
        h = net.compact(activate(combine([(1, xt.matmul_last(W, b)), (1, _recurrent_term(h, U))]), act))
        (h,) = _gate(net, m, [h], [h_prev])
        hs.append(h)
    return _sequence(hs) if return_sequences else h


def mask_of(net: Network, x: Affine, mask_value: float) -> list[Affine]:
    """Keras Masking's per-step mask, exactly: m_t = 1 when any feature differs from mask_value,
    i.e. threshold(sum_k (x_tk - v)^2) (``threshold`` gives 1 for Z > 0, else 0)."""
    T, d = x.shape
    sq = net.layer(x.scale_shift(1.0, -float(mask_value)).reshape((T * d,)), "square")
    summed = sq.matmul_last(np.ones((1, 1)), None) if d == 1 else sq.reshape((T, d)).matmul_last(np.ones((d, 1)), None)
    m = net.layer(summed.reshape((T,)), "threshold")
    return [m.take(np.array([t]), (1,)) for t in range(T)]


def reverse_time(seq: Affine) -> Affine:
    T, d = seq.shape
    order = (np.arange(T)[::-1, None] * d + np.arange(d)[None, :]).ravel()
    return seq.take(order, seq.shape)
