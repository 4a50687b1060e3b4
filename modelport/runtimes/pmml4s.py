"""PMML4S through pypmml, scoring a batch per call.

pypmml keeps one JVM gateway per Python process (its ``PMMLContext`` singleton); every session
shares it. modelport gives it pypmml's own JPype gateway on the process's one JVM (the one JPMML
and the plain Java program use, started with PMML4S's jars), so a run starts one JVM, not two; when
another library started that JVM without them, pypmml starts its default py4j gateway JVM. The batch goes over as one JSON string built with ``json.dumps`` (floats via ``repr``,
so every double survives), not as a DataFrame: pypmml serialises DataFrames with ``to_json``, which
keeps only 10 significant digits. Very large batches are sent in a few chunks to keep each JSON
string to a few tens of MB.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.runtimes._pmml_layout import PmmlLayout

MAX_VALUES_PER_CALL = 1_000_000  # ~20 MB of JSON per call


@dataclass
class Pmml4sSession:
    layout: PmmlLayout
    _models: list[Any]  # one pypmml.Model per document
    timings: dict[str, float] = field(default_factory=dict)
    runtime: str = "pmml4s"

    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        n_rows, columns = self.layout.field_columns(inputs)
        integer_fields = self.layout.integer_fields()
        outputs: dict[str, np.ndarray] = {}
        for document, model in zip(self.layout.documents, self._models, strict=False):
            fields = [str(name) for name in model.inputNames]
            strings = self.layout.string_fields()
            matrix = self.layout.matrix({k: v for k, v in columns.items() if k not in strings},
                                        [f for f in fields if f not in strings], n_rows) if not strings else None
            is_int = [f in integer_fields for f in fields]
            wanted = list(document.result_fields)
            values = np.empty((n_rows, len(wanted)), dtype=np.float64)
            step = max(1, MAX_VALUES_PER_CALL // max(1, len(fields)))
            for start in range(0, n_rows, step):
                if matrix is not None:
                    rows = [_json_row(row, is_int) for row in matrix[start : start + step].tolist()]
                else:  # string fields: each row from its columns, text as text
                    rows = [[_json_value(columns[f][r], f in strings, i) for f, i in zip(fields, is_int, strict=True)]
                            for r in range(start, min(n_rows, start + step))]
                reply = json.loads(str(model.predict(json.dumps({"columns": fields, "data": rows}))))
                values[start : start + step] = _pick(reply, wanted, document.path, self.layout.labels())
            outputs.update(self.layout.assemble(document, values))
        return outputs


def _json_row(row: list[float], is_int: list[bool]) -> list[Any]:
    # JSON has no NaN: a missing value is null. Integer (categorical) fields go as ints.
    return [None if math.isnan(v) else (int(v) if i else v) for v, i in zip(row, is_int, strict=False)]


def _json_value(value: Any, is_string: bool, is_int: bool) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if is_string:
        return str(value)
    return int(value) if is_int else float(value)


def _pick(reply: dict[str, Any], wanted: list[str], path: Any, labels: dict[str, list[str]] | None = None) -> np.ndarray:
    index = {name: i for i, name in enumerate(reply["columns"])}
    absent = [name for name in wanted if name not in index]
    if absent:
        raise RuntimeError(f"PMML4S returned no field(s) {', '.join(absent)} for {path}; it returned {list(index)}")
    codes = {name: {label: i for i, label in enumerate(values)} for name, values in (labels or {}).items()}
    picked = [[_code(row[index[name]], codes.get(name)) for name in wanted] for row in reply["data"]]
    return np.array(picked, dtype=np.float64)  # null -> nan


def unavailable() -> str | None:
    """Why this runtime cannot run here (no Java), or None: validation and the gate then skip it."""
    from modelport.runtimes import _jvm

    return _jvm.unavailable(helpers=False)


def load(artifact: Any) -> Pmml4sSession:
    from modelport.runtimes._jvm import JVM_OPTIONS, java_tool, pmml4s_gateway

    layout = PmmlLayout.from_artifact(artifact)
    java_tool("java")  # pypmml launches `java`; say how to install it instead of a py4j trace
    t0 = time.perf_counter()
    from pypmml import Model
    from pypmml.base import PMMLContext

    if PMMLContext._gateway is None:
        gateway = pmml4s_gateway()
        if gateway is not None:
            PMMLContext(gateway_instance=gateway)
    PMMLContext.getOrCreate(java_opts=list(JVM_OPTIONS))  # the gateway, started once per process

    models = []
    for document in layout.documents:
        try:
            models.append(Model.fromFile(str(document.path)))
        except Exception as exc:  # py4j wraps the Scala error; keep only its first line
            from modelport.errors import BadInputError

            lines = str(exc).splitlines()
            reason = next((ln[2:] for ln in lines if ln.startswith(": ")), lines[0] if lines else repr(exc))
            raise BadInputError(
                f"PMML4S cannot load {document.path}: {reason}",
                "check the file with modelport.runtimes.pmml_xsd.validate_pmml",
            ) from exc
    return Pmml4sSession(layout, models, {"load_s": time.perf_counter() - t0})


def _code(value: Any, labels: dict[str, int] | None) -> Any:
    """A class label as its index among the layout's labels (the layout turns it back)."""
    if labels is None or value is None:
        return value
    return labels[str(value)]
