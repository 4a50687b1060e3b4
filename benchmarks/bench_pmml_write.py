"""PMML write time and size for the 784-512-512-10 relu/softmax MLP (668,672 Con elements), and the
wall time of `modelport analyze` on a small model (config only, no TensorFlow).

Targets (issue): PMML written in <= 2 s and <= 30 MB; analyze <= 1 s. Run:
    python benchmarks/bench_pmml_write.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import modelport
    from fixtures import pmml_models, save
    from modelport.convert.base import ExportOptions
    from modelport.convert.pmml import PmmlConverter

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "mlp_784.keras"
        pmml_models.mlp_784().save(path)
        loaded = modelport.load(path)
        times = []
        for k in range(args.repeat):
            dest = tmp / f"mlp_{k}.pmml"
            start = time.perf_counter()
            PmmlConverter().export(loaded.model, loaded.spec, dest, ExportOptions())
            times.append(time.perf_counter() - start)
        size = dest.stat().st_size
        cons = dest.read_text().count("<Con ")
        print(f"784-512-512-10 MLP: {cons} Con, {size / 1e6:.1f} MB, export (incl. verification rows) "
              f"best {min(times):.2f} s, all {', '.join(f'{t:.2f}' for t in times)} s  [target <= 2 s, <= 30 MB]")

        small = save("mlp", tmp, "h5")
        walls = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "modelport", "analyze", str(small), "--format", "json"],
                           cwd=REPO, capture_output=True, check=False)
            walls.append(time.perf_counter() - start)
        print(f"modelport analyze (small model, all targets, new process): best {min(walls):.2f} s  [target <= 1 s]")


if __name__ == "__main__":
    main()
