"""How Keras tensors map onto PMML fields, read from a PMML artifact's ``details``.

The layout is written by the converter (see the top of ``modelport/convert/pmml/__init__.py``):
``inputs`` maps each Keras input to its PMML fields (row-major flattening), ``outputs`` maps each
Keras output to the ``OutputField`` names whose columns, stacked in order, form the Keras array, and
``documents`` lists the PMML files (one, or one per head group inside a directory). Every PMML
runtime (jpmml, pmml4s, java) shares this code so they feed and read fields identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import BadInputError


@dataclass(frozen=True)
class Document:
    path: Path
    outputs: tuple[str, ...]  # Keras output names read from this document
    result_fields: tuple[str, ...]  # the OutputFields to read, in output order


@dataclass(frozen=True)
class PmmlLayout:
    documents: tuple[Document, ...]
    inputs: dict[str, tuple[tuple[str, ...], str]]  # Keras input -> (PMML fields, dtype)
    outputs: dict[str, dict[str, Any]]  # Keras output -> {"fields", "shape", "kind", ...}

    @classmethod
    def from_artifact(cls, artifact: Any) -> PmmlLayout:
        details = getattr(artifact, "details", None) or {}
        path = Path(artifact.path)
        if "inputs" not in details or "outputs" not in details:
            raise BadInputError(
                f"the PMML artifact {path} has no field layout in its details",
                "convert the model with modelport, or pass the manifest's artifact entry",
            )
        inputs = {
            name: (tuple(spec["fields"]), spec.get("dtype", "double")) for name, spec in details["inputs"].items()
        }
        outputs = {name: dict(spec) for name, spec in details["outputs"].items()}
        docs_spec = details.get("documents") or [{"file": "", "outputs": list(outputs)}]
        documents = []
        for index, doc in enumerate(docs_spec):
            names = tuple(doc.get("outputs") or [n for n, o in outputs.items() if o.get("document", 0) == index])
            doc_path = path / doc["file"] if doc.get("file") else path
            if not doc_path.is_file():
                raise BadInputError(f"PMML document {doc_path} does not exist", "re-run the conversion")
            fields = tuple(f for name in names for f in outputs[name]["fields"])
            documents.append(Document(doc_path, names, fields))
        return cls(tuple(documents), inputs, outputs)

    def field_columns(self, inputs: dict[str, Any]) -> tuple[int, dict[str, np.ndarray]]:
        """Flatten each Keras input row-major into one float64 column per PMML field."""
        missing = [name for name in self.inputs if name not in inputs]
        if missing:
            raise BadInputError(f"missing input(s) {', '.join(missing)}", f"the model takes {', '.join(self.inputs)}")
        n_rows = None
        columns: dict[str, np.ndarray] = {}
        for name, (fields, dtype) in self.inputs.items():
            array = np.asarray(inputs[name])
            rows = array.shape[0] if array.ndim else 1
            # a string field (a raw categorical column in front of a preprocessing) keeps its text
            flat = array.reshape(rows, -1).astype(object if dtype == "string" else np.float64, copy=False)
            if flat.shape[1] != len(fields):
                raise BadInputError(
                    f"input '{name}' has {flat.shape[1]} values per row, the PMML expects {len(fields)}",
                    f"pass an array shaped (rows, ...) with {len(fields)} values per row",
                )
            if n_rows is not None and rows != n_rows:
                raise BadInputError(
                    f"inputs have different row counts ({n_rows} and {rows})",
                    "pass the same number of rows for every input",
                )
            n_rows = rows
            for i, field in enumerate(fields):
                columns[field] = flat[:, i]
        return (n_rows or 0), columns

    def matrix(self, columns: dict[str, np.ndarray], fields: list[str], n_rows: int) -> np.ndarray:
        """A C-contiguous (rows x fields) float64 matrix of the named field columns (object when a
        string field is among them: numbers stay floats, NaN is missing)."""
        unknown = [f for f in fields if f not in columns]
        if unknown:
            raise BadInputError(
                f"the PMML needs fields the layout does not feed: {', '.join(unknown[:5])}",
                "the artifact details do not match the PMML document; re-run the conversion",
            )
        text = any(columns[f].dtype == object for f in fields)
        out = np.empty((n_rows, len(fields)), dtype=object if text else np.float64)
        for j, field in enumerate(fields):
            out[:, j] = columns[field]
        return out

    def integer_fields(self) -> set[str]:
        return {f for fields, dtype in self.inputs.values() if dtype == "integer" for f in fields}

    def assemble(self, document: Document, values: np.ndarray) -> dict[str, np.ndarray]:
        """Split one document's (rows x result_fields) matrix into Keras-shaped output arrays."""
        result: dict[str, np.ndarray] = {}
        start = 0
        n_rows = values.shape[0]
        for name in document.outputs:
            spec = self.outputs[name]
            width = len(spec["fields"])
            block = values[:, start : start + width]
            start += width
            shape = spec.get("shape")
            if shape:
                block = block.reshape((n_rows, *[int(d) for d in shape[1:]]))
            result[name] = np.ascontiguousarray(block)
        return result
