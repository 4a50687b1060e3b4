"""Atomic output: a conversion killed with SIGKILL leaves nothing under a final artifact name; two
conversions racing into one directory: one wins, the other gets a clear error, neither corrupts the
other. Real `python -m modelport convert` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
from hostile.run import run_all, start

from modelport.io import TMP_PREFIX

TARGETS = "savedmodel,pb,ckpt,onnx"
FINAL = ["mlp_savedmodel", "mlp.pb", "mlp_ckpt", "mlp.onnx", "modelport.json"]


def _final_names(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(TMP_PREFIX)) if out.exists() else []


def _kill_after(model: Path, out: Path, wait_for_staging: bool, extra: float) -> subprocess.Popen:
    proc = start(["convert", model, "--to", TARGETS, "-o", out], cwd=out.parent)
    deadline = time.time() + 60
    while wait_for_staging and time.time() < deadline and proc.poll() is None:
        if out.exists() and any(p.name.startswith(TMP_PREFIX) for p in out.iterdir()):
            break
        time.sleep(0.05)
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc


def _onnx_runs(path: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))
    (probs,) = session.run(None, {"features": np.ones((2, 8), np.float32)})
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def _assert_complete(path: Path) -> None:
    if path.suffix == ".onnx":
        _onnx_runs(path)
    elif path.name.endswith("_savedmodel"):
        assert (path / "saved_model.pb").stat().st_size > 0 and (path / "variables").is_dir()
    elif path.name.endswith("_ckpt"):
        assert list(path.glob("*.index")) and list(path.glob("*.meta"))
    elif path.suffix == ".pb":
        import tensorflow as tf

        tf.compat.v1.GraphDef().ParseFromString(path.read_bytes())
    else:
        raise AssertionError(f"unexpected final name {path.name} after a killed run")


def test_sigkill_leaves_nothing_under_final_names(fixture_file, tmp_path):
    model = fixture_file("mlp")
    # before staging exists (loading), just after it appears, and well into exporting/validating
    killed_mid_way = 0
    for i, (wait, extra) in enumerate([(False, 1.5), (True, 0.0), (True, 1.0)]):
        out = tmp_path / f"out{i}"
        proc = _kill_after(model, out, wait, extra)
        names = _final_names(out)
        if proc.returncode == 0:  # the run finished before the kill: everything is there
            assert set(FINAL) <= set(names), names
            continue
        killed_mid_way += 1
        assert proc.returncode == -signal.SIGKILL
        # each artifact is renamed into place in one step: a name that exists is complete (only a
        # kill inside the final renames, a few ms, can leave some names; normally there are none)
        for name in names:
            _assert_complete(out / name)
    assert killed_mid_way >= 2  # not vacuous: real conversions were killed while working
    # a later run into a directory with a killed run's leftovers ignores young ones, removes old ones
    out = tmp_path / "out1"
    leftovers = [p for p in out.iterdir() if p.name.startswith(TMP_PREFIX)] if out.exists() else []
    assert leftovers or set(FINAL) <= set(_final_names(out))  # SIGKILL leaves the staging dir
    for p in leftovers:
        os.utime(p, (time.time() - 7 * 3600,) * 2)
    (run,) = run_all([["convert", model, "--to", "onnx,pb", "-o", out, "--force"]], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not any(p.exists() for p in leftovers)
    _onnx_runs(out / "mlp.onnx")


def test_racing_conversions_one_wins(fixture_file, tmp_path):
    model, out = fixture_file("mlp"), tmp_path / "out"
    runs = run_all([["convert", model, "--to", "pb,onnx", "-o", out, "--no-validate"]] * 2, cwd=tmp_path)
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 2], [r.stderr[-1500:] for r in runs]
    loser = next(r for r in runs if r.returncode == 2)
    lines = loser.error_lines()
    assert len(lines) == 1 and "already exists" in lines[0] and "Traceback" not in loser.stderr
    assert _final_names(out) == ["mlp.onnx", "mlp.pb", "modelport.json"]
    assert not [p for p in out.iterdir() if p.name.startswith(TMP_PREFIX)]  # the loser cleaned up
    manifest = json.loads((out / "modelport.json").read_text())
    from modelport.io import sha256_path

    for artifact in manifest["artifacts"]:  # the winner's manifest describes the files on disk
        assert sha256_path(out / artifact["path"]) == artifact["sha256"]
    _onnx_runs(out / "mlp.onnx")
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString((out / "mlp.pb").read_bytes())
    assert any(n.op == "Placeholder" for n in graph.node)
