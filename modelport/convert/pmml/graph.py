"""The network under construction: lazy affine tensors over materialised PMML ids.

A Keras tensor is held as an :class:`Affine`: every unit is ``c_j + sum_k M[k, j] * value(ids[k])``
over ids that already exist in the document (NeuralInputs or Neurons of earlier layers). Linear
Keras layers (Dense without activation, BatchNormalization, Add, Concatenate, Rescaling, ...) only
transform ``M`` and ``c``; a ``NeuralLayer`` is written only where a non-linear activation needs one
(:meth:`Network.layer`). Folding a BatchNormalization, an Add or an identity "combine" layer into the
next Dense therefore happens by construction, and the next Dense's Cons point at every branch.

Values are float64; weights taken from float32 Keras arrays stay exact (products with 1.0), composed
weights are written in their shortest float64 form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np
import scipy.sparse as sp


def csc(M) -> sp.csc_matrix:
    """Any matrix as a CSC matrix with sorted indices (the writer walks it column by column)."""
    M = sp.csc_matrix(M, dtype=np.float64)
    M.sort_indices()
    return M


def scale_columns(M: sp.csc_matrix, s: np.ndarray) -> sp.csc_matrix:
    out = M.copy()
    out.data = out.data * np.repeat(s, np.diff(out.indptr))
    return out


def align_rows(parts: list[Affine]) -> tuple[list[str], list[sp.csc_matrix]]:
    """Every part's M re-indexed over the union of their ids (first appearance order)."""
    order: dict[str, int] = {}
    for a in parts:
        for i in a.ids:
            order.setdefault(i, len(order))
    out = []
    for a in parts:
        rows = np.fromiter((order[i] for i in a.ids), np.int64, len(a.ids))
        coo = a.M.tocoo()
        out.append(sp.csc_matrix((coo.data, (rows[coo.row], coo.col)), shape=(len(order), a.units)))
    return list(order), out


@dataclass
class Affine:
    ids: list[str]  # source ids (rows of M)
    M: sp.csc_matrix  # (len(ids), units) float64, sparse: a convolution reads a few ids per unit
    c: np.ndarray  # (units,) float64
    shape: tuple[int, ...]  # per-example shape; units = prod(shape), row-major

    def __post_init__(self) -> None:
        if not isinstance(self.M, sp.csc_matrix) or not self.M.has_sorted_indices:
            self.M = csc(self.M)

    @property
    def units(self) -> int:
        return int(self.c.shape[0])

    @property
    def connections(self) -> int:
        return int(self.M.count_nonzero())

    @classmethod
    def select(cls, ids: list[str], shape: tuple[int, ...] | None = None) -> Affine:
        n = len(ids)
        return cls(list(ids), sp.identity(n, format="csc"), np.zeros(n), shape or (n,))

    @classmethod
    def const(cls, values: np.ndarray, shape: tuple[int, ...]) -> Affine:
        values = np.asarray(values, np.float64).ravel()
        return cls([], sp.csc_matrix((0, values.size)), values, shape)

    def selection(self) -> list[str] | None:
        """The id behind every unit when this is a plain selection (no weights, no offsets)."""
        M = self.M
        if M.shape[0] != self.units or np.any(self.c != 0):
            return None
        if M.nnz != self.units or np.any(np.diff(M.indptr) != 1) or np.any(M.data != 1.0):
            return None
        if len(np.unique(M.indices)) != self.units:
            return None
        return [self.ids[r] for r in M.indices.tolist()]

    def reshape(self, shape: tuple[int, ...]) -> Affine:
        if prod(shape) != self.units:
            raise ValueError(f"cannot reshape {self.shape} to {shape}")
        return Affine(self.ids, self.M, self.c, tuple(shape))

    def rename(self, mapping: dict[str, str]) -> Affine:
        return Affine([mapping[i] for i in self.ids], self.M, self.c, self.shape)

    def scale_shift(self, s: np.ndarray | float, t: np.ndarray | float = 0.0) -> Affine:
        """Elementwise ``s * x + t``, with s and t broadcast to the tensor's shape."""
        s = np.broadcast_to(np.asarray(s, np.float64), self.shape).ravel()
        t = np.broadcast_to(np.asarray(t, np.float64), self.shape).ravel()
        return Affine(self.ids, scale_columns(self.M, s), self.c * s + t, self.shape)

    def linear(self, A: sp.spmatrix, b: np.ndarray | None, shape: tuple[int, ...]) -> Affine:
        """``x @ A + b`` for a (units, out) matrix A: any linear layer (Dense, convolution, pooling)."""
        A = sp.csc_matrix(A, dtype=np.float64)
        M = self.M @ A
        c = A.T @ self.c
        if b is not None:
            b = np.asarray(b, np.float64).ravel()  # flat (out units,), or per last-axis unit
            c = c + (b if b.size == A.shape[1] else np.broadcast_to(b, shape).ravel())
        M = csc(M)
        M.eliminate_zeros()
        return Affine(self.ids, M, np.asarray(c, np.float64).ravel(), tuple(shape))

    def matmul_last(self, W: np.ndarray, b: np.ndarray | None) -> Affine:
        """A Dense on the last axis: every leading position gets ``x @ W + b``."""
        W = np.asarray(W, np.float64)
        din, dout = W.shape
        lead = self.shape[:-1]
        P = prod(lead)
        A = sp.csc_matrix(W) if P == 1 else sp.kron(sp.identity(P), sp.csc_matrix(W), format="csc")
        bias = None if b is None else np.tile(np.asarray(b, np.float64), P)
        return self.linear(A, bias, (*lead, dout))

    def take(self, index: np.ndarray, shape: tuple[int, ...]) -> Affine:
        """Units picked by a column index array."""
        index = np.asarray(index, np.int64)
        return Affine(self.ids, self.M[:, index], self.c[index], shape)


def combine(terms: list[tuple[float, Affine]], shape: tuple[int, ...] | None = None) -> Affine:
    """``sum coef * tensor`` over tensors of the same shape; rows with the same id are merged."""
    units = terms[0][1].units
    if any(a.units != units for _, a in terms):
        raise ValueError("combined tensors differ in size")
    ids, mats = align_rows([a for _, a in terms])
    M = sp.csc_matrix((len(ids), units))
    c = np.zeros(units)
    for (coef, a), m in zip(terms, mats, strict=True):
        M = M + coef * m  # sums an id shared by several terms
        c += coef * a.c
    M = csc(M)
    M.eliminate_zeros()
    return Affine(ids, M, c, shape or terms[0][1].shape)


def stack(parts: list[Affine]) -> Affine:
    """Side by side, as one flat tensor (for a layer that computes several pieces at once)."""
    ids, mats = align_rows(parts)
    M = sp.hstack(mats, format="csc") if mats else sp.csc_matrix((0, 0))
    c = np.concatenate([a.c for a in parts])
    return Affine(ids, M, c, (c.size,))


def concat_last(parts: list[Affine]) -> Affine:
    """Concatenate on the last axis (row-major units interleave by leading position)."""
    lead = parts[0].shape[:-1]
    P = prod(lead)
    flat = stack(parts)
    widths = [a.shape[-1] for a in parts]
    starts = np.cumsum([0, *[a.units for a in parts]])[:-1]
    order = np.concatenate([
        (starts[k] + np.arange(P)[:, None] * w + np.arange(w)[None, :]) for k, w in enumerate(widths)
    ], axis=1).ravel()
    return flat.take(order, (*lead, sum(widths)))


@dataclass
class Layer:
    """One ``NeuralLayer``: neuron ids, their affine pre-activations, activation, normalisation."""

    ids: list[str]
    z: Affine
    activation: str
    normalization: str = "none"


@dataclass
class NeuralInputSpec:
    """One ``NeuralInput``: its id and the inner XML of its ``DerivedField`` (already escaped)."""

    id: str
    expression: str
    fields: tuple[str, ...]  # the DataFields / upstream output fields it reads


@dataclass
class Segment:
    """One NeuralNetwork: inputs and layers. A model normally has one; the modelChain escape
    hatch (softplus, exact gelu) splits it into several."""

    inputs: list[NeuralInputSpec] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    exports: list[tuple[str, str]] = field(default_factory=list)  # (neuron id, output field name)


class Network:
    """Allocates ids and records layers in document order."""

    def __init__(self) -> None:
        self.segments: list[Segment] = [Segment()]
        self._layer_count = 0
        self._input_count = 0

    @property
    def segment(self) -> Segment:
        return self.segments[-1]

    def add_input(self, expression: str, fields: tuple[str, ...]) -> str:
        self._input_count += 1
        nid = f"i{self._input_count}"
        self.segment.inputs.append(NeuralInputSpec(nid, expression, fields))
        return nid

    def layer(self, z: Affine, activation: str, normalization: str = "none") -> Affine:
        """Materialise ``activation(z)`` as a NeuralLayer; returns the selection of its neurons."""
        self._layer_count += 1
        ids = [f"{self._layer_count}.{j}" for j in range(z.units)]
        self.segment.layers.append(Layer(ids, z, activation, normalization))
        return Affine.select(ids, z.shape)

    def ids_of(self, z: Affine) -> Affine:
        """``z`` as a plain selection of ids, adding an identity layer only when it is not one."""
        return z if z.selection() is not None else self.layer(z, "identity")

    def compact(self, z: Affine, fan_in: float = 1.0) -> Affine:
        """``z`` materialised when it reads more than ``fan_in`` ids per unit on average: a
        tensor read several times (a product, a recurrence) then costs one Con per use."""
        if z.connections <= fan_in * z.units:
            return z
        return self.ids_of(z)

    def linear(self, x: Affine, A, b: np.ndarray | None, shape: tuple[int, ...]) -> Affine:
        """``x @ A + b`` composed lazily, or over a materialised ``x`` when that has fewer Cons
        (a max-pool output read by a convolution: composing would multiply the kernel's Cons)."""
        composed = x.linear(A, b, shape)
        if x.selection() is not None:
            return composed
        materialised = x.connections + sp.csc_matrix(A).count_nonzero()
        if materialised < composed.connections:
            return self.ids_of(x).linear(A, b, shape)
        return composed
