"""Ctrl-C and SIGTERM: exit 130/143, one line "interrupted — nothing written", the staging directory
removed, no artifact or manifest of the interrupted run, no JVM crash banner and no hs_err file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import REPO

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}


def _start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "modelport", *map(str, args)], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc, seconds=180.0):
    deadline = time.time() + seconds
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the run never reached the point to interrupt"
        time.sleep(0.05)


def _assert_interrupted(proc, code, out, cwd):
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, (proc.returncode, stderr)
    assert stderr.strip().splitlines()[-1] == "interrupted — nothing written", stderr
    for banner in ("Traceback", "SIGSEGV", "A fatal error has been detected", "hs_err"):
        assert banner not in stderr + stdout, stderr
    assert not out.exists() or list(out.iterdir()) == [], sorted(p.name for p in out.rglob("*"))
    assert not list(cwd.rglob("hs_err_pid*.log")) and not list(cwd.rglob("core*"))


def test_sigint_while_the_jvm_validates(fixture_file, tmp_path):
    """The PMML artifact is staged, then validation starts JPype's JVM (jpmml): Ctrl-C there."""
    out = tmp_path / "out"
    proc = _start(["convert", fixture_file("mlp"), "--to", "pmml", "-o", out], tmp_path)
    _wait_for(lambda: any(out.glob(".modelport-tmp-*/mlp.pmml")), proc)
    time.sleep(1.5)  # inside validation: the JVM is starting or evaluating
    proc.send_signal(signal.SIGINT)
    _assert_interrupted(proc, 130, out, tmp_path)


def test_sigterm_while_converting(fixture_file, tmp_path):
    out = tmp_path / "out"
    proc = _start(["convert", fixture_file("mlp"), "--to", "all", "-o", out, "--no-validate"], tmp_path)
    _wait_for(lambda: any(out.glob(".modelport-tmp-*")), proc)
    proc.send_signal(signal.SIGTERM)
    _assert_interrupted(proc, 143, out, tmp_path)
