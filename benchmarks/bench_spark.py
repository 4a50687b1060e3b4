"""Scoring on Spark (issue 12): where the time goes, per route, on 2M rows x 8 floats.

    python benchmarks/bench_spark.py [--rows 2000000] [--pmml-rows 200000] [--big-rows 50000] [--json out.json]

Model: a Keras 8->64->64->3 MLP (relu, relu, softmax; random kernels scaled x2, random biases) converted
by modelport to ONNX and PMML. Data: one parquet file with ``id`` and ``features`` (array<float>). Every
Spark job reads that parquet and writes parquet, on local[2], each timed after a warm-up run:

- plain JVM copy: read and write the same columns, no Python (what Spark costs by itself);
- pass-through mapInArrow: every batch goes to the Python workers and back unchanged (the floor any
  Python route pays: Arrow serialisation, the socket hop, the workers);
- ONNX route (``modelport.spark``): the same hop plus ONNX Runtime, the error column and the outputs
  (goal: <= 1.25x the pass-through);
- PMML route: JPMML-Evaluator-Spark in the JVM, on --pmml-rows rows (rows/s reported);
- single-process ONNX Runtime over the same parquet (pyarrow read + one session), for scale.

Then local[1] vs local[2] on a compute-bound 784-512-512-10 MLP through the ONNX route (separate
processes: a SparkContext's master is fixed), and the peak RSS (VmHWM) of the JVM and of each Python
worker — in local mode the driver JVM is the executor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_model(sizes: tuple[int, ...], path: Path, seed: int = 0) -> Path:
    import keras

    rng = np.random.default_rng(seed)
    inp = keras.Input((sizes[0],), name="features")
    x = inp
    for i, width in enumerate(sizes[1:-1]):
        x = keras.layers.Dense(width, activation="relu", name=f"dense{i}")(x)
    out = keras.layers.Dense(sizes[-1], activation="softmax", name="probs")(x)
    model = keras.Model(inp, out)
    for layer in model.layers[1:]:
        kernel, bias = layer.get_weights()
        layer.set_weights([rng.normal(0, 2 / np.sqrt(kernel.shape[0]), kernel.shape).astype("float32"),
                           rng.normal(0, 0.2, bias.shape).astype("float32")])
    model.save(path)
    return path


def write_data(path: Path, rows: int, width: int, seed: int = 1) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    x = np.random.default_rng(seed).normal(0, 1, (rows, width)).astype(np.float32)
    offsets = pa.array(np.arange(0, (rows + 1) * width, width, dtype=np.int32))
    pq.write_table(pa.table({"id": np.arange(rows), "features": pa.ListArray.from_arrays(offsets, pa.array(x.ravel()))}),
                   path, row_group_size=256 * 1024)


def vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def passthrough(batches):
    yield from batches


def timed(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def spark_cases(master: str, artifacts: Path, data: Path, pmml_rows: int, cases: list[str], work: Path) -> dict:
    from modelport.spark.routes import choose
    from modelport.spark.scoring import score_dataframe
    from modelport.spark.session import get_session

    t0 = time.perf_counter()
    # several input partitions per file (one per ~8 MB), so every core gets tasks
    spark = get_session(master, {"spark.driver.memory": "2g", "spark.sql.files.maxPartitionBytes": "8m"})
    out: dict = {"master": master, "session_start_s": time.perf_counter() - t0}
    df = spark.read.parquet(str(data))
    rows = df.count()
    out["rows"] = rows

    def write(frame, name: str) -> None:
        frame.write.mode("overwrite").parquet(str(work / name))

    jobs = {
        "jvm_copy": lambda d: d.select("id", "features"),
        "passthrough": lambda d: d.select("id", "features").mapInArrow(passthrough, d.select("id", "features").schema),
        "onnx": lambda d: score_dataframe(d, choose(artifacts, "onnx"), keep=["id"]).df,
        "pmml": lambda d: score_dataframe(d, choose(artifacts, "pmml"), keep=["id"]).df,
    }
    out["partitions"] = df.rdd.getNumPartitions()
    from pyspark.sql import functions as F

    for case in cases:  # best of 2: the first run of the first Python case also starts the workers
        source = df.where(F.col("id") % max(1, rows // pmml_rows) == 0) if case == "pmml" else df
        n = source.count() if case == "pmml" else rows
        seconds = timed(lambda case=case, source=source: write(jobs[case](source), case))
        out[case] = {"seconds": seconds, "rows": n, "rows_per_s": n / seconds}
    out["jvm_peak_mb"] = vm_hwm_mb(int(spark.sparkContext._jvm.ProcessHandle.current().pid()))
    scored = score_dataframe(df, choose(artifacts, "onnx"), keep=["id"])
    scored.df.count()
    workers = [int(k.split(":")[1]) for k in scored.loads] or []
    import subprocess as sp

    jvm_pid = int(spark.sparkContext._jvm.ProcessHandle.current().pid())
    children = sp.run(["pgrep", "-P", str(jvm_pid)], capture_output=True, text=True).stdout.split()
    daemons = [int(p) for p in children]
    python_pids = set(workers)
    for d in daemons:
        python_pids |= {int(p) for p in sp.run(["pgrep", "-P", str(d)], capture_output=True, text=True).stdout.split()}
    out["python_worker_peak_mb"] = sorted(m for m in (vm_hwm_mb(p) for p in python_pids) if m)
    spark.stop()
    return out


def single_process_ort(onnx_path: Path, data: Path) -> dict:
    import onnxruntime as ort
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = pq.read_table(data)
    x = table.column("features").combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"features": x})[0]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": table.num_rows, "rows_per_s": table.num_rows / seconds, "check": float(probs.sum())}


def child(args) -> None:
    result = spark_cases(args.master, Path(args.artifacts), Path(args.data), args.pmml_rows, args.cases.split(","),
                         Path(args.work))
    print("RESULT " + json.dumps(result))


def run_child(master: str, artifacts: Path, data: Path, cases: str, work: Path, pmml_rows: int) -> dict:
    cmd = [sys.executable, __file__, "--child", "--master", master, "--artifacts", str(artifacts), "--data", str(data),
           "--cases", cases, "--work", str(work), "--pmml-rows", str(pmml_rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pmml-rows", type=int, default=200_000)
    parser.add_argument("--big-rows", type=int, default=50_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one Spark process per master
    for name in ("--master", "--artifacts", "--data", "--cases", "--work"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    import modelport

    print(f"load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        work = Path(tmp)
        small = modelport.convert(build_model((8, 64, 64, 3), work / "mlp8.keras"), to=["onnx", "pmml"],
                                  out_dir=work / "mlp8", validate=False)
        big = modelport.convert(build_model((784, 512, 512, 10), work / "mlp784.keras", seed=2), to=["onnx"],
                                out_dir=work / "mlp784", validate=False)
        write_data(work / "data8.parquet", args.rows, 8)
        write_data(work / "data784.parquet", args.big_rows, 784, seed=3)
        onnx8 = next(a.path for a in small.artifacts if a.format == "onnx")
        results = {"rows": args.rows, "single_process_ort": single_process_ort(onnx8, work / "data8.parquet")}
        print("single-process ORT", results["single_process_ort"], flush=True)
        results["local2"] = run_child("local[2]", work / "mlp8", work / "data8.parquet", "jvm_copy,passthrough,onnx,pmml",
                                      work, args.pmml_rows)
        print("local[2]", results["local2"], flush=True)
        for master in ("local[1]", "local[2]"):
            results[f"big_{master}"] = run_child(master, work / "mlp784", work / "data784.parquet", "passthrough,onnx",
                                                 work, 0)
            print(f"784-512-512-10 {master}", results[f"big_{master}"], flush=True)
        _ = big
    local2 = results["local2"]
    ratio = local2["onnx"]["seconds"] / local2["passthrough"]["seconds"]
    results["onnx_over_passthrough"] = ratio
    results["load_average_after"] = os.getloadavg()
    print(f"\n{args.rows} rows x 8 floats, local[2] (best of 2):")
    for case in ("jvm_copy", "passthrough", "onnx"):
        print(f"  {case:12s} {local2[case]['seconds']:7.2f} s  {local2[case]['rows_per_s']:12,.0f} rows/s")
    print(f"  {'pmml':12s} {local2['pmml']['seconds']:7.2f} s  {local2['pmml']['rows_per_s']:12,.0f} rows/s "
          f"({local2['pmml']['rows']} rows)")
    sp = results["single_process_ort"]
    print(f"  single-process ORT {sp['seconds']:.2f} s  {sp['rows_per_s']:,.0f} rows/s")
    print(f"  ONNX route / pass-through = {ratio:.2f} (goal <= 1.25)")
    b1, b2 = results["big_local[1]"]["onnx"], results["big_local[2]"]["onnx"]
    print(f"784-512-512-10, {args.big_rows} rows: local[1] {b1['seconds']:.2f} s, local[2] {b2['seconds']:.2f} s "
          f"(speed-up {b1['seconds'] / b2['seconds']:.2f}x)")
    print(f"peak RSS: JVM {local2['jvm_peak_mb']:.0f} MB; Python workers {local2['python_worker_peak_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ratio <= 1.25 else 1


if __name__ == "__main__":
    sys.exit(main())
