"""Inputs for validation: seeded synthetic data matched to each input, or the user's own file.

Synthetic data follows each input's dtype, shape and meaning (``input_domains``): ids that reach an
Embedding stay inside every vocabulary they reach, string inputs get strings from their lookup
vocabularies; a dynamic time dimension gets several sequence lengths. User data
(``.npz``/``.npy``/``.csv``/``.parquet``, string columns for string inputs) is checked against the
signature before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import BadInputError
from modelport.spec import ModelSpec, TensorSpec
from modelport.validators.input_domains import draw, input_domains, is_string

DEFAULT_BATCH = 32
SEQUENCE_LENGTHS = (3, 8, 17)  # for inputs whose time dimension is dynamic
OTHER_DYNAMIC = 4  # any other dynamic non-batch dimension


@dataclass
class Case:
    """One run: the same inputs go to Keras and every artifact."""

    label: str  # "batch=1", "batch=32 len=8"...
    inputs: dict[str, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label,
                "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in self.inputs.items()}}


def _has_dynamic_time(t: TensorSpec) -> bool:
    return len(t.shape) >= 3 and t.shape[1] is None


def sequence_lengths(spec: ModelSpec) -> tuple[int, ...]:
    return SEQUENCE_LENGTHS if any(_has_dynamic_time(t) for t in spec.inputs) else ()


def _dims(t: TensorSpec, batch: int, seq_len: int | None) -> list[int]:
    dims = [batch]
    for i, d in enumerate(t.shape[1:], start=1):
        dims.append(d if d is not None else (seq_len if i == 1 and seq_len else OTHER_DYNAMIC))
    return dims


def synthetic_inputs(spec: ModelSpec, batch: int, seq_len: int | None = None, model: Any = None,
                     rng: np.random.Generator | None = None,
                     tensors: list[TensorSpec] | None = None, unit: bool = False) -> dict[str, np.ndarray]:
    """One seeded batch for every input, drawn from what the input means (``input_domains``).

    ``model``: the loaded Keras model, for vocabularies adapted lookups keep in their state.
    ``tensors``: the inputs' shapes and dtypes when they differ from the spec's (the load check
    uses the loaded model's own). ``unit``: plain numbers in [0, 1) (see ``input_domains.draw``)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    domains = input_domains(spec, model)
    names = [t.name for t in spec.inputs]
    out = {}
    for i, t in enumerate(tensors or spec.inputs):
        domain = domains.get(names[i] if i < len(names) else t.name)
        out[t.name] = draw(domain, t.dtype, _dims(t, batch, seq_len), rng, unit)
    return out


def synthetic_cases(spec: ModelSpec, batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH),
                    seed: int = 0, model: Any = None) -> list[Case]:
    """Batch 1 and batch N (and for a dynamic time dimension, batch N at several lengths)."""
    rng = np.random.default_rng(seed)
    lens = sequence_lengths(spec)
    cases = []
    for i, batch in enumerate(batch_sizes):
        for seq_len in (lens if i == len(batch_sizes) - 1 and lens else lens[1:2] or (None,)):
            inputs = synthetic_inputs(spec, batch, seq_len, model, rng)
            label = f"batch={batch}" + (f" len={seq_len}" if seq_len else "")
            cases.append(Case(label, inputs))
    return cases


# ---- user data ----------------------------------------------------------------------------------

def _read_table(path: Path) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as e:  # pandas raises many types for a malformed file
        raise BadInputError(f"cannot read {path}: {str(e).splitlines()[0]}",
                            "give a CSV with a header row or a Parquet file") from None
    columns = [str(c) for c in frame.columns]
    if columns and all(_is_number(c) for c in columns):  # pandas took the first data row as the header
        raise BadInputError(f"{path} has no header row (its first line holds numbers: {', '.join(columns[:3])}…)",
                            "add a header row: the input's name, or <input>_0, <input>_1, ... per value")
    return columns, frame.to_numpy()


def _is_number(text: str) -> bool:
    """A number, also as pandas renames a repeated header cell ("0.5" twice: "0.5", "0.5.1")."""
    import re

    for candidate in (text, re.sub(r"\.\d+$", "", text)):
        try:
            float(candidate)
            return True
        except ValueError:
            continue
    return False


def read_data(path: str | Path, spec: ModelSpec) -> dict[str, np.ndarray]:
    """The user's arrays keyed by input name, not yet checked."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"data file {path} not found", "pass --data with an existing .npz/.npy/.csv/.parquet")
    suffix = path.suffix.lower()
    names = [t.name for t in spec.inputs]
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if len(names) == 1 and names[0] not in arrays and len(arrays) == 1:
                arrays = {names[0]: next(iter(arrays.values()))}
            return arrays
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".parquet"):
            columns, table = _read_table(path)
            if len(names) > 1:  # one column group per input, named "<input>" or "<input>_<i>"
                out = {}
                for t in spec.inputs:
                    idx = [i for i, c in enumerate(columns) if c == t.name or c.startswith(t.name + "_")]
                    if not idx:
                        raise BadInputError(f"{path} has no column for input '{t.name}'",
                                            f"name columns {t.name} or {t.name}_0, {t.name}_1, ...")
                    out[t.name] = table[:, idx]
                return out
            array = table
        else:
            raise BadInputError(f"unsupported data file type '{suffix}'", "use .npz, .npy, .csv or .parquet")
    except ValueError as e:  # numpy: pickled objects, corrupt file
        raise BadInputError(f"cannot read {path}: {e}", "save arrays with numpy.save/savez") from None
    if len(names) != 1:
        raise BadInputError(f"the model has {len(names)} inputs but {path.name} holds one array",
                            f"use an .npz with arrays named {', '.join(names)}")
    return {names[0]: array}


def check_data(arrays: dict[str, np.ndarray], spec: ModelSpec, source: str = "--data") -> dict[str, np.ndarray]:
    """Match the user's arrays to the signature: names, rank, fixed dims, dtype; one-line errors."""
    missing = [t.name for t in spec.inputs if t.name not in arrays]
    if missing:
        raise BadInputError(f"{source} lacks input{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                            f"provide arrays named {', '.join(t.name for t in spec.inputs)}")
    out, rows = {}, set()
    for t in spec.inputs:
        a = np.asarray(arrays[t.name])
        want = tuple(t.shape)
        if a.ndim == len(want) - 1 and len(want) >= 2 and a.ndim >= 1 and len(want) == 2 and want[1] == 1:
            a = a[:, None]
        if a.ndim != len(want) and a.ndim == 2 and len(want) > 2 and None not in want[1:]:
            # flat CSV rows for an N-d input
            if a.shape[1] == int(np.prod(want[1:])):
                a = a.reshape((a.shape[0],) + tuple(want[1:]))
        if a.ndim != len(want) or any(w is not None and w != g for w, g in zip(want[1:], a.shape[1:])):
            shown = "(" + ", ".join("N" if d is None else str(d) for d in want) + ")"
            raise BadInputError(f"{source}: input '{t.name}' has shape {a.shape}, the model expects {shown}",
                                "reshape the data to the model's input shape")
        if is_string(t.dtype):
            if a.dtype.kind not in "OUS":
                raise BadInputError(f"{source}: input '{t.name}' has dtype {a.dtype}, the model expects strings",
                                    "give text values for this input")
            out[t.name] = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in a.ravel()],
                                   dtype=str).reshape(a.shape)
            rows.add(a.shape[0])
            continue
        dtype = np.dtype(t.dtype)
        if a.dtype.kind == "O":  # a table column that mixes types, or numbers held as objects
            try:
                a = a.astype("float64")
            except (TypeError, ValueError):
                pass
        if a.dtype.kind not in "biuf":
            raise BadInputError(f"{source}: input '{t.name}' has dtype {a.dtype}, the model expects {dtype}",
                                "give numeric arrays")
        if dtype.kind in "iu" and a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise BadInputError(f"{source}: input '{t.name}' holds fractions, the model expects {dtype} ids",
                                    "give integer ids")
        out[t.name] = a.astype(dtype)
        rows.add(a.shape[0])
    if len(rows) > 1:
        raise BadInputError(f"{source}: inputs have different row counts {sorted(rows)}", "give every input the same rows")
    if rows == {0}:
        raise BadInputError(f"{source} holds no rows", "give at least one row")
    return out


def user_cases(path: str | Path, spec: ModelSpec) -> list[Case]:
    data = check_data(read_data(path, spec), spec, source=str(path))
    n = next(iter(data.values())).shape[0]
    cases = [Case("batch=1", {k: v[:1] for k, v in data.items()})]
    if n > 1:
        cases.append(Case(f"batch={n}", data))
    return cases


def make_cases(spec: ModelSpec, data: Any = None, batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH),
               seed: int = 0, model: Any = None) -> list[Case]:
    """``data`` may be a path, a dict of arrays, one array (single input) or None (synthetic, drawn
    with ``model``'s lookup vocabularies when given)."""
    if data is None:
        return synthetic_cases(spec, tuple(batch_sizes), seed, model)
    if isinstance(data, (str, Path)):
        return user_cases(data, spec)
    arrays = data if isinstance(data, dict) else {spec.inputs[0].name: data}
    data = check_data(arrays, spec, source="data")
    n = next(iter(data.values())).shape[0]
    cases = [Case("batch=1", {k: v[:1] for k, v in data.items()})]
    if n > 1:
        cases.append(Case(f"batch={n}", data))
    return cases
