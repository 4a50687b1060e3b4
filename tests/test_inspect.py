"""`inspect` reads every kind of file modelport writes and says what a caller needs: the signature
the manifest recorded (tensor names to feed and fetch), else the graph's real feeds and fetches
with shapes; modelport's PMML folder and modelport.json too; TensorFlow's log lines silenced."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO


def _inspect(path, capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run(["inspect", str(path), "--json"])
    captured = capsys.readouterr()
    assert (exc.value.code or 0) == 0, captured.err
    return json.loads(captured.out)


def test_frozen_pb_and_checkpoint_name_the_real_tensors(converted, tmp_path, capsys):
    out = converted("mlp").manifest_path.parent
    info = _inspect(out / "mlp.pb", capsys)
    assert info["tensors"] == {"feed": ["features:0"], "fetch": ["probs:0"]}
    assert [(t["name"], t["shape"]) for t in info["signature"]["outputs"]] == [("probs", [None, 3])]
    assert [(t["name"], t["shape"]) for t in info["outputs"]] == [("probs:0", [None, 3])]

    alone = tmp_path / "alone"  # no manifest beside them: the graph alone must tell
    alone.mkdir()
    shutil.copy(out / "mlp.pb", alone / "mlp.pb")
    shutil.copytree(out / "mlp_ckpt", alone / "mlp_ckpt")
    pb = _inspect(alone / "mlp.pb", capsys)
    assert "signature" not in pb
    assert [(t["name"], t["shape"]) for t in pb["inputs"]] == [("features:0", [None, 8])]
    assert [(t["name"], t["shape"]) for t in pb["outputs"]] == [("probs:0", [None, 3])]
    ckpt = _inspect(alone / "mlp_ckpt", capsys)
    assert [t["name"] for t in ckpt["inputs"]] == ["features:0"]  # no ReadVariableOp/resource
    assert [(t["name"], t["shape"]) for t in ckpt["outputs"]] == [("probs:0", [None, 3])]  # no …/Assign


def test_manifest_and_pmml_folder(fixture_file, tmp_path, capsys):
    import modelport

    result = modelport.convert(fixture_file("multi_io"), to="pmml", out_dir=tmp_path / "out", validate=False)
    folder = result.artifacts[0].path
    info = _inspect(folder, capsys)
    assert info["kind"] == "pmml-folder"
    assert sorted(d["function"] for d in info["documents"]) == ["classification", "regression"]
    assert info["signature"]["outputs"][0]["name"] == "label"
    manifest = _inspect(result.manifest_path, capsys)
    assert manifest["kind"] == "modelport-output" and [a["format"] for a in manifest["artifacts"]] == ["pmml"]


def test_tensorflow_log_lines_are_silenced(converted):
    pb = converted("mlp").manifest_path.parent / "mlp.pb"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "modelport", "inspect", str(pb)], capture_output=True, text=True,
                          env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
    assert "fetch probs:0" in proc.stdout
