"""JPMML scoring: the Python batch session vs a plain Java loop, on a 784-512-512-10 relu/softmax MLP.

    python benchmarks/bench_jpmml_scoring.py [--rows 10000] [--evaluate-all-rows 500] [--json out.json]

Reports PMML write time, JVM start, PMML load, the Python batch (``modelport.runtimes.jpmml``, one
call for all rows, timed end to end from Python including both bridge crossings) and the plain Java
program's evaluation loop over the same rows (``modelport/_java/ScorePmml.java``, timed inside Java), their
ratio (target: Python batch <= 2x plain Java), and, for reference, jpmml_evaluator's own
``evaluateAll(DataFrame)`` on a subset. Also checks that all paths give the same numbers.
The PMML is generated here with NumPy and a string join so the benchmark needs no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelport.convert.base import Artifact  # noqa: E402
from modelport.runtimes import java as java_runtime  # noqa: E402
from modelport.runtimes import jpmml  # noqa: E402
from modelport.spec import TensorSpec  # noqa: E402

SIZES = (784, 512, 512, 10)


def build_pmml(path: Path, seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
    rng = np.random.default_rng(seed)
    weights = [
        (rng.normal(scale=1 / np.sqrt(a), size=(a, b)), rng.normal(scale=0.1, size=b))
        for a, b in zip(SIZES, SIZES[1:], strict=False)
    ]
    fields = [f"pixel_{i}" for i in range(SIZES[0])]
    labels = [str(k) for k in range(SIZES[-1])]
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">'
        "<Header/><DataDictionary>"
    ]
    parts += [f'<DataField name="{f}" optype="continuous" dataType="double"/>' for f in fields]
    parts.append('<DataField name="y" optype="categorical" dataType="string">')
    parts += [f'<Value value="{c}"/>' for c in labels]
    parts.append(
        '</DataField></DataDictionary><NeuralNetwork functionName="classification" '
        'activationFunction="rectifier"><MiningSchema><MiningField name="y" usageType="target"/>'
    )
    parts += [f'<MiningField name="{f}"/>' for f in fields]
    parts.append("</MiningSchema><Output>")
    parts += [
        f'<OutputField name="probability({c})" optype="continuous" dataType="double" feature="probability" '
        f'value="{c}"/>'
        for c in labels
    ]
    parts.append("</Output><NeuralInputs>")
    parts += [
        f'<NeuralInput id="i{i}"><DerivedField optype="continuous" dataType="double"><FieldRef field="{f}"/>'
        "</DerivedField></NeuralInput>"
        for i, f in enumerate(fields)
    ]
    parts.append("</NeuralInputs>")
    ids = [f"i{i}" for i in range(SIZES[0])]
    for li, (w, b) in enumerate(weights):
        last = li == len(weights) - 1
        parts.append(
            '<NeuralLayer activationFunction="identity" normalizationMethod="softmax">' if last else "<NeuralLayer>"
        )
        for j in range(w.shape[1]):
            parts.append(f'<Neuron id="l{li}n{j}" bias="{float(b[j])!r}">')
            parts.append(
                "".join(f'<Con from="{src}" weight="{wt!r}"/>' for src, wt in zip(ids, w[:, j].tolist(), strict=False))
            )
            parts.append("</Neuron>")
        parts.append("</NeuralLayer>")
        ids = [f"l{li}n{j}" for j in range(w.shape[1])]
    parts.append("<NeuralOutputs>")
    parts += [
        f'<NeuralOutput outputNeuron="{n}"><DerivedField optype="categorical" dataType="string">'
        f'<NormDiscrete field="y" value="{c}"/></DerivedField></NeuralOutput>'
        for n, c in zip(ids, labels, strict=False)
    ]
    parts.append("</NeuralOutputs></NeuralNetwork></PMML>\n")
    path.write_text("".join(parts), encoding="utf-8")
    details = {
        "documents": [{"file": "", "outputs": ["probs"]}],
        "inputs": {"pixels": {"fields": fields, "dtype": "double"}},
        "outputs": {
            "probs": {
                "kind": "classification",
                "document": 0,
                "shape": [None, 10],
                "fields": [f"probability({c})" for c in labels],
                "labels": labels,
            }
        },
    }
    return weights, details


def numpy_forward(weights, x):
    h = x
    for w, b in weights[:-1]:
        h = np.maximum(h @ w + b, 0)
    z = h @ weights[-1][0] + weights[-1][1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--evaluate-all-rows",
        type=int,
        default=500,
        help="rows for jpmml_evaluator's evaluateAll reference (0 to skip)",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    report: dict[str, float] = {"rows": args.rows}

    with tempfile.TemporaryDirectory(prefix="bench-jpmml-") as tmp:
        pmml = Path(tmp) / "mlp.pmml"
        t = time.perf_counter()
        weights, details = build_pmml(pmml)
        report["pmml_write_s"] = time.perf_counter() - t
        report["pmml_mb"] = pmml.stat().st_size / 1e6
        artifact = Artifact(
            pmml, "pmml", [TensorSpec("pixels", (None, 784))], [TensorSpec("probs", (None, 10))], details=details
        )
        x = np.random.default_rng(1).random((args.rows, 784))  # pixel-like values in [0, 1)

        session = jpmml.load(artifact)
        report["jvm_start_s"] = session.timings["jvm_start_s"]
        report["jpmml_load_s"] = session.timings["load_s"]
        session.run({"pixels": x[:50]})  # warm the JIT on the same code path, as a service would be
        t = time.perf_counter()
        py_out = session.run({"pixels": x})["probs"]
        report["python_batch_s"] = time.perf_counter() - t

        java_session = java_runtime.load(artifact)
        java_out = java_session.run({"pixels": x})["probs"]
        report["java_load_s"] = java_session.timings["load_s"]
        report["java_loop_s"] = java_session.timings["eval_s"]
        report["ratio_python_over_java"] = report["python_batch_s"] / report["java_loop_s"]
        report["python_ms_per_row"] = 1000 * report["python_batch_s"] / args.rows
        report["java_ms_per_row"] = 1000 * report["java_loop_s"] / args.rows
        report["max_abs_python_vs_java"] = float(np.abs(py_out - java_out).max())
        report["max_abs_python_vs_numpy64"] = float(np.abs(py_out - numpy_forward(weights, x)).max())

        if args.evaluate_all_rows:
            import pandas as pd
            from jpmml_evaluator import make_evaluator

            n = min(args.evaluate_all_rows, args.rows)
            evaluator = make_evaluator(str(pmml))  # joins the running JVM
            frame = pd.DataFrame(x[:n], columns=details["inputs"]["pixels"]["fields"])
            t = time.perf_counter()
            result = evaluator.evaluateAll(frame)
            report["evaluate_all_rows"] = n
            report["evaluate_all_ms_per_row"] = 1000 * (time.perf_counter() - t) / n
            ea = result[details["outputs"]["probs"]["fields"]].to_numpy(dtype=np.float64)
            report["max_abs_evaluate_all_vs_python"] = float(np.abs(ea - py_out[:n]).max())

    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value:.6g}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    verdict = "OK" if report["ratio_python_over_java"] <= 2 else "ABOVE TARGET"
    print(f"target python batch <= 2x plain Java loop: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
