"""Keras tensors <-> DataFrame columns.

Inputs: a string input (a scikit-learn encoder's column) reads its column as text. Each Keras input reads one array column named after it (``array<float|double|int...>`` or an
ML ``vector``), or — when there is no such column — one numeric column per value: the PMML field
names from the manifest (``x1``..``x8``), or ``feature_names`` for a single input. ``columns`` maps
an input to a differently named column. Tensors of rank > 2 travel flattened (row-major) and are
reshaped from the signature in the worker.

Outputs: one column per model output — ``double`` for one value per row, else ``array<double>``
(flattened) — plus ``<output>_label`` (string) for a classifier whose class labels the manifest
knows, plus ``modelport_error``: null, or why that row could not be scored.

A column that cannot be found is reported here, before any job runs, naming what was expected and
what the DataFrame has (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.errors import BadInputError
from modelport.spark.routes import Plan, TensorColumns

ERROR_COL = "modelport_error"
LABEL_SUFFIX = "_label"


@dataclass(frozen=True)
class InputSource:
    tensor: TensorColumns
    kind: str  # "array" | "vector" | "scalars" | "strings" (one text column for a string input)
    columns: tuple[str, ...]  # one column for array/vector, ``width`` columns for scalars


def _numeric(data_type: Any) -> bool:
    from pyspark.sql.types import NumericType

    return isinstance(data_type, NumericType)


def _kind(data_type: Any) -> str | None:
    from pyspark.sql.types import ArrayType

    if isinstance(data_type, ArrayType) and _numeric(data_type.elementType):
        return "array"
    if type(data_type).__name__ == "VectorUDT":
        return "vector"
    if _numeric(data_type):
        return "scalar"
    return None


def _show(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "") if names else "no columns"


def _span(names: tuple[str, ...]) -> str:
    return ", ".join(names) if len(names) <= 4 else f"{names[0]}, {names[1]}, ..., {names[-1]}"


def resolve_inputs(plan: Plan, schema: Any, columns: dict[str, str] | None = None,
                   feature_names: list[str] | None = None) -> list[InputSource]:
    """Where each model input comes from in a DataFrame with ``schema`` (a pyspark StructType)."""
    types = {f.name: f.dataType for f in schema.fields}
    columns = dict(columns or {})
    unknown = [k for k in columns if k not in {t.name for t in plan.inputs}]
    if unknown:
        raise BadInputError(f"--column names no model input: {', '.join(unknown)}",
                            f"the model's inputs are {', '.join(t.name for t in plan.inputs)}")
    if feature_names is not None and len(plan.inputs) != 1:
        raise BadInputError("--feature-names needs a model with a single input",
                            "map each input to an array column with --column INPUT=COLUMN")
    sources, problems = [], []
    for tensor in plan.inputs:
        column = columns.get(tensor.name, tensor.name)
        if tensor.strings and tensor.width == 1:  # an encoder's column: passed as text, not cast to double
            if column in types:
                sources.append(InputSource(tensor, "strings", (column,)))
            else:
                problems.append(f"input '{tensor.name}' needs a string column '{column}'")
            continue
        kind = _kind(types[column]) if column in types else None
        if kind in ("array", "vector") or (kind == "scalar" and tensor.width == 1):
            sources.append(InputSource(tensor, "scalars" if kind == "scalar" else kind, (column,)))
            continue
        if column in types:
            problems.append(f"column '{column}' for input '{tensor.name}' is {types[column].simpleString()}, "
                            f"expected an array of {tensor.width} numbers")
            continue
        names = tuple(feature_names) if feature_names is not None else tensor.fields
        if feature_names is not None and len(names) != tensor.width:
            raise BadInputError(f"--feature-names gives {len(names)} names, input '{tensor.name}' takes {tensor.width} values",
                                f"pass {tensor.width} comma-separated column names")
        if names and all(n in types for n in names):
            bad = [n for n in names if _kind(types[n]) != "scalar"]
            if not bad or all(types[n].simpleString() == "string" for n in bad):  # CSV columns are strings: cast
                sources.append(InputSource(tensor, "scalars", names))
                continue
            problems.append(f"columns {', '.join(bad[:3])} for input '{tensor.name}' are not numeric")
            continue
        expected = f"an array column '{column}' ({tensor.width} values)"
        if names:
            expected += f" or the {len(names)} columns {_span(names)}"
        problems.append(f"input '{tensor.name}' needs {expected}")
    if problems:
        raise BadInputError(f"missing or unusable column(s): {'; '.join(problems)}; found: {_show(list(types))}",
                            "rename the columns, or map them with --column INPUT=COLUMN / --feature-names")
    return sources


def output_columns(plan: Plan, error_col: str = ERROR_COL) -> list[str]:
    names = []
    for tensor in plan.outputs:
        names.append(tensor.name)
        if tensor.labels:
            names.append(tensor.name + LABEL_SUFFIX)
    return [*names, error_col]


def resolve_keep(schema: Any, keep: list[str] | None, plan: Plan, error_col: str = ERROR_COL) -> list[str]:
    """Columns passed through unchanged: ``keep`` (None: every column). They must exist and not clash."""
    present = [f.name for f in schema.fields]
    chosen = present if keep is None else list(keep)
    missing = [k for k in chosen if k not in present]
    if missing:
        raise BadInputError(f"--keep column(s) {', '.join(missing)} not found; found: {_show(present)}",
                            "pass columns the input has")
    clash = [k for k in chosen if k in output_columns(plan, error_col)]
    if clash:
        raise BadInputError(f"column(s) {', '.join(clash)} would be overwritten by the model's outputs",
                            "leave them out of --keep or rename them")
    return chosen


def input_exprs(sources: list[InputSource]) -> list[Any]:
    """Column expressions feeding the workers: ``__in{i}`` (arrays) or ``__in{i}_{k}`` (doubles)."""
    from pyspark.sql import functions as F

    exprs = []
    for i, source in enumerate(sources):
        if source.kind == "array":
            exprs.append(F.col(f"`{source.columns[0]}`").alias(f"__in{i}"))
        elif source.kind == "vector":
            from pyspark.ml.functions import vector_to_array

            exprs.append(vector_to_array(F.col(f"`{source.columns[0]}`")).alias(f"__in{i}"))
        elif source.kind == "strings":
            exprs.append(F.col(f"`{source.columns[0]}`").cast("string").alias(f"__in{i}_0"))
        else:
            exprs += [F.col(f"`{c}`").try_cast("double").alias(f"__in{i}_{k}") for k, c in enumerate(source.columns)]
    return exprs
