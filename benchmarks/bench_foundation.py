"""Issue 2's numbers: CLI start-up, one multi-target conversion against tf2onnx, and peak memory.

    python benchmarks/bench_foundation.py [--json out.json] [--only startup,convert,memory]
                                          [--runs 5] [--convert-runs 1] [--breakdown] [--keep DIR]

1. ``modelport --help`` and ``modelport inspect x.onnx``: best-of-N wall time of the real console
   script (the ``modelport`` found on PATH, and ``python -m modelport``); target ≤ 0.5 s, and
   TensorFlow must not be imported (checked in a separate run with ``PYTHONPROFILEIMPORTTIME=1``,
   which is ``-X importtime`` for any Python process, so the console script itself is probed).
2. ``modelport convert m.h5 --to pb,ckpt,savedmodel,onnx`` for MobileNetV2(96x96, alpha 0.35,
   random seeded weights, saved as .h5 by Keras 3) against ``python -m tf2onnx.convert --keras
   m.h5`` in the same run; target: convert --no-validate ≤ 1.5x tf2onnx. The validated run is
   reported next to it (informational: the target applies to the conversion).
3. Peak RSS of ResNet50 (random weights) → ONNX: ``modelport convert r.h5 --to onnx
   --no-validate`` next to tf2onnx's CLI on the same file (tracked, no pass/fail).

Every heavy step is one subprocess, run once (the machine's 2 cores are shared); the load average
at the time is recorded next to each number. Wall times come from ``time.perf_counter`` around the
subprocess, peak RSS and CPU time (user + system, all threads; much steadier than wall time on a
shared machine) from ``/usr/bin/time -v`` (RSS from ``getrusage(RUSAGE_CHILDREN)`` without it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnxruntime", "jpype")
STARTUP_LIMIT_S = 0.5
CONVERT_RATIO_LIMIT = 1.5
TARGETS = "pb,ckpt,savedmodel,onnx"
AUTHOR = {"tf2onnx_mobilenet_s": 6.3, "tf2onnx_resnet50_rss_gb": 7.67}  # the issue author's numbers


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["TF_CPP_MIN_LOG_LEVEL"] = "3"
    e.pop("PYTHONPROFILEIMPORTTIME", None)
    return e


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Row:
    section: str
    name: str
    value: float | None
    unit: str
    target: str
    status: str  # pass / FAIL / info / error
    load: str
    note: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Run:
    seconds: float
    returncode: int
    max_rss_kb: int | None
    stderr: str
    stdout: str
    cpu_seconds: float | None = None  # user + system (all threads): far less sensitive to other load than wall


TIME_BIN = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run(cmd: list[str], *, cwd: Path, extra_env: dict[str, str] | None = None, measure_rss: bool = False) -> Run:
    """One subprocess; wall time always, peak RSS when asked (via /usr/bin/time -v or getrusage)."""
    e = env()
    e.update(extra_env or {})
    full = cmd
    if measure_rss and TIME_BIN:
        full = [TIME_BIN, "-v", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    p = subprocess.run(full, cwd=cwd, env=e, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    rss = cpu = None
    stderr = p.stderr
    if measure_rss:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        user = re.search(r"User time \(seconds\): ([\d.]+)", p.stderr)
        system = re.search(r"System time \(seconds\): ([\d.]+)", p.stderr)
        if user and system:
            cpu = float(user.group(1)) + float(system.group(1))
        if m:
            rss = int(m.group(1))
            stderr = p.stderr[: p.stderr.rfind("\tCommand being timed")]
        else:  # ru_maxrss of children is the max over all children so far: only valid if it grew
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rss = after if after > before else None
    return Run(seconds, p.returncode, rss, stderr, p.stdout, cpu)


def tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])[:400]


# ---------------------------------------------------------------- 1. start-up


def tiny_onnx(path: Path) -> None:
    """A one-node ONNX file made with onnx.helper (no TensorFlow in this process)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def imported_modules(cmd: list[str], cwd: Path) -> tuple[int, set[str], float]:
    """Run once with import profiling; the top-level packages imported and the total import time."""
    r = run(cmd, cwd=cwd, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    names, total_us = set(), 0
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$", line)
        if m:
            names.add(m.group(4).split(".")[0])
            total_us += int(m.group(1))
    return r.returncode, names, total_us / 1e6


def startup_row(label: str, cmd: list[str], work: Path, runs: int) -> Row:
    """Best of ``runs`` wall times, then one run with import profiling to see what was imported."""
    times, codes = [], set()
    for _ in range(runs):
        r = run(cmd, cwd=work)
        times.append(r.seconds)
        codes.add(r.returncode)
    load = load_average()
    code, modules, import_s = imported_modules(cmd, work)
    heavy = sorted(m for m in HEAVY if m in modules)
    best = min(times)
    ok = best <= STARTUP_LIMIT_S and not heavy and codes == {0} and code == 0
    notable = sorted(m for m in ("numpy", "onnx", "pydantic", "rich", "google") if m in modules)
    return Row(
        "startup", label, round(best, 3), "s", f"<= {STARTUP_LIMIT_S} s, no tensorflow", "pass" if ok else "FAIL",
        load,
        note=(f"tensorflow imported: {'tensorflow' in modules}; heavy: {heavy or 'none'}; "
              f"also imports {', '.join(notable) or '-'}; import time {import_s:.2f} s"
              + ("" if codes == {0} else f"; exit codes {sorted(codes)}")),
        extra={"runs_s": [round(t, 3) for t in times], "tensorflow_imported": "tensorflow" in modules,
               "heavy_imported": heavy, "import_seconds": round(import_s, 3), "exit_codes": sorted(codes)},
    )


def startup(work: Path, runs: int) -> list[Row]:
    onnx_file = work / "x.onnx"
    tiny_onnx(onnx_file)
    on_path = shutil.which("modelport")
    script = Path(sys.executable).parent / "modelport"  # the console script pip wrote for this Python
    launchers = []
    if on_path:
        launchers.append(("modelport", [on_path]))
    if script.exists() and (not on_path or Path(on_path).resolve() != script.resolve()):
        launchers.append((f"{script} (behind the PATH shim)", [str(script)]))
    launchers.append(("python -m modelport", [sys.executable, "-m", "modelport"]))
    baseline = min(run([sys.executable, "-c", "pass"], cwd=work).seconds for _ in range(runs))
    rows = [Row("startup", "python -c pass (interpreter floor)", round(baseline, 3), "s", "-", "info",
                load_average())]
    for label, launcher in launchers:
        for args in (["--help"], ["inspect", "x.onnx"]):
            rows.append(startup_row(f"{label} {' '.join(args)}", [*launcher, *args], work, runs))
    shim = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "shims" / "modelport"
    if shim.exists():  # what a pyenv user's shell runs: pyenv's bash shim adds its own start-up
        times = [run([str(shim), "--help"], cwd=work).seconds for _ in range(runs)]
        rows.append(Row("startup", "modelport --help via the pyenv shim (environment launcher)",
                        round(min(times), 3), "s", "-", "info", load_average(),
                        note="pyenv's bash shim, not modelport; shown so the shell's number can be explained"))
    return rows


# ---------------------------------------------------------------- model files

BUILD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
keras.utils.set_random_seed(0)
name, out = sys.argv[1], sys.argv[2]
if name == "mobilenetv2":
    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None)
else:
    model = keras.applications.ResNet50(weights=None)
# weights=None is an untrained network whose softmax does not move with the input (vacuous parity,
# benchmarks/bench_vacuous.py): give each BatchNormalization the statistics of its own input on a
# random batch, as training would leave them, and random gamma/beta
import numpy as np
rng = np.random.default_rng(0)
calibration = rng.standard_normal((8, *model.input.shape[1:])).astype("float32")
for layer in model.layers:
    if layer.__class__.__name__ == "BatchNormalization":
        h = np.asarray(keras.Model(model.input, layer.input)(calibration, training=False))
        gamma, beta = (w.shape for w in layer.get_weights()[:2])
        axes = tuple(range(h.ndim - 1))
        layer.set_weights([rng.uniform(0.5, 1.5, gamma), rng.normal(0, 0.2, beta), h.mean(axes), h.var(axes) + 1e-3])
model.save(out)
print(keras.__version__, model.count_params())
"""


def build_model(name: str, path: Path) -> str:
    r = run([sys.executable, "-c", BUILD, name, str(path)], cwd=path.parent)
    if r.returncode != 0 or not path.exists():
        raise SystemExit(f"building {name} failed: {tail(r.stderr)}")
    return r.stdout.strip()


FROM_KERAS = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf, tf2onnx
model = tf.keras.models.load_model(sys.argv[1], compile=False)
tf2onnx.convert.from_keras(model, output_path=sys.argv[2])
"""


def tf2onnx_run(model: Path, out: Path, measure_rss: bool) -> tuple[Run, str]:
    """tf2onnx's CLI --keras path; if it cannot read a Keras 3 .h5, its from_keras API."""
    r = run([sys.executable, "-m", "tf2onnx.convert", "--keras", str(model), "--output", str(out)],
            cwd=model.parent, measure_rss=measure_rss)
    if r.returncode == 0 and out.exists():
        return r, "python -m tf2onnx.convert --keras"
    first = tail(r.stderr, 1)
    r = run([sys.executable, "-c", FROM_KERAS, str(model), str(out)], cwd=model.parent, measure_rss=measure_rss)
    return r, f"tf2onnx.convert.from_keras in a subprocess (CLI --keras failed: {first})"


def modelport_cmd() -> list[str]:
    on_path = shutil.which("modelport")
    return [on_path] if on_path else [sys.executable, "-m", "modelport"]


# ---------------------------------------------------------------- 2. conversion


def best(results: list[Run]) -> Run:
    ok = [r for r in results if r.returncode == 0] or results
    return min(ok, key=lambda r: r.seconds)


def cpu_text(r: Run) -> str:
    return f"cpu {r.cpu_seconds:.1f} s" if r.cpu_seconds is not None else "cpu n/a"


def conversion(work: Path, breakdown: bool, runs: int, convert_runs: int) -> list[Row]:
    """tf2onnx, then modelport --no-validate, then validated; ``convert_runs`` rounds of the three
    (interleaved, so a burst of other load hits both sides), best wall time of each kept."""
    model = work / "m.h5"
    built = build_model("mobilenetv2", model)
    results: dict[str, list[Run]] = {"tf2onnx": [], "no-validate": [], "validate": []}
    loads: dict[str, list[str]] = {k: [] for k in results}
    how = ""
    for round_ in range(convert_runs):
        loads["tf2onnx"].append(load_average())
        r, how = tf2onnx_run(model, work / "tf2onnx.onnx", measure_rss=True)
        results["tf2onnx"].append(r)
        for validate in (False, True):
            key = "validate" if validate else "no-validate"
            out = work / f"out_{key}_{round_}"
            cmd = [*modelport_cmd(), "convert", str(model), "--to", TARGETS, "-o", str(out)]
            if not validate:
                cmd.append("--no-validate")
            loads[key].append(load_average())
            results[key].append(run(cmd, cwd=work, measure_rss=True))

    ref = best(results["tf2onnx"])
    ref_ok = ref.returncode == 0
    rows = [Row("convert", "tf2onnx MobileNetV2 -> onnx", round(ref.seconds, 2), "s", "reference",
                "info" if ref_ok else "error", " ; ".join(loads["tf2onnx"]),
                note=f"{how}; {cpu_text(ref)}; peak RSS {gb(ref.max_rss_kb)}; "
                f"issue author: {AUTHOR['tf2onnx_mobilenet_s']} s" + ("" if ref_ok else f"; {tail(ref.stderr)}"),
                extra={"method": how, "runs_s": [round(r.seconds, 2) for r in results["tf2onnx"]],
                       "cpu_s": ref.cpu_seconds, "max_rss_kb": ref.max_rss_kb, "model": built})]
    for key in ("no-validate", "validate"):
        r = best(results[key])
        ratio = r.seconds / ref.seconds if ref_ok else None
        cpu_ratio = r.cpu_seconds / ref.cpu_seconds if ref_ok and r.cpu_seconds and ref.cpu_seconds else None
        if r.returncode != 0:
            status = "error"
        elif key == "validate":
            status = "info"
        else:
            status = "pass" if ratio is not None and ratio <= CONVERT_RATIO_LIMIT else "FAIL"
        rows.append(Row(
            "convert", f"modelport convert --to {TARGETS}{' --no-validate' if key == 'no-validate' else ''}",
            round(r.seconds, 2), "s",
            f"<= {CONVERT_RATIO_LIMIT}x tf2onnx" if key == "no-validate" else "info (validated)", status,
            " ; ".join(loads[key]),
            note=(f"{ratio:.2f}x tf2onnx wall; " if ratio else "")
            + (f"{cpu_text(r)} = {cpu_ratio:.2f}x tf2onnx's; " if cpu_ratio else "")
            + f"peak RSS {gb(r.max_rss_kb)}" + ("" if r.returncode == 0 else f"; exit {r.returncode}: {tail(r.stderr)}"),
            extra={"ratio": round(ratio, 3) if ratio else None, "cpu_ratio": round(cpu_ratio, 3) if cpu_ratio else None,
                   "runs_s": [round(x.seconds, 2) for x in results[key]], "cpu_s": r.cpu_seconds,
                   "max_rss_kb": r.max_rss_kb, "exit": r.returncode},
        ))
    artifact = work / "out_no-validate_0" / "m.onnx"
    if artifact.exists():  # inspect of a real 6 MB artifact, not only the tiny one
        rows.append(startup_row("modelport inspect m.onnx (MobileNetV2 artifact)", [*modelport_cmd(), "inspect",
                                str(artifact)], work, runs))
    if breakdown:
        rows += stage_breakdown(model, work)
    return rows


STAGES = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
t0 = time.perf_counter()
from modelport import api
stamps = [("import modelport", t0), ("read spec + analyze", time.perf_counter())]
api.convert(sys.argv[1], sys.argv[2], sys.argv[3], validate=False,
            progress=lambda message, *_: stamps.append((message, time.perf_counter())))
stamps.append(("end", time.perf_counter()))
print(json.dumps({a[0]: round(b[1] - a[1], 2) for a, b in zip(stamps, stamps[1:])}))
"""


def stage_breakdown(model: Path, work: Path) -> list[Row]:
    """Where the conversion's time goes (api.convert's progress messages), one extra process."""
    load = load_average()
    r = run([sys.executable, "-c", STAGES, str(model), TARGETS, str(work / "out_stages")], cwd=work)
    if r.returncode != 0:
        return [Row("convert", "stage breakdown", None, "s", "-", "error", load, note=tail(r.stderr))]
    stages = json.loads(r.stdout.strip().splitlines()[-1])
    return [Row("convert-stages", f"  {stage}", seconds, "s", "-", "info", load) for stage, seconds in stages.items()]


# ---------------------------------------------------------------- 3. memory


def gb(kb: int | None) -> str:
    return f"{kb / 1024 ** 2:.2f} GB" if kb else "n/a"


def memory(work: Path) -> list[Row]:
    model = work / "r.h5"
    built = build_model("resnet50", model)
    rows = []
    load = load_average()
    ref, how = tf2onnx_run(model, work / "r_tf2onnx.onnx", measure_rss=True)
    rows.append(Row("memory", "tf2onnx ResNet50 -> onnx peak RSS",
                    round(ref.max_rss_kb / 1024 ** 2, 2) if ref.max_rss_kb else None, "GB", "tracked",
                    "info" if ref.returncode == 0 else "error", load,
                    note=f"{how}; wall {ref.seconds:.1f} s; {cpu_text(ref)}; issue author: {AUTHOR['tf2onnx_resnet50_rss_gb']} GB"
                    + ("" if ref.returncode == 0 else f"; {tail(ref.stderr)}"),
                    extra={"method": how, "seconds": round(ref.seconds, 2), "model": built}))
    load = load_average()
    r = run([*modelport_cmd(), "convert", str(model), "--to", "onnx", "--no-validate", "-o", str(work / "r_out")],
            cwd=work, measure_rss=True)
    rel = (f"{r.max_rss_kb / ref.max_rss_kb:.2f}x tf2onnx; " if r.max_rss_kb and ref.max_rss_kb else "")
    rows.append(Row("memory", "modelport convert ResNet50 --to onnx --no-validate peak RSS",
                    round(r.max_rss_kb / 1024 ** 2, 2) if r.max_rss_kb else None, "GB", "tracked",
                    "info" if r.returncode == 0 else "error", load,
                    note=f"{rel}wall {r.seconds:.1f} s; {cpu_text(r)}" + ("" if r.returncode == 0 else f"; {tail(r.stderr)}"),
                    extra={"seconds": round(r.seconds, 2)}))
    return rows


# ---------------------------------------------------------------- report


def print_table(rows: list[Row]) -> None:
    print(f"{'benchmark':<72}{'value':>9} {'unit':<4} {'target':<24}{'result':<7}load (1/5/15 min)")
    for row in rows:
        value = "-" if row.value is None else f"{row.value:g}"
        print(f"{row.name[:71]:<72}{value:>9} {row.unit:<4} {row.target:<24}{row.status:<7}{row.load}")
        if row.note:
            print(f"    {row.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--only", default="startup,convert,memory", help="comma list of sections to run")
    parser.add_argument("--runs", type=int, default=5, help="start-up runs per command (best is reported)")
    parser.add_argument("--convert-runs", type=int, default=1,
                        help="rounds of tf2onnx / convert / convert+validate (best wall of each is used)")
    parser.add_argument("--breakdown", action="store_true", help="one more process: time per conversion stage")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}

    work = args.keep or Path(tempfile.mkdtemp(prefix="modelport-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    try:
        if "startup" in sections:
            rows += startup(work, args.runs)
        if "convert" in sections:
            rows += conversion(work, args.breakdown, args.runs, args.convert_runs)
        if "memory" in sections:
            rows += memory(work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    gated = [r for r in rows if r.status in ("pass", "FAIL", "error")]
    failed = [r for r in gated if r.status != "pass"]
    print(f"\n{len(gated) - len(failed)}/{len(gated)} targets met")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                        "time_binary": TIME_BIN},
            "issue_author": AUTHOR, "results": [asdict(r) for r in rows],
            "targets_met": len(gated) - len(failed), "targets": len(gated),
        }, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
