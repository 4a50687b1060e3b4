"""``modelport score OUT_DIR --input DATA --output SCORED [--via R] [--master M] [--conf k=v]``: score on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import app


@app.command()
def score(
    artifacts: Annotated[Path, typer.Argument(help="Output directory of `modelport convert` (holds modelport.json).", show_default=False)],
    input: Annotated[str, typer.Option("--input", "-i", help="Data to score: a path or any Hadoop URI (s3a://, hdfs://); parquet, csv, orc or json.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Where the scored rows go (format from the suffix, parquet otherwise).", show_default=False)],
    via: Annotated[str | None, typer.Option("--via", help="Route: onnx (ONNX Runtime in Python workers), pmml (JPMML in the Spark JVM), savedmodel (TensorFlow in Python workers) [default: from the manifest: onnx, pmml, savedmodel].", show_default=False)] = None,
    master: Annotated[str | None, typer.Option("--master", help="Spark master: local[N], spark://host:7077, yarn, k8s://... [default: local[*]].", show_default=False)] = None,
    conf: Annotated[list[str] | None, typer.Option("--conf", help="Spark setting key=value, passed through (repeatable).", show_default=False)] = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help="Input columns to pass through, e.g. ids (comma separated, repeatable).", show_default=False)] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Map a model input to a column: INPUT=COLUMN (repeatable).", show_default=False)] = None,
    feature_names: Annotated[str | None, typer.Option("--feature-names", help="Scalar columns forming a single flat input, comma separated [default: the PMML field names].", show_default=False)] = None,
    input_format: Annotated[str | None, typer.Option("--input-format", help="parquet, csv, orc or json [default: from the suffix].", show_default=False)] = None,
    output_format: Annotated[str | None, typer.Option("--output-format", help="parquet, csv, orc or json [default: from the suffix].", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    allow_row_errors: Annotated[bool, typer.Option("--allow-row-errors", help="Exit 0 even when some rows could not be scored.")] = False,
    print_spark_submit: Annotated[bool, typer.Option("--print-spark-submit", help="Print the spark-submit command of the Java job (PMML, no Python) instead of running.")] = False,
) -> None:
    """Score a dataset on Apache Spark with the converted artifacts (needs modelport[spark] and Java).

    Output: the --keep columns, one column per model output, <output>_label for classifiers with
    class labels, and modelport_error (null, or why that row could not be scored: null, NaN or
    wrong-length input). Exit 0 ok; 1 when rows failed (the output is still written; see
    --allow-row-errors) or the job failed; 2 bad input (missing column, existing output without --force).
    """
    from modelport.cli._reporting import split
    from modelport.spark.session import parse_conf

    settings = parse_conf(conf)
    kept = split(keep) or []
    names = split([feature_names]) if feature_names else None
    if print_spark_submit:
        from modelport.spark.routes import choose
        from modelport.spark.submit import render, submit_command

        cmd = submit_command(choose(artifacts, via or "pmml"), input, output, master=master, conf=settings, keep=kept,
                             input_format=input_format, output_format=output_format, force=force,
                             allow_row_errors=allow_row_errors)
        typer.echo(render(cmd))
        return
    from modelport.spark.job import JobOptions, RowErrors, run_job

    mapping = dict(_pair(c) for c in column or [])
    result = run_job(JobOptions(str(artifacts), input, output, via, master, settings, kept, mapping, names,
                                input_format, output_format, force))
    loads = result.loads
    workers = f"; model loaded {sum(v['loads'] for v in loads.values())}x in {len(loads)} Python worker(s)" if loads else ""
    typer.echo(f"scored {result.rows} rows via {result.route} into {result.output} in {result.seconds:.1f} s{workers}")
    if result.failed_rows:
        message = (f"{result.failed_rows} of {result.rows} rows could not be scored "
                   f"(their modelport_error column says why; the output is written)")
        if not allow_row_errors:
            raise RowErrors(message, "fix those input rows, or pass --allow-row-errors to accept them")
        typer.echo(f"warning: {message}", err=True)


def _pair(text: str) -> tuple[str, str]:
    from modelport.errors import BadInputError

    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise BadInputError(f"--column {text!r} is not INPUT=COLUMN", "write e.g. --column features=vec")
    return key, value
