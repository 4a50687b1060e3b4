"""``modelport convert`` with its progress steps stamped on stderr, for bench_scale.py's per-step profile.

    python benchmarks/_profile_convert.py MODEL TARGETS OUT_DIR [--no-validate]

Each step prints ``modelport-step <CLOCK_MONOTONIC seconds> <step>``; the benchmark samples the
process tree's RSS with the same clock and attributes every sample to the step shown at that time.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    from modelport.api import convert
    from modelport.tfimport import own_process

    own_process()  # as the CLI's main() does

    model, targets, out = sys.argv[1:4]

    def progress(step: str, done: int = 0, total: int = 0) -> None:
        print(f"modelport-step {time.monotonic():.3f} {step}", file=sys.stderr, flush=True)

    progress("start")
    convert(model, targets, out, force=True, validate="--no-validate" not in sys.argv, progress=progress)
    progress("end")


if __name__ == "__main__":
    main()
