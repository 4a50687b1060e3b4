"""What runs in Spark's Python workers for the ONNX and SavedModel routes (``mapInArrow``).

The model file reaches each executor once (``SparkContext.addFile``) and is loaded once per Python
worker process: ``_MODELS`` is module state, and Spark reuses a worker process for task after task
(``spark.python.worker.reuse``, on by default), so neither a batch nor a task loads it again.
Each load is counted in an accumulator (``WorkerStats``) keyed by host:pid, which is how the tests
and the CLI show it. The runtime gets as many threads as the task has cores (``spark.task.cpus``),
so N concurrent tasks on N cores never oversubscribe the machine.

A row whose input is null, of the wrong length or holds a NaN is not scored: its outputs are null
and ``modelport_error`` says why; the other rows of the batch are scored together. The exception: a
value the model's own imputer fills (``nan_ok``, from a scikit-learn source) goes in as NaN.
String inputs (a scikit-learn encoder's column) go in as numpy object arrays of str.
This module imports only numpy and pyarrow at the top: it is imported on every executor.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_MODELS: dict[str, Any] = {}


@dataclass(frozen=True)
class WorkerInput:
    name: str
    shape: tuple[int, ...]
    dtype: str
    kind: str  # "array" | "vector" (arrives as an array) | "scalars" | "strings" (one text column)
    n_columns: int  # columns in the batch: 1 for arrays, width for scalars
    nan_ok: tuple[int, ...] = ()  # positions an imputer in the model fills: NaN / null goes in as NaN

    @property
    def width(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True)
class WorkerOutput:
    name: str
    width: int
    scalar: bool
    labels: tuple[str, ...]
    strings: bool = False  # a string tensor (a scikit-learn classifier's label): a string column


@dataclass(frozen=True)
class WorkerPlan:
    route: str  # "onnx" | "savedmodel"
    model_file: str  # name registered with SparkContext.addFile
    inputs: tuple[WorkerInput, ...]
    outputs: tuple[WorkerOutput, ...]
    n_keep: int  # pass-through columns first in each batch, unchanged
    details: tuple[tuple[str, Any], ...] = ()  # savedmodel: signature name and input keys


class _Onnx:
    def __init__(self, path: str, threads: int, outputs: list[str]):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep
        options.log_severity_level = 3
        self.threads = threads
        self.outputs = outputs
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds)))


class _SavedModel:
    def __init__(self, path: str, threads: int, outputs: list[str], details: dict[str, Any]):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self.tf = tf
        self.threads = threads
        self.outputs = outputs
        self.fn = tf.saved_model.load(path).signatures[details.get("signature", "serving_default")]
        self.keys = details.get("keys") or {}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self.fn(**{self.keys.get(k, k): self.tf.constant(v) for k, v in feeds.items()})
        return {name: result[name].numpy() for name in self.outputs}


def _load(plan: WorkerPlan, stats: Any) -> Any:
    model = _MODELS.get(plan.model_file)
    if model is not None:
        return model
    from pyspark import SparkFiles, TaskContext

    context = TaskContext.get()
    threads = max(1, int(context.cpus())) if context is not None else 1
    path = SparkFiles.get(plan.model_file)
    names = [o.name for o in plan.outputs]
    model = _Onnx(path, threads, names) if plan.route == "onnx" else _SavedModel(path, threads, names, dict(plan.details))
    _MODELS[plan.model_file] = model
    if stats is not None:
        stats.add({f"{socket.gethostname()}:{os.getpid()}": {"loads": 1, "threads": threads}})
    return model


def _matrix(batch: Any, start: int, spec: WorkerInput, messages: np.ndarray) -> np.ndarray:
    """(rows, width) float64 values of one input; rows that cannot be scored get a message."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    if spec.kind == "strings":
        # onnxruntime takes a tensor(string) as a numpy object array of str. A null would need the
        # model's own missing-value marker; no converter tested here has one, so the row is not scored.
        values = np.asarray(batch.column(start).to_pylist(), dtype=object).reshape(n, 1)
        for i in np.flatnonzero(values[:, 0] == None):  # noqa: E711  (element-wise)
            if messages[i] is None:
                messages[i] = f"input '{spec.name}' is null"
            values[i, 0] = ""
        return values
    if spec.kind == "scalars":
        cols = [batch.column(start + k) for k in range(spec.n_columns)]
        matrix = np.column_stack([c.to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for c in cols]) \
            if cols else np.empty((n, 0))
    else:
        col = batch.column(start)
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        lengths = pc.fill_null(pc.list_value_length(col), -1).to_numpy(zero_copy_only=False)
        good = valid & (lengths == spec.width)
        matrix = np.full((n, spec.width), np.nan)
        if good.all():
            matrix[:] = col.flatten().to_numpy(zero_copy_only=False).reshape(n, spec.width)
        else:
            if good.any():
                rows = col.filter(pa.array(good)).flatten().to_numpy(zero_copy_only=False)
                matrix[good] = rows.reshape(-1, spec.width)
            for i in np.flatnonzero(~good):
                if messages[i] is None:
                    messages[i] = (f"input '{spec.name}' is null" if not valid[i] else
                                   f"input '{spec.name}' has {lengths[i]} values, expected {spec.width}")
            matrix[~good] = 0.0  # not scored; keeps the NaN check below from masking the real reason
    checked = np.ones(matrix.shape[1], bool)
    checked[list(spec.nan_ok)] = False  # NaN (or null, which arrives as NaN) is the imputer's to fill
    bad = np.isnan(matrix[:, checked]).any(axis=1)
    for i in np.flatnonzero(bad):
        if messages[i] is None:
            messages[i] = f"input '{spec.name}' has a null or NaN value"
    return matrix


def _output_array(values: np.ndarray, ok: np.ndarray, output: WorkerOutput) -> Any:
    import pyarrow as pa

    n = ok.shape[0]
    mask = None if ok.all() else pa.array(~ok)
    if output.strings:
        return pa.array(values.reshape(n), type=pa.string(), mask=None if ok.all() else ~ok)
    if output.scalar:
        return pa.array(values.reshape(n), type=pa.float64(), mask=None if ok.all() else ~ok)
    offsets = pa.array(np.arange(0, (n + 1) * output.width, output.width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), type=pa.float64()), mask=mask)


def score_batch(plan: WorkerPlan, model: Any, batch: Any) -> Any:
    import pyarrow as pa

    n = batch.num_rows
    messages = np.full(n, None, dtype=object)
    feeds, start = {}, plan.n_keep
    for spec in plan.inputs:
        feeds[spec.name] = _matrix(batch, start, spec, messages)
        start += spec.n_columns
    ok = np.array([m is None for m in messages], dtype=bool) if n else np.ones(0, bool)
    rows = np.flatnonzero(ok)
    outs = {o.name: np.full((n, o.width), None, dtype=object) if o.strings else np.full((n, o.width), np.nan)
            for o in plan.outputs}
    if rows.size:
        chosen = {s.name: feeds[s.name][rows].reshape((rows.size, *s.shape)).astype(
            object if s.kind == "strings" else s.dtype) for s in plan.inputs}
        for name, value in model.run(chosen).items():
            outs[name][rows] = np.asarray(value, dtype=outs[name].dtype).reshape(rows.size, -1)
    arrays = [batch.column(i) for i in range(plan.n_keep)]
    for output in plan.outputs:
        arrays.append(_output_array(outs[output.name], ok, output))
        if output.labels:
            labels = np.asarray(output.labels, dtype=object)[np.argmax(np.nan_to_num(outs[output.name]), axis=1)]
            arrays.append(pa.array(np.where(ok, labels, None), type=pa.string()))
    arrays.append(pa.array(messages, type=pa.string()))
    names = [batch.schema.names[i] for i in range(plan.n_keep)]
    for output in plan.outputs:
        names += [output.name] + ([output.name + "_label"] if output.labels else [])
    return pa.RecordBatch.from_arrays(arrays, names=[*names, "__error"])


class WorkerStats:
    """Accumulator param: ``{"host:pid": {"loads": n, "threads": t}}`` merged across tasks."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, a: dict, b: dict) -> dict:  # noqa: N802  (pyspark's name)
        merged = {k: dict(v) for k, v in a.items()}
        for key, value in b.items():
            entry = merged.setdefault(key, {"loads": 0, "threads": 0})
            entry["loads"] += value.get("loads", 0)
            entry["threads"] = max(entry["threads"], value.get("threads", 0))
        return merged


class ArrowScorer:
    """The function handed to ``DataFrame.mapInArrow``: an iterator of batches in, scored batches out."""

    def __init__(self, plan: WorkerPlan, stats: Any = None):
        self.plan = plan
        self.stats = stats

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        model = None
        for batch in batches:
            if model is None:
                model = _load(self.plan, self.stats)
            yield score_batch(self.plan, model, batch)
