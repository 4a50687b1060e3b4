"""Which artifact scores on Spark, and what its tensors look like as columns.

Routes are named after the artifact format they run (``--via`` takes the same names):

- ``onnx``: ONNX Runtime in the Python workers, over Arrow batches (``mapInArrow``);
- ``pmml``: JPMML-Evaluator-Spark inside the Spark JVM — no Python worker at all;
- ``savedmodel``: TensorFlow in the Python workers, the same way as ONNX.

Without ``--via`` the first route in ``PREFERENCE`` whose artifact the manifest lists is used:
ONNX first because it measured fastest (benchmarks/bench_spark.py), then PMML, then SavedModel
(TensorFlow costs every Python worker about a second and half a gigabyte to import).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError

PREFERENCE = ("onnx", "pmml", "savedmodel")
PYTHON_ROUTES = ("onnx", "savedmodel")


@dataclass(frozen=True)
class TensorColumns:
    """One Keras tensor as it travels through Spark: ``width`` values per row, row-major."""

    name: str
    shape: tuple[int, ...]  # without the batch dimension
    dtype: str = "float32"
    fields: tuple[str, ...] = ()  # PMML field names (inputs) or OutputField names (outputs)
    labels: tuple[str, ...] = ()  # class labels of a classifier output, in probability order
    predicted: str | None = None  # the PMML OutputField holding the predicted label
    nan_ok: tuple[int, ...] = ()  # positions a missing value may reach the model at (an imputer fills them)

    @property
    def width(self) -> int:
        return int(math.prod(self.shape)) if self.shape else 1

    @property
    def strings(self) -> bool:
        """A text input or output (a scikit-learn encoder's column, a string class label)."""
        return self.dtype == "string"

    @property
    def scalar(self) -> bool:
        """A single value per row becomes a plain double column, not an array."""
        return self.width == 1


@dataclass(frozen=True)
class Plan:
    route: str  # "onnx" | "pmml" | "savedmodel"
    artifact: Any  # modelport.convert.base.Artifact
    inputs: tuple[TensorColumns, ...]
    outputs: tuple[TensorColumns, ...]

    @property
    def in_jvm(self) -> bool:
        return self.route == "pmml"


def _fixed(shape: tuple, what: str) -> tuple[int, ...]:
    dims = tuple(shape[1:])
    if any(d is None for d in dims):
        raise BadInputError(f"{what} has a variable dimension {list(shape)}",
                            "Spark scoring needs fixed shapes (one flattened array per row)")
    return tuple(int(d) for d in dims)


def _nan_ok(name: str, width: int, fields: tuple[str, ...], imputed: set[str], columns: list[str]) -> tuple[int, ...]:
    """Positions of ``tensor`` whose source column an imputer fills: by field name, by the tensor's own
    name (one input per column), or by the source's column order (one input holding every column)."""
    names = fields or ((name,) if name in columns else tuple(columns))
    if len(names) != width:
        return ()  # no reliable mapping: every value must be present
    return tuple(k for k, name in enumerate(names) if name in imputed)


def plan_for(artifact: Any, layout: dict[str, Any] | None = None, source_columns: list[dict] | None = None) -> Plan:
    """The plan for one artifact; ``layout`` is a PMML artifact's details (field names, labels),
    ``source_columns`` the manifest's scikit-learn columns (which accept a missing value)."""
    if artifact.format not in PREFERENCE:
        raise BadInputError(f"format '{artifact.format}' has no Spark route", f"use one of: {', '.join(PREFERENCE)}")
    layout = layout if layout is not None else (artifact.details if artifact.format == "pmml" else None)
    pin = (layout or {}).get("inputs", {})
    pout = (layout or {}).get("outputs", {})
    imputed = {c["name"] for c in source_columns or () if c.get("accepts_nan")}
    names = [c["name"] for c in source_columns or ()]
    inputs = []
    for t in artifact.inputs:
        fields = tuple(pin.get(t.name, {}).get("fields", ()))
        shape = _fixed(t.shape, f"input '{t.name}'")
        inputs.append(TensorColumns(t.name, shape, t.dtype, fields,
                                    nan_ok=_nan_ok(t.name, math.prod(shape), fields, imputed, names) if imputed else ()))
    outputs = []
    for t in artifact.outputs:
        spec = pout.get(t.name, {})
        outputs.append(TensorColumns(t.name, _fixed(t.shape, f"output '{t.name}'"), t.dtype,
                                     tuple(spec.get("fields", ())), tuple(spec.get("labels") or ()),
                                     spec.get("predicted")))
    if artifact.format == "pmml" and not layout:
        raise BadInputError(f"the PMML artifact {artifact.path} has no field layout",
                            "score the output directory of `modelport convert` (its manifest has the layout)")
    return Plan(artifact.format, artifact, tuple(inputs), tuple(outputs))


def choose(artifacts_dir: str | Path, via: str | None = None) -> Plan:
    """Read the manifest in ``artifacts_dir`` and pick the route (``via`` forces one)."""
    from modelport import manifest as mf

    path = Path(artifacts_dir)
    if not path.exists():
        raise BadInputError(f"{path} does not exist", "pass the output directory of `modelport convert`")
    data = mf.read(path)
    found = {a.format: a for a in mf.artifacts(data, mf.manifest_path(path).parent)}
    if via is not None and via not in PREFERENCE:
        raise BadInputError(f"unknown route '{via}'", f"--via takes one of: {', '.join(PREFERENCE)}")
    if via is not None and via not in found:
        raise BadInputError(f"{path} has no {via} artifact (it has: {', '.join(sorted(found)) or 'none'})",
                            f"convert with --to {via}, or leave out --via")
    choice = via or next((f for f in PREFERENCE if f in found), None)
    if choice is None:
        raise BadInputError(f"{path} has no artifact Spark can score (it has: {', '.join(sorted(found)) or 'none'})",
                            "convert with --to onnx or --to pmml")
    artifact = found[choice]
    if not Path(artifact.path).exists():
        raise BadInputError(f"{artifact.path} is listed in the manifest but missing", "re-run `modelport convert`")
    layout = found["pmml"].details if "pmml" in found else None
    return plan_for(artifact, layout, (data.get("source") or {}).get("columns"))
