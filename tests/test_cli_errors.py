"""The command line: light to start, and every user mistake is one line, exit 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "modelport", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV)


def assert_one_line_error(proc, code, *needles):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def imports_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_help_does_not_import_tensorflow():
    modules = imports_after(
        "from modelport.cli import main\nsys.argv=['modelport','--help']\ntry:\n    main()\nexcept SystemExit:\n    pass")
    assert "tensorflow" not in modules and "keras" not in modules
    assert "modelport.cli.convert" in modules


def test_every_command_has_help():
    for command in ("convert", "inspect"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0 and "Usage" in proc.stdout


def test_inspect_onnx_without_tensorflow(converted):
    onnx_path = next(a.path for a in converted("mlp").artifacts if a.format == "onnx")
    modules = imports_after(
        f"from modelport.cli import run\ntry:\n    run(['inspect', {str(onnx_path)!r}])\nexcept SystemExit:\n    pass")
    assert "tensorflow" not in modules
    proc = run_cli("inspect", onnx_path, "--json")
    assert proc.returncode == 0 and '"features"' in proc.stdout and '"probs"' in proc.stdout


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("convert", tmp_path / "nope.h5", "--to", "pb", "-o", tmp_path / "out"), 2, "no such file")
    assert not (tmp_path / "out").exists()


def test_not_a_model(tmp_path):
    page = tmp_path / "model.h5"
    page.write_text("<!DOCTYPE html><html><body>404</body></html>")
    assert_one_line_error(run_cli("convert", page, "--to", "pb", "-o", tmp_path / "out"), 2, "HTML")
    assert not (tmp_path / "out").exists()


def test_unknown_target(fixture_file, tmp_path):
    assert_one_line_error(run_cli("convert", fixture_file("mlp"), "--to", "pb,tflite", "-o", tmp_path / "o"), 2, "tflite")
    assert not (tmp_path / "o").exists()


def test_existing_output_needs_force(fixture_file, tmp_path):
    (tmp_path / "mlp.pb").write_bytes(b"precious")
    assert_one_line_error(run_cli("convert", fixture_file("mlp"), "--to", "pb", "-o", tmp_path, "--no-validate"),
                          2, "already exists", "--force")
    assert (tmp_path / "mlp.pb").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.pb"]
    proc = run_cli("convert", fixture_file("mlp"), "--to", "pb", "-o", tmp_path, "--no-validate", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mlp.pb").read_bytes() != b"precious"


def test_unwritable_output(fixture_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert_one_line_error(run_cli("convert", fixture_file("mlp"), "--to", "pb", "-o", blocker / "out"), 2, "out")
    assert blocker.read_text() == "not a directory"


def test_debug_shows_traceback(tmp_path):
    proc = run_cli("convert", tmp_path / "nope.h5", "--to", "pb", "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr
