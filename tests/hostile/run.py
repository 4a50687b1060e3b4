"""Run the CLI on hostile input in subprocesses and record what each did (exit code, output, peak RSS)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    seconds: float

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


# A forked child's peak RSS includes its parent's (the pytest process, with TensorFlow loaded) up to
# exec, so the peak is measured one level down: a small wrapper runs modelport and reports the
# grandchild's own ru_maxrss (kB) in a file.
_MEASURE = (
    "import os, resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(rc)\n"
)


def start(args, cwd: Path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, rss_file: Path | None = None):
    command = [sys.executable, "-m", "modelport", *map(str, args)]
    if rss_file is not None:
        command = [sys.executable, "-c", _MEASURE, str(rss_file), *command]
    return subprocess.Popen(command, cwd=cwd, env=ENV, stdout=stdout, stderr=stderr)


def run_all(commands: list[list], cwd: Path) -> list[Run]:
    """Start every command at once (they are independent), then collect each one's result."""
    started = time.time()
    with tempfile.TemporaryDirectory() as logs:
        procs = []
        for i, args in enumerate(commands):
            out, err = open(Path(logs, f"{i}.out"), "w+"), open(Path(logs, f"{i}.err"), "w+")
            procs.append((start(args, cwd, out, err, Path(logs, f"{i}.rss")), args, out, err, Path(logs, f"{i}.rss")))
        runs = []
        for proc, args, out, err, rss in procs:
            proc.wait()
            out.seek(0), err.seek(0)
            runs.append(Run([str(a) for a in args], proc.returncode, out.read(), err.read(),
                            int(rss.read_text()) / 1024, time.time() - started))
            out.close(), err.close()
    return runs


def run_one(args, cwd: Path) -> Run:
    return run_all([args], cwd)[0]
