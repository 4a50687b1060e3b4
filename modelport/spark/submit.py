"""The Java job (``modelport/_java/spark/ScoreSpark.java``): build its jar, print its spark-submit command.

``job_jar()`` compiles the source with ``javac`` against the pyspark wheel's ``jars/`` and the
JPMML-Evaluator-Spark jars and packs ``modelport-spark-job.jar`` into the cache (keyed by the
source's hash, built beside and renamed, like the PMML helper classes). A Java team builds the same
file in its own build instead (docs/spark.md gives the coordinates).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from modelport.errors import BadInputError
from modelport.spark.routes import Plan

JOB_CLASS = "ScoreSpark"


def job_source() -> Path:
    return Path(__file__).resolve().parent.parent / "_java" / "spark" / f"{JOB_CLASS}.java"


def job_jar() -> Path:
    """The compiled job jar (built on first use; needs javac and jar from a JDK)."""
    from modelport.runtimes._jvm import cache_root, java_tool
    from modelport.spark.session import jpmml_spark_jars, spark_home

    source = job_source()
    jars = sorted(str(p) for p in (Path(spark_home()) / "jars").glob("*.jar")) + jpmml_spark_jars()
    key = hashlib.sha256(source.read_bytes() + "\0".join(Path(j).name for j in jars).encode()).hexdigest()[:16]
    dest = cache_root() / "spark-job" / key / "modelport-spark-job.jar"
    if dest.is_file():
        return dest
    javac, jar_tool = java_tool("javac"), java_tool("jar")
    dest.parent.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent.parent))
    try:
        classes = work / "classes"
        proc = subprocess.run([javac, "-nowarn", "-encoding", "UTF-8", "-d", str(classes), "-cp", os.pathsep.join(jars),
                               str(source)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"javac failed compiling {source}:\n{proc.stderr}")
        out = work / "jar" / dest.name
        out.parent.mkdir()
        proc = subprocess.run([jar_tool, "cf", str(out), "-C", str(classes), "."], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"jar failed packing {classes}:\n{proc.stderr}")
        try:
            os.rename(out.parent, dest.parent)
        except OSError:
            if not dest.is_file():  # lost a race to a complete build: fine
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def submit_command(plan: Plan, input_path: str, output: str, *, master: str | None = None,
                   conf: dict[str, str] | None = None, keep: list[str] | None = None,
                   input_format: str | None = None, output_format: str | None = None,
                   force: bool = False, allow_row_errors: bool = False) -> list[str]:
    """The spark-submit argv that scores ``input_path`` with the plan's PMML artifact, in the JVM only."""
    from modelport.runtimes._pmml_layout import PmmlLayout
    from modelport.spark.session import DEFAULT_MASTER, jpmml_spark_jars, spark_home

    if plan.route != "pmml":
        raise BadInputError(f"the Java job scores PMML, not {plan.route}",
                            "convert with --to pmml and leave out --via (or pass --via pmml)")
    layout = PmmlLayout.from_artifact(plan.artifact)
    cmd = [str(Path(spark_home()) / "bin" / "spark-submit"), "--master", master or DEFAULT_MASTER]
    for key, value in (conf or {}).items():
        cmd += ["--conf", f"{key}={value}"]
    cmd += ["--class", JOB_CLASS, "--jars", ",".join(jpmml_spark_jars()), str(job_jar()),
            "--pmml", ",".join(str(Path(d.path).resolve()) for d in layout.documents),
            "--input", input_path, "--output", output]
    for tensor in plan.inputs:
        cmd += ["--array", f"{tensor.name}={','.join(tensor.fields)}"]
    if keep:
        cmd += ["--keep", ",".join(keep)]
    if input_format:
        cmd += ["--input-format", input_format]
    if output_format:
        cmd += ["--output-format", output_format]
    return cmd + (["--force"] if force else []) + (["--allow-row-errors"] if allow_row_errors else [])


def render(cmd: list[str]) -> str:
    return shlex.join(cmd)
