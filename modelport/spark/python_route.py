"""The ONNX and SavedModel routes, driver side: ship the model and the code once, map Arrow batches.

The artifact is copied under a content-addressed name (``<sha12>-<name>``) and registered with
``SparkContext.addFile``, so each executor downloads it once and two models with the same file
name never collide; modelport's own Python code goes to the executors as a zip (``addPyFile``), so a
cluster needs only numpy, pyarrow and the runtime (onnxruntime or tensorflow) installed.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from modelport.spark.columns import InputSource, input_exprs
from modelport.spark.routes import Plan
from modelport.spark.worker import ArrowScorer, WorkerInput, WorkerOutput, WorkerPlan, WorkerStats

_shipped: set[tuple[str, str]] = set()  # (application id, name) already added to a SparkContext
_staging: list[Path] = []


def _staging_dir() -> Path:
    if not _staging:
        _staging.append(Path(tempfile.mkdtemp(prefix="modelport-spark-")))
        atexit.register(shutil.rmtree, _staging[0], True)
    return _staging[0]


def _ship(sc: Any, name: str, make: Any, how: str = "file") -> str:
    key = (sc.applicationId, name)
    if key not in _shipped:
        path = _staging_dir() / name
        if not path.exists():
            make(path)
        {"file": sc.addFile, "archive": sc.addArchive, "code": sc.addPyFile}[how](str(path))
        _shipped.add(key)
    return name


def _zip_dir(source: Path, dest: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(source.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                z.write(p, prefix + p.relative_to(source).as_posix())


def ship_model(sc: Any, artifact: Any) -> str:
    """Register the artifact once per SparkContext; the name workers pass to ``SparkFiles.get``.

    A file goes by ``addFile``; a directory (SavedModel) as a zip by ``addArchive``, which each
    executor unpacks into a directory of that name (``addFile`` takes no directories off local mode).
    The name holds the hash of the bytes on disk (not the manifest's record of them): a file
    changed in place is a new name, so no worker keeps scoring with the model it cached before."""
    from modelport.io import sha256_path

    source = Path(artifact.path)
    name = f"{sha256_path(source)[:16]}-{source.name}"
    if source.is_dir():
        return _ship(sc, name + ".zip", lambda dest: _zip_dir(source, dest), how="archive")
    return _ship(sc, name, lambda dest: shutil.copyfile(source, dest))


def ship_code(sc: Any) -> str:
    """modelport's Python sources as a zip on the executors' sys.path."""
    import modelport

    package = Path(modelport.__file__).resolve().parent
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(package).as_posix().encode() + b"\0" + p.read_bytes())
    return _ship(sc, f"modelport-{digest.hexdigest()[:12]}.zip", lambda dest: _zip_dir(package, dest, "modelport/"),
                 how="code")


def worker_plan(plan: Plan, sources: list[InputSource], model_file: str, n_keep: int) -> WorkerPlan:
    inputs = tuple(WorkerInput(s.tensor.name, s.tensor.shape, s.tensor.dtype, s.kind,
                               len(s.columns) if s.kind == "scalars" else 1, s.tensor.nan_ok) for s in sources)
    outputs = tuple(WorkerOutput(t.name, t.width, t.scalar, t.labels, t.strings) for t in plan.outputs)
    details: dict[str, Any] = {}
    if plan.route == "savedmodel":
        d = plan.artifact.details
        keys = d.get("signature_inputs") or [t.name for t in plan.artifact.inputs]
        details = {"signature": d.get("signature", "serving_default"),
                   "keys": dict(zip([t.name for t in plan.artifact.inputs], keys))}
    return WorkerPlan(plan.route, model_file, inputs, outputs, n_keep, tuple(details.items()))


def output_schema(plan: Plan, keep_fields: list[Any]) -> Any:
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

    fields = [StructField(f"__keep{i}", f.dataType, True) for i, f in enumerate(keep_fields)]
    for t in plan.outputs:
        value = StringType() if t.strings else DoubleType() if t.scalar else ArrayType(DoubleType(), False)
        fields.append(StructField(t.name, value, True))
        if t.labels:
            fields.append(StructField(t.name + "_label", StringType(), True))
    fields.append(StructField("__error", StringType(), True))
    return StructType(fields)


def score(df: Any, plan: Plan, sources: list[InputSource], keep: list[str], error_col: str) -> tuple[Any, Any]:
    """(scored DataFrame, load-stats accumulator). Nothing runs until an action."""
    from pyspark.sql import functions as F

    sc = df.sparkSession.sparkContext
    ship_code(sc)
    model_file = ship_model(sc, plan.artifact)
    stats = sc.accumulator({}, WorkerStats())
    feed = df.select(*[F.col(f"`{k}`").alias(f"__keep{i}") for i, k in enumerate(keep)], *input_exprs(sources))
    keep_fields = [df.schema[k] for k in keep]
    scorer = ArrowScorer(worker_plan(plan, sources, model_file, len(keep)), stats)
    mapped = feed.mapInArrow(scorer, output_schema(plan, keep_fields))
    outputs = [c for t in plan.outputs for c in ([t.name] + ([t.name + "_label"] if t.labels else []))]
    final = [F.col(f"__keep{i}").alias(k) for i, k in enumerate(keep)]
    final += [F.col(f"`{c}`") for c in outputs] + [F.col("__error").alias(error_col)]
    return mapped.select(*final), stats
