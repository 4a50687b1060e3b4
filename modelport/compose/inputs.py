"""Validation rows of raw columns: numbers drawn around what each scaler or imputer learned (as
float32 values, so every runtime reads the same numbers), strings from the encoder's categories, and
gaps (NaN) where an imputer fills them."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.compose.columns import STRING, Preprocessing, RawColumn
from modelport.errors import BadInputError

GAP_RATE = 0.2


def raw_rows(prep: Preprocessing, rows: int, rng: np.random.Generator, gaps: bool = True) -> dict[str, np.ndarray]:
    """column -> (rows, 1) array: float32 numbers (NaN for gaps, unless ``gaps`` is False) or strings
    (a NumPy text array: ONNX Runtime takes it, and the golden file stores it without pickles)."""
    out = {}
    for col in prep.columns:
        if col.kind == STRING:
            out[col.name] = rng.choice(np.array(col.categories, dtype=str), (rows, 1))
            continue
        if col.categories:  # numeric codes an encoder reads: draw those it knows
            values = rng.choice(np.array([float(c) for c in col.categories], np.float32), (rows, 1))
        else:
            center, spread = _location(prep, col)
            values = rng.normal(center, spread, (rows, 1)).astype(np.float32)
        if gaps and col.imputed and rows > 1:
            holes = rng.random((rows, 1)) < GAP_RATE
            holes[rng.integers(rows)] = True  # at least one gap per batch
            values[holes] = np.nan
        out[col.name] = values
    return out


def frame(prep: Preprocessing, rows: dict[str, np.ndarray]) -> Any:
    """The raw rows as the DataFrame the transformer was fitted on (numbers as float64)."""
    import pandas as pd

    data = {c.name: (rows[c.name][:, 0] if c.kind == STRING else rows[c.name][:, 0].astype(np.float64))
            for c in prep.columns}
    return pd.DataFrame(data, columns=[c.name for c in prep.columns])


def _location(prep: Preprocessing, col: RawColumn) -> tuple[float, float]:
    """Where the column's values lie, from the fitted statistics of the step reading it."""
    for step in prep.steps:
        if col.name not in step.columns:
            continue
        k = step.columns.index(col.name)
        for t in reversed(step.chain):
            kind = type(t).__name__
            if kind == "StandardScaler":
                return _at(t.mean_, k, 0.0), _at(t.scale_, k, 1.0)
            if kind == "RobustScaler":
                return _at(getattr(t, "center_", None), k, 0.0), _at(getattr(t, "scale_", None), k, 1.0)
            if kind == "MinMaxScaler":
                low, high = float(t.data_min_[k]), float(t.data_max_[k])
                return (low + high) / 2, max((high - low) / 3, 1e-3)
            if kind == "MaxAbsScaler":
                return 0.0, float(t.max_abs_[k]) / 2 or 1.0
            if kind == "SimpleImputer":
                stat = float(t.statistics_[k])
                return stat, abs(stat) * 0.2 + 1.0
    return 0.0, 1.0


def _at(values: Any, k: int, default: float) -> float:
    return default if values is None else float(values[k])


def read_rows(path: Any, prep: Preprocessing) -> dict[str, np.ndarray]:
    """The user's raw rows from a .csv or .parquet with a column per raw column (extra columns are
    ignored): numbers as float32 (empty cells are gaps), categories as text."""
    from pathlib import Path

    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"data file {path} not found", "pass --data with an existing .csv or .parquet")
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise BadInputError(f"--data with --preprocess takes a .csv or .parquet of raw columns, not {path.suffix}",
                            "save the raw rows as a table with the columns the transformer was fitted on")
    try:
        table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(
            path, dtype={c.name: str for c in prep.columns if c.kind == STRING}, keep_default_na=False,
            na_values={c.name: [""] for c in prep.columns if c.kind != STRING})
    except Exception as e:  # pandas raises many types for a malformed file
        raise BadInputError(f"cannot read {path}: {str(e).splitlines()[0]}", "give a CSV with a header row or a Parquet file") from None
    missing = [c.name for c in prep.columns if c.name not in table.columns]
    if missing:
        raise BadInputError(f"{path.name} lacks the raw column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                            f"give a column per input of the transformer: {', '.join(c.name for c in prep.columns)}")
    if len(table) == 0:
        raise BadInputError(f"{path.name} holds no rows", "give at least one row")
    out = {}
    for col in prep.columns:
        values = table[col.name]
        if col.kind == STRING:
            out[col.name] = values.astype(str).to_numpy(dtype=str).reshape(-1, 1)
            continue
        try:
            out[col.name] = values.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32).reshape(-1, 1)
        except (TypeError, ValueError):
            raise BadInputError(f"{path.name}: column {col.name} holds text, the transformer reads numbers there",
                                "give numbers (empty cells for gaps)") from None
    return out
