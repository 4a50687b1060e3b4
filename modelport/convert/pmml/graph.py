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


@dataclass
class Affine:
    ids: list[str]  # source ids (rows of M)
    M: np.ndarray  # (len(ids), units) float64
    c: np.ndarray  # (units,) float64
    shape: tuple[int, ...]  # per-example shape; units = prod(shape), row-major

    @property
    def units(self) -> int:
        return int(self.c.shape[0])

    @classmethod
    def select(cls, ids: list[str], shape: tuple[int, ...] | None = None) -> Affine:
        n = len(ids)
        return cls(list(ids), np.eye(n), np.zeros(n), shape or (n,))

    @classmethod
    def const(cls, values: np.ndarray, shape: tuple[int, ...]) -> Affine:
        values = np.asarray(values, np.float64).ravel()
        return cls([], np.zeros((0, values.size)), values, shape)

    def selection(self) -> list[str] | None:
        """The id behind every unit when this is a plain selection (no weights, no offsets)."""
        if self.M.shape[0] != self.units or np.any(self.c != 0):
            return None
        if not np.array_equal(self.M, np.eye(self.units)):
            rows = np.argmax(self.M, axis=0)
            if not (np.all(self.M[rows, np.arange(self.units)] == 1.0) and np.count_nonzero(self.M) == self.units):
                return None
            return [self.ids[r] for r in rows]
        return list(self.ids)

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
        return Affine(self.ids, self.M * s, self.c * s + t, self.shape)

    def matmul_last(self, W: np.ndarray, b: np.ndarray | None) -> Affine:
        """A Dense on the last axis: every leading position gets ``x @ W + b``."""
        W = np.asarray(W, np.float64)
        din, dout = W.shape
        lead = self.shape[:-1]
        P = prod(lead)
        M = (self.M.reshape(-1, P, din) @ W).reshape(len(self.ids), P * dout)
        c = self.c.reshape(P, din) @ W
        if b is not None:
            c = c + np.asarray(b, np.float64)
        return Affine(self.ids, M, c.ravel(), (*lead, dout))

    def take(self, index: np.ndarray, shape: tuple[int, ...]) -> Affine:
        """Units picked (or averaged: see :func:`combine`) by a column index array."""
        return Affine(self.ids, self.M[:, index], self.c[index], shape)


def combine(terms: list[tuple[float, Affine]], shape: tuple[int, ...] | None = None) -> Affine:
    """``sum coef * tensor`` over tensors of the same shape; rows with the same id are merged."""
    order: dict[str, int] = {}
    for _, a in terms:
        for i in a.ids:
            order.setdefault(i, len(order))
    units = terms[0][1].units
    M = np.zeros((len(order), units))
    c = np.zeros(units)
    for coef, a in terms:
        if a.units != units:
            raise ValueError("combined tensors differ in size")
        rows = [order[i] for i in a.ids]
        np.add.at(M, rows, coef * a.M)  # handles an id repeated within one tensor
        c += coef * a.c
    return Affine(list(order), M, c, shape or terms[0][1].shape)


def concat_last(parts: list[Affine]) -> Affine:
    """Concatenate on the last axis (row-major units interleave by leading position)."""
    order: dict[str, int] = {}
    for a in parts:
        for i in a.ids:
            order.setdefault(i, len(order))
    lead = parts[0].shape[:-1]
    P = prod(lead)
    blocks_M, blocks_c = [], []
    for a in parts:
        full = np.zeros((len(order), a.units))
        full[[order[i] for i in a.ids]] = a.M
        blocks_M.append(full.reshape(len(order), P, -1))
        blocks_c.append(a.c.reshape(P, -1))
    M = np.concatenate(blocks_M, axis=2).reshape(len(order), -1)
    c = np.concatenate(blocks_c, axis=1).ravel()
    return Affine(list(order), M, c, (*lead, sum(a.shape[-1] for a in parts)))


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
