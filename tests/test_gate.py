"""The CI gate: re-hash, re-run on golden data without the Keras file, enforce the policy."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.validation_helpers import converted_mlp, perturb_onnx, perturb_pmml, run_cli

FAST = ["--runtimes", "onnxruntime,tensorflow"]


@pytest.fixture()
def out_copy(tmp_path):
    """A copy of the converted output directory (the Keras file is not in it)."""
    src = converted_mlp().manifest_path.parent
    dest = tmp_path / "artifacts"
    shutil.copytree(src, dest)
    return dest


def test_gate_passes_on_untouched_artifacts(out_copy, tmp_path, capsys):
    code, out, err = run_cli(["gate", str(out_copy), "--junit", str(tmp_path / "g.xml")], capsys)
    assert code == 0, out + err
    root = ET.parse(tmp_path / "g.xml").getroot()
    assert int(root.get("failures")) == 0 and int(root.get("errors")) == 0
    names = {(c.get("classname"), c.get("name")) for c in root.iter("testcase")}
    assert ("modelport.pmml.jpmml", "mlp.pmml :: probs") in names
    assert ("modelport.pb.tf_c_api", "mlp.pb :: probs") in names


def test_gate_fails_naming_each_changed_artifact(out_copy, tmp_path, capsys):
    onnx_path, pmml_path = out_copy / "mlp.onnx", out_copy / "mlp.pmml"
    perturb_onnx(onnx_path, tmp_path / "x.onnx", "hidden1")
    shutil.move(tmp_path / "x.onnx", onnx_path)
    perturb_pmml(pmml_path, tmp_path / "x.pmml")
    shutil.move(tmp_path / "x.pmml", pmml_path)
    code, out, err = run_cli(["gate", str(out_copy), "--runtimes", "onnxruntime,pmml4s,tensorflow",
                              "--junit", str(tmp_path / "g.xml"), "--report-json", str(tmp_path / "g.json")], capsys)
    assert code == 1
    assert "mlp.onnx: artifact changed" in out and "mlp.pmml: artifact changed" in out
    report = json.loads((tmp_path / "g.json").read_text())
    status = {(r["artifact"], r["runtime"]): r["status"] for r in report["results"]}
    # not only the hash: the re-run on golden data sees both changes, and the untouched pb still passes
    assert status[("mlp.onnx", "onnxruntime")] == "fail" and status[("mlp.pmml", "pmml4s")] == "fail"
    assert status[("mlp.pb", "tensorflow")] == "pass"
    failed = {c.get("name") for c in ET.parse(tmp_path / "g.xml").getroot().iter("testcase")
              if c.find("failure") is not None}
    assert {"mlp.onnx", "mlp.pmml", "mlp.onnx :: probs", "mlp.pmml :: probs"} <= failed


def test_policy_required_formats_and_size_from_pyproject(out_copy, capsys):
    (out_copy / "pyproject.toml").write_text(
        '[tool.modelport]\nrequired_formats = ["onnx", "savedmodel"]\nmax_artifact_size = "1KB"\n')
    code, out, err = run_cli(["gate", str(out_copy), *FAST], capsys)
    assert code == 1
    assert "required format 'savedmodel' is not in the manifest" in out
    assert "mlp.onnx:" in out and "exceeds the policy's maximum of 1000 bytes" in out


def test_policy_tolerance_is_enforced(out_copy, tmp_path, capsys):
    policy = tmp_path / "modelport.toml"
    policy.write_text("atol = 0\nrtol = 0\n[per_format]\npb = 0\n")
    code, out, err = run_cli(["gate", str(out_copy), "--policy", str(policy), "--runtimes", "onnxruntime",
                              "--report-json", str(tmp_path / "g.json")], capsys)
    report = json.loads((tmp_path / "g.json").read_text())
    onnx = report["results"][0]["outputs"][0]
    assert onnx["atol"] == 0 and onnx["rtol"] == 0
    # ONNX Runtime differs from Keras by float rounding: a zero tolerance must fail it
    assert onnx["max_abs"] > 0 and code == 1


@pytest.mark.parametrize("case", ["missing_dir", "bad_policy", "no_golden", "not_manifest"])
def test_gate_bad_input_exit_2(case, out_copy, tmp_path, capsys):
    target, extra = str(out_copy), []
    if case == "missing_dir":
        target = str(tmp_path / "nope")
    elif case == "bad_policy":
        (tmp_path / "p.toml").write_text("unknown_key = 1\n")
        extra = ["--policy", str(tmp_path / "p.toml")]
    elif case == "no_golden":
        (out_copy / "modelport.golden.npz").unlink()
    else:
        (out_copy / "modelport.json").write_text("{not json")
    code, out, err = run_cli(["gate", target, *extra, *FAST], capsys)
    assert code == 2, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
