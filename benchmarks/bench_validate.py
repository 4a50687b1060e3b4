"""Validation of the fixture MLP across every format with 10,000 rows: time per runtime.

    python benchmarks/bench_validate.py [--rows 10000] [--json out.json]

Every runtime gets whole batches (ONNX Runtime, TensorFlow, the C API program: one call/process per
batch; JPMML, PMML4S and the plain JVM: one bridge call per batch), never one call per row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import modelport
    from fixtures import save
    from modelport.validators import validate_artifacts

    with tempfile.TemporaryDirectory() as tmp:
        model_path = save("mlp", tmp)
        started = time.perf_counter()
        result = modelport.convert(model_path, to="all", out_dir=Path(tmp) / "out", validate=False)
        convert_s = time.perf_counter() - started
        loaded = modelport.load(model_path)
        report = validate_artifacts(loaded.model, loaded.spec, result.artifacts, batch_sizes=(1, args.rows),
                                    base=Path(tmp) / "out")
    rows = []
    for r in report.results:
        rows.append({"artifact": r.artifact, "runtime": r.runtime, "status": r.status,
                     "load_s": round(r.load_seconds, 3), "run_s": round(r.run_seconds, 3),
                     "rows_per_s": round(r.rows / r.run_seconds) if r.run_seconds else None,
                     "max_abs": max((o.max_abs for o in r.outputs), default=None), "note": r.error or r.skipped})
    summary = {"rows": args.rows, "convert_seconds": round(convert_s, 2),
               "validate_seconds": round(report.total_seconds, 2), "runtimes": report.runtime_seconds(), "results": rows}
    print(f"{'artifact':<18}{'runtime':<13}{'status':<8}{'load s':>8}{'run s':>8}{'rows/s':>10}  max abs")
    for row in rows:
        print(f"{row['artifact']:<18}{row['runtime']:<13}{row['status']:<8}{row['load_s']:>8}{row['run_s']:>8}"
              f"{row['rows_per_s'] or '-':>10}  {row['max_abs']}")
    print("per runtime (s):", json.dumps(summary["runtimes"]))
    print(f"validate total {summary['validate_seconds']} s for {args.rows + 1} rows per artifact")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
