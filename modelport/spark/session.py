"""The SparkSession modelport scores on: ``local[*]`` by default, any master when asked.

``get_session(master, conf)`` joins the process's active session when there is one (Spark allows
one SparkContext per process; its master cannot change), or starts one with the JPMML-Evaluator-Spark
jars on its class path (the PMML route needs them) and the workers on this interpreter.
Nothing here imports pyspark at module import time.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError

DEFAULT_MASTER = "local[*]"
# validate --runtimes spark reads these (the CLI's --master/--conf belong to `score`)
MASTER_ENV, CONF_ENV = "MODELPORT_SPARK_MASTER", "MODELPORT_SPARK_CONF"
QUIET_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
}


def unavailable() -> str | None:
    """Why Spark cannot run here, or None. Never imports pyspark or starts Java."""
    for package, extra in (("pyspark", "pyspark"), ("jpmml_evaluator_pyspark", "jpmml-evaluator-pyspark")):
        if importlib.util.find_spec(package) is None:
            return f"{extra} is not installed (pip install 'modelport[spark]')"
    from modelport.runtimes._jvm import java_tool

    try:
        java_tool("java")
    except BadInputError as e:
        return str(e)
    return None


def require() -> None:
    """Raise the one-line error when Spark cannot run: the extra is missing, or Java is (with how to install it)."""
    for package, extra in (("pyspark", "pyspark"), ("jpmml_evaluator_pyspark", "jpmml-evaluator-pyspark")):
        if importlib.util.find_spec(package) is None:
            raise BadInputError(f"Spark support is not installed ({extra} is missing)", "pip install 'modelport[spark]'")
    from modelport.runtimes._jvm import JavaUnavailableError, java_tool

    try:
        java_tool("java")
    except JavaUnavailableError:
        raise JavaUnavailableError("Spark needs Java, and 'java' was not found on PATH or in $JAVA_HOME/bin",
                                   "install Java 17, e.g. `apt-get install -y openjdk-17-jre-headless`, "
                                   "or set JAVA_HOME") from None


def jpmml_spark_jars() -> list[str]:
    """JPMML-Evaluator-Spark (for this Spark version) and its dependencies, from the wheel."""
    import jpmml_evaluator_pyspark

    return list(jpmml_evaluator_pyspark._jars())


def spark_home() -> str:
    """The pyspark wheel holds Spark itself: bin/spark-submit, bin/spark-class, jars/."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError("pyspark is not installed", "pip install 'modelport[spark]'")
    return os.environ.get("SPARK_HOME") or next(iter(spec.submodule_search_locations))


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` (CLI --conf) -> dict; a pair without '=' is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--conf {pair!r} is not key=value", "write e.g. --conf spark.executor.memory=2g")
        out[key.strip()] = value
    return out


def env_settings() -> tuple[str | None, dict[str, str]]:
    """Master and conf from MODELPORT_SPARK_MASTER / MODELPORT_SPARK_CONF ("k=v,k=v")."""
    conf = [p for p in os.environ.get(CONF_ENV, "").split(",") if p.strip()]
    return os.environ.get(MASTER_ENV) or None, parse_conf(conf)


def get_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """The active SparkSession, or a new one on ``master`` (default local[*]) with ``conf``."""
    require()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter's packages
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # the routes use mapInArrow, never pandas: pyspark's pandas>=3 notice does not apply
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:  # one SparkContext per process: join it
        return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    builder = SparkSession.builder.master(master or DEFAULT_MASTER).appName("modelport")
    settings = {**QUIET_DEFAULTS, **(conf or {})}
    if not os.environ.get("MODELPORT_DEBUG") and "spark.driver.extraJavaOptions" not in settings:
        quiet = Path(__file__).with_name("log4j2.properties")  # no INFO/WARN chatter on the CLI's stderr
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={quiet.as_uri()}"
    jars = jpmml_spark_jars()
    settings["spark.jars"] = ",".join([*jars, *[j for j in settings.get("spark.jars", "").split(",") if j]])
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("MODELPORT_SPARK_LOG_LEVEL", "ERROR"))
    return spark


def has_jpmml(spark: Any) -> bool:
    """Whether the session's JVM can load JPMML-Evaluator-Spark (a user's own session may lack it)."""
    try:
        spark.sparkContext._jvm.java.lang.Class.forName(
            "org.jpmml.evaluator.spark.FlatPMMLTransformer", True,
            spark.sparkContext._jvm.Thread.currentThread().getContextClassLoader())
        return True
    except Exception:
        return False


class _CallableModule(types.ModuleType):
    """``modelport.spark.session`` is both this module and the public ``session()`` function: importing
    the module (as ``session()`` itself, the CLI and the routes do) binds its name on ``modelport.spark``,
    shadowing the function, so calling the module gives the session."""

    def __call__(self, master: str | None = None, conf: dict[str, str] | None = None) -> Any:
        return get_session(master, conf)


sys.modules[__name__].__class__ = _CallableModule
