"""What a fitted pipeline takes and gives: its input columns (name, kind, categories, whether NaN is
accepted, a plausible range) and its outputs (label + probabilities, prediction or transform)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Column:
    name: str
    kind: str = "number"  # "number" | "string"
    categories: list[Any] = field(default_factory=list)  # what an encoder knows for this column
    accepts_nan: bool = False  # an imputer in front of it replaces NaN
    low: float = -2.0  # a range validation draws from (from a scaler's statistics, a tree's thresholds)
    high: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.categories:
            d["categories"] = [str(c) for c in self.categories]
        if self.accepts_nan:
            d["accepts_nan"] = True
        return d


def final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return final_step(steps[-1][1]) if steps else estimator


def flat_steps(estimator: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every estimator inside pipelines and column transformers, with a dotted name."""
    out: list[tuple[str, Any]] = []
    if hasattr(estimator, "steps"):
        for name, step in estimator.steps:
            out += flat_steps(step, f"{prefix}{name}.")
    elif hasattr(estimator, "transformers_"):
        for name, step, _cols in estimator.transformers_:
            if step in ("drop", "passthrough"):
                continue
            out += flat_steps(step, f"{prefix}{name}.")
    else:
        out.append((prefix.rstrip(".") or type(estimator).__name__, estimator))
    return out


def task(estimator: Any) -> str:
    """"classifier", "regressor" or "transformer" (the final step's role)."""
    last = final_step(estimator)
    kind = getattr(getattr(last, "__sklearn_tags__", lambda: None)(), "estimator_type", None)
    if kind in ("classifier", "regressor"):
        return kind
    if hasattr(last, "classes_"):
        return "classifier"
    return "transformer" if hasattr(estimator, "transform") and not hasattr(last, "predict") else "regressor"


def input_columns(estimator: Any) -> list[Column]:
    names = getattr(estimator, "feature_names_in_", None)
    n = int(getattr(estimator, "n_features_in_", 0) or 0)
    columns = [Column(str(c)) for c in names] if names is not None else [Column(f"x{i}") for i in range(n)]
    if not columns:
        raise ValueError("the estimator does not record how many features it was fitted on")
    _annotate(estimator, columns, list(range(len(columns))))
    return columns


def _annotate(estimator: Any, columns: list[Column], index: list[int]) -> None:
    """Walk the first steps that see raw columns: encoders give categories, imputers NaN, scalers ranges."""
    if hasattr(estimator, "transformers_"):
        by_name = {c.name: i for i, c in enumerate(columns)}
        for _name, step, cols in estimator.transformers_:
            if step == "drop" or cols is None:
                continue
            picked = _select(cols, by_name, len(columns))
            if step != "passthrough":
                _annotate(step, columns, [index[i] for i in picked if i < len(index)])
        return
    if hasattr(estimator, "steps"):
        for _name, step in estimator.steps:
            if step in ("passthrough", None):
                continue
            _annotate(step, columns, index)
            if not _keeps_columns(step):
                return
        return
    _learn_from(estimator, columns, index)


def _select(cols: Any, by_name: dict[str, int], n: int) -> list[int]:
    if isinstance(cols, slice):
        return list(range(n))[cols]
    items = list(np.atleast_1d(cols))
    if items and isinstance(items[0], (bool, np.bool_)):
        return [i for i, keep in enumerate(items) if keep]
    return [by_name[str(c)] if isinstance(c, str) else int(c) for c in items]


def _keeps_columns(step: Any) -> bool:
    """Whether a step's output columns are its input columns (so the next step's facts apply to them)."""
    name = type(step).__name__
    return name in ("SimpleImputer",) and not getattr(step, "add_indicator", False)


def _learn_from(step: Any, columns: list[Column], index: list[int]) -> None:
    name = type(step).__name__
    cats = getattr(step, "categories_", None)
    if name in ("OneHotEncoder", "OrdinalEncoder") and cats is not None:
        for i, values in zip(index, cats, strict=False):
            values = [v for v in values if not (isinstance(v, float) and np.isnan(v))]
            columns[i].categories = values
            columns[i].kind = "string" if values and isinstance(values[0], str) else "number"
        return
    if name == "SimpleImputer":
        stats = getattr(step, "statistics_", None)
        for k, i in enumerate(index):
            columns[i].accepts_nan = True
            if stats is not None and isinstance(stats[k], str):
                columns[i].kind = "string"
        return
    pairs = _ranges(step)
    if pairs is not None:
        for i, (low, high) in zip(index, pairs, strict=False):
            if np.isfinite(low) and np.isfinite(high) and high > low:
                columns[i].low, columns[i].high = float(low), float(high)


def _ranges(step: Any) -> list[tuple[float, float]] | None:
    if hasattr(step, "mean_") and hasattr(step, "scale_") and step.mean_ is not None:  # StandardScaler
        return [(m - 2 * s, m + 2 * s) for m, s in zip(step.mean_, step.scale_, strict=False)]
    if hasattr(step, "data_min_"):  # MinMaxScaler
        return list(zip(step.data_min_, step.data_max_, strict=False))
    if hasattr(step, "center_") and getattr(step, "scale_", None) is not None:  # RobustScaler
        return [(c - 2 * s, c + 2 * s) for c, s in zip(step.center_, step.scale_, strict=False)]
    if hasattr(step, "mean_") and getattr(step, "components_", None) is not None:  # PCA: no spread recorded
        return None
    thresholds = _tree_thresholds(step)
    return thresholds


def _tree_thresholds(step: Any) -> list[tuple[float, float]] | None:
    trees = [step] if hasattr(step, "tree_") else [e for e in np.ravel(getattr(step, "estimators_", []))
                                                   if hasattr(e, "tree_")]
    n = getattr(step, "n_features_in_", None)
    if not trees or not n:
        return None
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    for t in trees:
        feat, thr = t.tree_.feature, t.tree_.threshold
        for f in range(n):
            values = thr[feat == f]
            if values.size:
                low[f], high[f] = min(low[f], values.min()), max(high[f], values.max())
    spread = np.where(high > low, (high - low) * 0.25, 1.0)
    return list(zip(low - spread, high + spread, strict=False))


def output_names(estimator: Any) -> list[str]:
    kind = task(estimator)
    if kind == "classifier":
        return ["label", "probabilities"] if hasattr(final_step(estimator), "predict_proba") and \
            _has_proba(estimator) else ["label"]
    return ["prediction"] if kind == "regressor" else ["transform"]


def _has_proba(estimator: Any) -> bool:
    try:
        estimator.predict_proba  # noqa: B018  (the access itself raises when there is none)
        return True
    except AttributeError:  # e.g. SVC(probability=False) raises on access
        return False
