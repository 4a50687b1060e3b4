"""Spark as a validation runtime: the artifact scored through its Spark route, as ``modelport score`` does.

``validate --runtimes spark`` sends each validation case through Spark — ONNX and SavedModel in the
Python workers, PMML inside the Spark JVM — and compares with Keras like any runtime. It runs only
when asked for (starting Spark costs seconds). The session is the process's active SparkSession,
or a new one on $MODELPORT_SPARK_MASTER (default ``local[*]``) with $MODELPORT_SPARK_CONF
("k=v,k=v"): that is how the tests validate on a standalone cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FORMATS = ("onnx", "pmml", "savedmodel")  # the formats with a Spark route


def unavailable() -> str | None:
    from modelport.spark.session import unavailable as why

    return why()


class SparkRouteSession:
    def __init__(self, artifact: Any):
        from modelport.spark.routes import plan_for
        from modelport.spark.session import env_settings, get_session

        master, conf = env_settings()
        self.spark = get_session(master, conf)
        self.plan = plan_for(artifact)
        self.runtime = "spark"

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import pyarrow as pa

        from modelport.spark.scoring import score_dataframe

        n = len(next(iter(inputs.values())))
        arrays, names = [pa.array(np.arange(n, dtype=np.int64))], ["__row"]
        for tensor in self.plan.inputs:
            flat = np.ascontiguousarray(np.asarray(inputs[tensor.name]).reshape(n, -1))
            offsets = pa.array(np.arange(0, (n + 1) * flat.shape[1], flat.shape[1], dtype=np.int32))
            arrays.append(pa.ListArray.from_arrays(offsets, pa.array(flat.reshape(-1))))
            names.append(tensor.name)
        df = self.spark.createDataFrame(pa.table(arrays, names=names))
        scored = score_dataframe(df, self.plan, keep=["__row"]).df
        table = scored.toArrow().sort_by("__row")
        errors = [e for e in table.column("modelport_error").to_pylist() if e is not None]
        if errors:
            raise RuntimeError(f"{len(errors)} row(s) failed on Spark, e.g. {errors[0]}")
        out = {}
        for tensor in self.plan.outputs:
            column = table.column(tensor.name).combine_chunks()
            values = column.to_numpy() if tensor.scalar else column.flatten().to_numpy()
            out[tensor.name] = np.asarray(values, dtype=np.float64).reshape((n, *tensor.shape))
        return out


def load(artifact: Any) -> SparkRouteSession:
    return SparkRouteSession(artifact)
