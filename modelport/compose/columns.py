"""What the preprocessing reads and writes: its raw columns (name, number or string, the categories
an encoder knows, whether an imputer fills gaps) and its steps in output order. No heavy imports:
the transformer object is only inspected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.errors import BadInputError

NUMBER, STRING = "number", "string"


@dataclass(frozen=True)
class RawColumn:
    name: str
    kind: str  # NUMBER | STRING
    categories: tuple[str, ...] = ()  # the encoder's categories (as text), when one reads the column
    imputed: bool = False  # an imputer fills NaN here, so validation rows hold gaps

    @property
    def dtype(self) -> str:
        return "string" if self.kind == STRING else "float32"


@dataclass(frozen=True)
class Step:
    """One branch of the preprocessing: a chain of transformers over some raw columns."""

    name: str
    columns: tuple[str, ...]
    chain: tuple[Any, ...]  # fitted transformers, applied in order; () is passthrough

    def class_names(self) -> list[str]:
        return [type(t).__name__ for t in self.chain] or ["passthrough"]


@dataclass
class Preprocessing:
    transformer: Any
    columns: list[RawColumn]
    steps: list[Step]
    width: int  # values per row that come out
    path: str = ""
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> RawColumn:
        return next(c for c in self.columns if c.name == name)

    def transform(self, frame: Any) -> np.ndarray:
        """The transformer's own output as a dense float64 matrix (the reference's first half). A
        transformer fitted on an array gets an array, in column order."""
        named = getattr(self.transformer, "feature_names_in_", None) is not None
        out = self.transformer.transform(frame if named else frame.to_numpy())
        return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)


def describe(transformer: Any, path: str = "", sha256: str = "") -> Preprocessing:
    """The raw columns and steps of a fitted transformer (a ColumnTransformer, a Pipeline or one
    transformer); anything that is not a fitted transformer is refused in one line."""
    name = type(transformer).__name__
    if not callable(getattr(transformer, "transform", None)) or callable(getattr(transformer, "predict", None)):
        raise BadInputError(f"the preprocessing file holds a {name}, not a fitted transformer",
                            "save the fitted preprocessing (ColumnTransformer, Pipeline of transformers) with skops")
    names = _input_names(transformer)
    steps = _steps(transformer, names)
    columns = []
    for col in names:
        reading = [s for s in steps if col in s.columns]
        encoder = next((t for s in reading for t in s.chain if hasattr(t, "categories_")), None)
        categories = _categories(encoder, reading, col) if encoder is not None else ()
        string = bool(categories) and not all(_is_number(c) for c in categories)
        imputed = any(type(t).__name__ == "SimpleImputer" for s in reading for t in s.chain)
        # a number column's categories too: validation then draws the codes the encoder knows
        columns.append(RawColumn(col, STRING if string else NUMBER, tuple(str(c) for c in categories), imputed))
    return Preprocessing(transformer, columns, steps, _width(transformer, len(names)), path, sha256)


def _input_names(transformer: Any) -> list[str]:
    names = getattr(transformer, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    count = getattr(transformer, "n_features_in_", None)
    if count is None:
        raise BadInputError(f"the {type(transformer).__name__} in the preprocessing file is not fitted",
                            "fit it on the training data before saving it")
    return [f"x{k + 1}" for k in range(int(count))]


def _steps(transformer: Any, names: list[str]) -> list[Step]:
    if type(transformer).__name__ == "ColumnTransformer":
        steps = []
        for step_name, inner, cols in transformer.transformers_:
            if isinstance(inner, str) and inner == "drop":
                continue
            chain = () if isinstance(inner, str) else _chain(inner)
            selected = tuple(np.asarray(names)[_column_index(cols, names)].tolist())
            if selected:
                steps.append(Step(step_name, selected, chain))
        return steps
    return [Step(type(transformer).__name__, tuple(names), _chain(transformer))]


def _chain(transformer: Any) -> tuple[Any, ...]:
    if type(transformer).__name__ == "Pipeline":
        return tuple(t for _, t in transformer.steps if not (isinstance(t, str) or t is None))
    return (transformer,)


def _column_index(cols: Any, names: list[str]) -> np.ndarray:
    """ColumnTransformer column selectors: names, positions, a slice or a boolean mask."""
    if isinstance(cols, slice):
        return np.arange(len(names))[cols]
    items = [cols] if isinstance(cols, (str, int, np.integer)) else list(cols)
    if items and all(isinstance(c, (bool, np.bool_)) for c in items):
        return np.flatnonzero(items)
    return np.array([names.index(str(c)) if isinstance(c, str) else int(c) for c in items], dtype=int)


def _categories(encoder: Any, reading: list[Step], col: str) -> list[Any]:
    step = next(s for s in reading if encoder in s.chain)
    return list(encoder.categories_[step.columns.index(col)])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _width(transformer: Any, n_inputs: int) -> int:
    try:
        return len(transformer.get_feature_names_out())
    except Exception:  # a transformer without feature names: count what comes out of one row
        import pandas as pd

        row = pd.DataFrame([[0.0] * n_inputs], columns=_input_names(transformer))
        out = transformer.transform(row)
        return int(np.shape(out)[1])
