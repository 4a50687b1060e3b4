"""Score modelport artifacts on Apache Spark: ``modelport score`` and this API.

    scored = modelport.spark.score(df, "out/")               # a DataFrame in, a DataFrame out
    stage = modelport.spark.ModelportTransformer(artifacts="out/")   # a pyspark.ml Pipeline stage

Routes (``via``): ``onnx`` (ONNX Runtime in Python workers), ``pmml`` (JPMML-Evaluator-Spark in the
JVM), ``savedmodel`` (TensorFlow in Python workers); see ``modelport.spark.routes``. Importing this
package does not import pyspark; the optional extra ``modelport[spark]`` installs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["score", "session", "ModelportTransformer"]


def score(df: Any, artifacts: str | Path, *, via: str | None = None, keep: list[str] | None = None,
          columns: dict[str, str] | None = None, feature_names: list[str] | None = None) -> Any:
    """``df`` scored by the artifacts in the output directory ``artifacts`` (lazy, like any transformation).

    ``via``: force a route; ``keep``: columns passed through (default: all); ``columns``: map a model
    input to a differently named column; ``feature_names``: N scalar columns for a single flat input."""
    from modelport.spark.routes import choose
    from modelport.spark.scoring import score_dataframe

    return score_dataframe(df, choose(artifacts, via), keep=keep, columns=columns, feature_names=feature_names).df


def session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """A SparkSession able to run every route (the active one if there is one)."""
    from modelport.spark.session import get_session

    return get_session(master, conf)


def __getattr__(name: str) -> Any:
    if name == "ModelportTransformer":  # subclasses pyspark.ml.Transformer: import pyspark only when asked
        from modelport.spark.transformer import ModelportTransformer

        return ModelportTransformer
    raise AttributeError(f"module 'modelport.spark' has no attribute {name!r}")
