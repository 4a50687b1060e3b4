"""The price of unrolled PMML: document size, write time, JPMML and PMML4S rows/s against ONNX
Runtime rows/s on the same model, for a Fashion-MNIST-sized CNN (2 conv + 2 pool + dense), an
LSTM(32) over 24 steps and a GRU(32) over 24 steps. Not run in CI.

    python benchmarks/bench_pmml_unrolled.py [--rows 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def models():
    import keras

    from fixtures.pmml_cases import _randomize

    keras.utils.set_random_seed(0)
    L = keras.layers
    cnn = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(2),
                            L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                            L.Dense(10, activation="softmax")], name="cnn")
    lstm = keras.Sequential([keras.Input((24, 8)), L.LSTM(32), L.Dense(1)], name="lstm")
    gru = keras.Sequential([keras.Input((24, 8)), L.GRU(32), L.Dense(1)], name="gru")
    return {m.name: _randomize(m, 1, 0.1) for m in (cnn, lstm, gru)}


def rate(fn, rows: int, seconds: float = 5.0) -> float:
    """Rows/s after a warm-up batch (the JVM's JIT compiles the evaluator on the first rows),
    scoring batches of ``rows`` until ``seconds`` have passed."""
    fn(rows)
    done, t0 = 0, time.perf_counter()
    while True:
        fn(rows)
        done += rows
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=64)
    args = ap.parse_args()
    import modelport
    from modelport.api import convert
    from modelport.convert.base import ExportOptions
    from modelport.convert.pmml import PmmlConverter
    from modelport.convert.pmml.budget import estimate
    from modelport.runtimes import open_session
    from modelport.units import human_size

    print("| model | est. size | document | export s | export peak memory | JPMML rows/s | PMML4S rows/s | ONNX Runtime rows/s |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models().items():
            path = Path(tmp) / f"{name}.keras"
            model.save(path)
            loaded = modelport.load(path)
            result = convert(path, ["pmml", "onnx"], Path(tmp) / name, validate=False)
            arts = {a.format: a for a in result.artifacts}
            dest = Path(tmp) / f"{name}-again.pmml"
            t0 = time.perf_counter()  # the PMML export alone: build the network, stream the XML
            PmmlConverter().export(loaded.model, loaded.spec, dest, ExportOptions())
            write_s = time.perf_counter() - t0
            tracemalloc.start()  # again, traced (tracing slows it down, so not timed)
            PmmlConverter().export(loaded.model, loaded.spec, dest, ExportOptions())
            peak = tracemalloc.get_traced_memory()[1]  # Python + numpy/scipy allocations while exporting
            tracemalloc.stop()
            size = arts["pmml"].path.stat().st_size
            t = loaded.spec.inputs[0]
            x = np.random.default_rng(0).normal(size=(args.rows, *t.shape[1:])).astype(np.float32)
            speeds = []
            for runtime, fmt in (("jpmml", "pmml"), ("pmml4s", "pmml"), ("onnxruntime", "onnx")):
                session = open_session(runtime, arts[fmt])
                speeds.append(rate(lambda n, s=session, k=t.name, v=x: s.run({k: v[:n]}), args.rows))
            print(f"| {name} | {human_size(estimate(loaded.spec).bytes)} | {human_size(size)} | {write_s:.2f} | {human_size(peak)} | "
                  f"{speeds[0]:,.0f} | {speeds[1]:,.0f} | {speeds[2]:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
