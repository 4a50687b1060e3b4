"""Compare one output of one artifact with Keras: statistics that are truthy when they pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.validators.tolerance import Bound

# log10(|error|) histogram bins shared by every comparison, so reports can draw them side by side
HIST_EDGES = [float(e) for e in np.arange(-12.0, 2.5, 0.5)]


@dataclass
class OutputComparison:
    output: str
    atol: float
    rtol: float
    elements: int = 0
    max_abs: float = 0.0
    mean_abs: float = 0.0
    p99_abs: float = 0.0
    max_rel: float = 0.0
    mean_rel: float = 0.0
    p99_rel: float = 0.0
    mismatches: int = 0
    nan_inf_disagreements: int = 0
    argmax_agreement: float | None = None  # fraction of rows whose predicted class agrees
    shape_error: str | None = None
    # counts of log10|error| in HIST_EDGES bins; errors that are exactly 0 counted apart
    histogram: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.shape_error is None and self.mismatches == 0 and self.nan_inf_disagreements == 0

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        d["passed"] = self.passed
        return d


def _histogram(abs_err: np.ndarray) -> dict[str, Any]:
    finite = abs_err[np.isfinite(abs_err)]
    zeros = int(np.count_nonzero(finite == 0))
    logs = np.log10(np.clip(finite[finite > 0], 10.0 ** HIST_EDGES[0], 10.0 ** HIST_EDGES[-1]))
    counts, _ = np.histogram(logs, bins=HIST_EDGES)
    return {"log10_edges": HIST_EDGES, "counts": counts.astype(int).tolist(), "zeros": zeros,
            "non_finite": int(abs_err.size - finite.size)}


def _argmax_agreement(actual: np.ndarray, expected: np.ndarray) -> float | None:
    if expected.ndim == 0 or expected.size == 0:
        return None
    if expected.shape[-1] == 1:  # a single sigmoid unit: the class is "above 0.5"
        agree = (actual[..., 0] > 0.5) == (expected[..., 0] > 0.5)
    else:
        agree = np.argmax(actual, axis=-1) == np.argmax(expected, axis=-1)
    return float(np.mean(agree))


def _reconcile(actual: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """``actual`` in ``expected``'s shape, or None when the shapes really differ."""
    if actual.shape == expected.shape:
        return actual
    # a trailing singleton (PMML gives (n,) for (n, 1)) is a layout difference, not a numeric one
    if actual.size == expected.size and np.squeeze(actual).shape == np.squeeze(expected).shape:
        return actual.reshape(expected.shape)
    return None


def compare(name: str, actual: Any, expected: Any, bound: Bound, classifier: bool = False) -> OutputComparison:
    """Element-wise comparison of ``actual`` (artifact) against ``expected`` (Keras).

    Both may be lists of arrays (one per validation case, shapes may differ between cases):
    statistics cover every element of every case.
    """
    result = OutputComparison(name, bound.atol, bound.rtol)
    pairs = list(zip(actual, expected)) if isinstance(expected, list) else [(actual, expected)]
    flat_a, flat_e, agreements, rows = [], [], [], 0
    for act, exp in pairs:
        exp = np.asarray(exp)
        act = _reconcile(np.asarray(act), exp)
        if act is None:
            result.shape_error = f"shape {np.asarray(pairs[0][0]).shape} != Keras {exp.shape}"
            result.elements = result.mismatches = int(sum(np.asarray(e).size for _, e in pairs))
            return result
        if exp.dtype.kind in "OUS" or act.dtype.kind in "OUS":  # text (class labels): equal or not, as 0 or 1
            flat_a.append((act.astype(str) != exp.astype(str)).astype(np.float64).ravel())
            flat_e.append(np.zeros(exp.size))
            continue
        flat_a.append(act.astype(np.float64).ravel())
        flat_e.append(exp.astype(np.float64).ravel())
        if classifier:
            agreement = _argmax_agreement(act, exp)
            if agreement is not None:
                n = exp.shape[0] if exp.ndim > 1 else 1
                agreements.append(agreement * n)
                rows += n
    a = np.concatenate(flat_a) if flat_a else np.zeros(0)
    e = np.concatenate(flat_e) if flat_e else np.zeros(0)
    result.elements = int(e.size)
    if classifier and rows:
        result.argmax_agreement = float(sum(agreements) / rows)
    if e.size == 0:
        return result
    a_nan, e_nan = np.isnan(a), np.isnan(e)
    a_inf, e_inf = np.isinf(a), np.isinf(e)
    special_disagree = (a_nan != e_nan) | (a_inf != e_inf) | (a_inf & e_inf & (np.sign(a) != np.sign(e)))
    both_special = (a_nan & e_nan) | (a_inf & e_inf & (np.sign(a) == np.sign(e)))
    result.nan_inf_disagreements = int(np.count_nonzero(special_disagree))
    ok = ~(special_disagree | both_special)  # elements with two finite values
    fa = np.abs(a[ok] - e[ok])
    fe = np.abs(e[ok])
    result.mismatches = int(np.count_nonzero(fa > bound.atol + bound.rtol * fe)) + result.nan_inf_disagreements
    if fa.size:
        # relative to the reference, floored at the absolute tolerance: where the reference is 0 (a
        # softmax probability that underflowed) any difference would otherwise be ~1e300 times it
        fr = fa / np.maximum(fe, max(bound.atol, np.finfo(np.float64).tiny))
        result.max_abs, result.mean_abs = float(fa.max()), float(fa.mean())
        result.p99_abs = float(np.percentile(fa, 99))
        result.max_rel, result.mean_rel = float(fr.max()), float(fr.mean())
        result.p99_rel = float(np.percentile(fr, 99))
        result.histogram = _histogram(fa)
    return result
