"""One output folder, one model: the manifest describes the whole folder, the gate names whatever
else looks like an artifact there, and validate says when the model is not the folder's source.
Runtimes that cannot run here are skipped with the reason, unless --require-runtimes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

FAST = ["--runtimes", "tensorflow,onnxruntime"]


def _cli(args, capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def _listed(out):
    return sorted(a["path"] for a in json.loads((out / "modelport.json").read_text())["artifacts"])


@pytest.fixture
def two_models(fixture_file, tmp_path):
    """Two different models under the same file name, as after retraining: a.keras and b/a.keras."""
    first = tmp_path / "a.keras"
    shutil.copy(fixture_file("mlp"), first)
    (tmp_path / "b").mkdir()
    second = tmp_path / "b" / "a.keras"
    shutil.copy(fixture_file("batchnorm"), second)
    return first, second


def test_another_models_folder_is_refused_then_replaced_with_force(two_models, tmp_path, capsys):
    first, second = two_models
    out = tmp_path / "out"
    assert _cli(["convert", first, "--to", "onnx,pb", "-o", out, *FAST], capsys)[0] == 0
    assert _listed(out) == ["a.onnx", "a.pb"]

    code, _, err = _cli(["convert", second, "--to", "onnx", "-o", out, *FAST], capsys)
    assert code == 2 and "holds the artifacts of another model" in err and "--force" in err
    assert _listed(out) == ["a.onnx", "a.pb"]  # untouched

    code, _, err = _cli(["convert", second, "--to", "onnx", "-o", out, "--force", *FAST], capsys)
    assert code == 0, err
    assert _listed(out) == ["a.onnx"]
    assert not (out / "a.pb").exists(), "the old model's artifact stayed, unlisted"
    code, stdout, err = _cli(["gate", out, "--strict", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["warnings"] == []


def test_same_model_with_more_targets_merges(fixture_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", fixture_file("mlp"), "--to", "onnx", "-o", out, *FAST], capsys)[0] == 0
    assert _cli(["convert", fixture_file("mlp"), "--to", "pb", "-o", out, "--no-validate"], capsys)[0] == 0
    assert _listed(out) == ["mlp.onnx", "mlp.pb"]
    manifest = json.loads((out / "modelport.json").read_text())
    assert manifest["golden"]["path"] == "modelport.golden.npz"  # the first run's golden file still holds
    code, _, err = _cli(["gate", out], capsys)
    assert code == 0, err


def test_gate_names_unlisted_artifacts_and_fails_on_them_when_strict(fixture_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", fixture_file("mlp"), "--to", "onnx", "-o", out, *FAST], capsys)[0] == 0
    shutil.copy(out / "mlp.onnx", out / "old_model.onnx")  # e.g. left by hand or by another tool
    (out / "old_savedmodel").mkdir()
    (out / "old_savedmodel" / "saved_model.pb").write_bytes(b"")
    (out / "notes.txt").write_text("not an artifact")

    code, stdout, err = _cli(["gate", out, "--json"], capsys)
    warnings = json.loads(stdout)["warnings"]
    assert code == 0, err
    assert [w.split(":")[0] for w in warnings] == ["old_model.onnx", "old_savedmodel/"]

    code, stdout, _ = _cli(["gate", out, "--strict", "--json"], capsys)
    report = json.loads(stdout)
    assert code == 1 and not report["passed"]
    assert any(p.startswith("old_model.onnx: an artifact-like file") for p in report["problems"])

    code, stdout, _ = _cli(["gate", out], capsys)
    assert "old_model.onnx" in stdout and "policy: none found (defaults)" in stdout


def test_validate_says_first_when_the_model_is_not_the_source(two_models, tmp_path, capsys):
    first, second = two_models
    out = tmp_path / "out"
    assert _cli(["convert", first, "--to", "onnx", "-o", out, *FAST], capsys)[0] == 0
    code, _, err = _cli(["validate", second, out, "--runtimes", "onnxruntime"], capsys)
    assert code == 2  # a different signature: this artifact was not converted from that model
    assert err.splitlines()[0].startswith("warning: a.keras (sha256 ") and "is not the file" in err
    code, _, err = _cli(["validate", first, out, "--runtimes", "onnxruntime"], capsys)
    assert code == 0 and "warning" not in err


def test_missing_java_is_skipped_with_reason_unless_required(fixture_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", fixture_file("mlp"), "--to", "pmml,onnx", "-o", out, "--runtimes", "jpmml,onnxruntime"],
                capsys)[0] == 0
    bin_dir = tmp_path / "bin"  # only this Python: no java, no gcc
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.update(PATH=str(bin_dir), PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")

    def gate(*extra):
        return subprocess.run([sys.executable, "-m", "modelport", "gate", str(out), "--json", *extra],
                              capture_output=True, text=True, env=env, cwd=tmp_path)

    skipped = gate()
    assert skipped.returncode == 0, skipped.stderr
    results = json.loads(skipped.stdout)["results"]
    assert {r["runtime"]: r["status"] for r in results} == {
        "onnxruntime": "pass", "jpmml": "skipped", "pmml4s": "skipped", "java": "skipped"}
    assert all("'java' was not found" in r["skipped"] for r in results if r["format"] == "pmml")
    required = gate("--require-runtimes")
    assert required.returncode == 1
    assert any("runtime required but skipped" in p for p in json.loads(required.stdout)["problems"])


def test_runtimes_from_the_environment_are_a_preference(fixture_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("MODELPORT_RUNTIMES", "tensorflow,onnxruntime")
    assert _cli(["convert", fixture_file("mlp"), "--to", "onnx", "-o", out], capsys)[0] == 0
    code, stdout, err = _cli(["gate", out, "--json"], capsys)
    assert code == 0, err
    assert [r["runtime"] for r in json.loads(stdout)["results"]] == ["onnxruntime"]
    code, _, err = _cli(["gate", out, "--runtimes", "tensorflow"], capsys)  # named: a useless one is an error
    assert code == 2 and "runs none of the artifacts" in err
