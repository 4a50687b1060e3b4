"""``modelport score``'s job: read the input, score it, write the output safely, count failed rows.

The output is written under a temporary sibling name (``.<name>.modelport-tmp-<id>``) and renamed
into place only when the write finished, through Hadoop's FileSystem API so the same holds on HDFS
or an object store: a failed or killed job never leaves output under the final name. An existing
output is an error without ``force`` (checked before any job runs).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from modelport.errors import EXIT_PARITY, BadInputError, ModelportError, OutputError
from modelport.spark.columns import ERROR_COL

FORMATS = ("parquet", "csv", "orc", "json")
_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".orc": "orc", ".json": "json", ".jsonl": "json"}


class RowErrors(ModelportError):
    """Some rows could not be scored (their outputs are null, ``modelport_error`` says why)."""

    exit_code = EXIT_PARITY


class SparkJobError(ModelportError):
    """The Spark job itself failed (an executor crashed, the filesystem refused a write...)."""

    exit_code = EXIT_PARITY


@dataclass
class JobOptions:
    artifacts: str
    input: str
    output: str
    via: str | None = None
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    keep: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    feature_names: list[str] | None = None
    input_format: str | None = None
    output_format: str | None = None
    force: bool = False


@dataclass
class JobResult:
    route: str
    output: str
    rows: int
    failed_rows: int
    seconds: float
    loads: dict[str, dict[str, int]]


def data_format(path: str, given: str | None) -> str:
    """parquet/csv/orc/json from ``given`` or the path's suffix (a bare directory is parquet)."""
    if given:
        if given not in FORMATS:
            raise BadInputError(f"unknown data format '{given}'", f"choose from {', '.join(FORMATS)}")
        return given
    return _SUFFIXES.get(PurePosixPath(path.rstrip("/")).suffix.lower(), "parquet")


def _local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


class HadoopFiles:
    """exists / delete / rename on any Hadoop filesystem URI, through the session's JVM."""

    def __init__(self, spark: Any):
        self.jvm = spark.sparkContext._jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str) -> tuple[Any, Any]:
        p = self.jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self.conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p))

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def rename(self, src: str, dest: str) -> None:
        fs, p = self._fs(src)
        if not fs.rename(p, self.jvm.org.apache.hadoop.fs.Path(dest)):
            raise OutputError(f"could not rename {src} to {dest}", "check permissions on the output's directory")


def temp_sibling(output: str) -> str:
    head, _, name = output.rstrip("/").rpartition("/")
    return f"{head + '/' if head else ''}.{name}.modelport-tmp-{uuid.uuid4().hex[:12]}"


def read_input(spark: Any, path: str, fmt: str) -> Any:
    from pyspark.errors import AnalysisException

    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = reader.option("header", "true")  # columns by name; values are cast to double per field
    try:
        return reader.load(path)
    except AnalysisException as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInputError(f"cannot read {path} as {fmt}: {first}", "check the path and --input-format") from None


def flatten_arrays(df: Any, widths: dict[str, int]) -> Any:
    """CSV holds no arrays: output ``probs`` (``widths["probs"]`` values) becomes ``probs_0``, ``probs_1``, ..."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType

    exprs = []
    for f in df.schema.fields:
        if isinstance(f.dataType, ArrayType) and f.name in widths:
            exprs += [F.get(F.col(f"`{f.name}`"), i).alias(f"{f.name}_{i}") for i in range(widths[f.name])]
        else:
            exprs.append(F.col(f"`{f.name}`"))
    return df.select(*exprs)


def run_job(options: JobOptions, spark: Any = None) -> JobResult:
    """Score ``options.input`` into ``options.output``; raise RowErrors when rows failed (output kept)."""
    from modelport.spark.routes import choose
    from modelport.spark.session import get_session, require

    started = time.perf_counter()
    plan = choose(options.artifacts, options.via)
    in_fmt, out_fmt = data_format(options.input, options.input_format), data_format(options.output, options.output_format)
    require()  # one line when pyspark or Java is missing, before anything else
    if _local(options.output) and not options.force:
        from pathlib import Path

        if Path(options.output.removeprefix("file://")).exists():
            raise OutputError(f"{options.output} exists", "pass --force to replace it")
    if spark is None:
        from pyspark import SparkContext

        owned = SparkContext._active_spark_context is None  # started here: stopped here (frees a cluster's executors)
        spark = get_session(options.master, options.conf)
        if owned:
            try:
                return _run(options, plan, in_fmt, out_fmt, spark, started)
            finally:
                spark.stop()
    return _run(options, plan, in_fmt, out_fmt, spark, started)


def _run(options: JobOptions, plan: Any, in_fmt: str, out_fmt: str, spark: Any, started: float) -> JobResult:
    from modelport.spark.scoring import score_dataframe

    files = HadoopFiles(spark)
    if not options.force and files.exists(options.output):
        raise OutputError(f"{options.output} exists", "pass --force to replace it")
    df = read_input(spark, options.input, in_fmt)
    scored = score_dataframe(df, plan, keep=options.keep, columns=options.columns or None,
                             feature_names=options.feature_names)
    widths = {t.name: t.width for t in plan.outputs}
    out = flatten_arrays(scored.df, widths) if out_fmt == "csv" else scored.df
    tmp = temp_sibling(options.output)
    try:
        out.write.format(out_fmt).option("header", "true").save(tmp)
        from pyspark.sql import functions as F

        written = spark.read.format(out_fmt).option("header", "true").load(tmp)
        rows, failed = written.agg(F.count(F.lit(1)), F.count(F.col(ERROR_COL))).first()
        if options.force:
            files.delete(options.output)
        files.rename(tmp, options.output)
    except ModelportError:
        files.delete(tmp)
        raise
    except Exception as e:
        files.delete(tmp)
        if type(e).__module__.startswith(("pyspark", "py4j")):
            text = str(e).strip().splitlines()
            raise SparkJobError(f"the Spark job failed: {text[0] if text else type(e).__name__}",
                                "rerun with --debug for the Spark stack trace") from e
        raise
    return JobResult(plan.route, options.output, int(rows), int(failed), time.perf_counter() - started, scored.loads)
