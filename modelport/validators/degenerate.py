"""Is the reference worth comparing with? A Keras model whose outputs barely vary across the
validation inputs (an untrained network, a zero head, a dead ReLU trunk) makes parity vacuous: an
artifact that ignored its inputs would pass. Documented in docs/ci.md ("Vacuous parity").

For each output, over every validation row (grouped by shape, since sequence lengths differ):

    spread = the largest, over the output's elements, of (max over rows - min over rows)
    scale  = the largest |value| of the output

The output is *vacuous* when ``spread <= RELATIVE_SPREAD * scale + atol`` (atol: the output's
absolute tolerance), i.e. when it moves by less than a thousandth of its own size, or by no more
than an error parity would forgive anyway. Fewer than two rows cannot show variation and are not
judged; non-finite values are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

RELATIVE_SPREAD = 1e-3
MESSAGE = "parity is vacuous: the reference does not depend on its inputs — pass --data"


@dataclass(frozen=True)
class Spread:
    output: str
    spread: float
    scale: float
    threshold: float
    rows: int

    @property
    def judged(self) -> bool:
        return self.rows >= 2

    @property
    def vacuous(self) -> bool:
        return self.judged and self.spread <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "spread": self.spread, "scale": self.scale,
                "threshold": self.threshold, "rows": self.rows, "vacuous": self.vacuous}


def _groups(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Rows of the same per-row shape stacked together (one group per sequence length)."""
    by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "OUS":  # text (class labels): spread as distinct values, by index
            a = np.unique(a.astype(str), return_inverse=True)[1].reshape(a.shape)
        a = np.asarray(a, dtype="float64")
        if a.ndim == 0:
            a = a.reshape(1, 1)
        by_shape.setdefault(a.shape[1:], []).append(a.reshape(a.shape[0], -1))
    return [np.concatenate(parts) for parts in by_shape.values()]


def output_spread(name: str, arrays: list[np.ndarray], atol: float) -> Spread:
    spread, scale, rows = 0.0, 0.0, 0
    for group in _groups(arrays):
        finite = np.where(np.isfinite(group), group, np.nan)
        if group.shape[0] == 0 or np.all(np.isnan(finite)):
            continue
        rows = max(rows, group.shape[0])
        scale = max(scale, float(np.nanmax(np.abs(finite))))
        if group.shape[0] >= 2:
            with np.errstate(all="ignore"):
                ranges = np.nanmax(finite, axis=0) - np.nanmin(finite, axis=0)
            if np.any(np.isfinite(ranges)):
                spread = max(spread, float(np.nanmax(ranges)))
    return Spread(name, spread, scale, RELATIVE_SPREAD * scale + atol, rows)


def reference_spreads(expected: list[dict[str, np.ndarray]], tolerance: Any) -> list[Spread]:
    """One Spread per output of the Keras outputs ``expected`` (one dict per validation case)."""
    if not expected:
        return []
    return [output_spread(name, [e[name] for e in expected if name in e], tolerance.bound(name).atol)
            for name in expected[0]]


def summary(spreads: list[Spread]) -> dict[str, Any]:
    """The ``reference`` entry of the report and manifest."""
    vacuous = [s.output for s in spreads if s.vacuous]
    return {"vacuous": bool(vacuous), "vacuous_outputs": vacuous, "message": MESSAGE if vacuous else None,
            "relative_spread_threshold": RELATIVE_SPREAD, "outputs": [s.to_dict() for s in spreads]}
