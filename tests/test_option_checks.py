"""Every user-supplied path, value and name is checked before any work: exit 2, one line with a
hint, nothing written; option-parsing errors in the same style; -h, --version, MODEL."""

from __future__ import annotations

import pytest


def _cli(args, capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "(hint: " in lines[0], err
    return lines[0]


@pytest.mark.parametrize(("args", "needle"), [
    (["--atol", "probz=0"], "'probz' names no output or format"),
    (["--atol", "onxx=0"], "'onxx' names no output or format"),
    (["--atol", "onnx:probz=0"], "'onnx:probz'"),
    (["--atol", "=1e-4"], "no name before '='"),
    (["--atol", "1e-5,1e-4"], "two default values"),
    (["--opset", "0"], "opset 0 is not supported"),
    (["--to", "pb", "--opset", "13"], "--opset applies to onnx"),
    (["--to", "onnx", "--class-labels", "a,b"], "--class-labels applies to pmml"),
    (["--junit", "no/such/folder/report.xml"], "folder"),
    (["--to", "onxx"], "unknown target 'onxx'"),
    (["--opset", "abc"], "'abc' is not a valid int"),
])
def test_convert_refuses_before_any_work(fixture_file, tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    code, _, err = _cli(["convert", fixture_file("mlp"), "-o", out, *args], capsys)
    assert code == 2, err
    assert needle in _one_line(err)
    assert not out.exists()


def test_validate_checks_tolerance_names_and_csv_header(converted, fixture_file, tmp_path, capsys):
    out = converted("mlp").manifest_path.parent
    code, _, err = _cli(["validate", fixture_file("mlp"), out, "--atol", "probz=1e-3"], capsys)
    assert code == 2 and "'probz' names no output" in _one_line(err) and "outputs: probs" in err
    headless = tmp_path / "rows.csv"
    headless.write_text("\n".join(",".join(["0.5"] * 8) for _ in range(3)) + "\n")
    code, _, err = _cli(["validate", fixture_file("mlp"), out, "--data", headless, "--runtimes", "onnxruntime"], capsys)
    assert code == 2 and "has no header row" in _one_line(err)


def test_gate_checks_the_policy_names(converted, tmp_path, capsys):
    out = converted("mlp").manifest_path.parent
    policy = tmp_path / "modelport.toml"
    policy.write_text('[per_output]\nprobz = 1e-3\n')
    code, _, err = _cli(["gate", out, "--policy", policy], capsys)
    assert code == 2 and "'probz' names no output" in _one_line(err) and str(policy) in err
    policy.write_text('required_formats = ["onxx"]\n')
    code, _, err = _cli(["gate", out, "--policy", policy], capsys)
    assert code == 2 and "unknown required format 'onxx'" in _one_line(err)


def test_usage_errors_help_and_version(capsys):
    code, _, err = _cli(["convert"], capsys)
    assert code == 2 and _one_line(err) == "error: missing argument 'MODEL' (hint: see `modelport convert --help`)"
    code, _, err = _cli(["analyze", "m.h5", "--bogus"], capsys)
    assert code == 2 and "no such option: --bogus" in _one_line(err)
    code, out, _ = _cli(["convert", "-h"], capsys)
    assert code == 0 and out.startswith("Usage: modelport convert [OPTIONS] MODEL")
    code, out, _ = _cli(["--version"], capsys)
    from modelport import __version__

    assert code == 0 and out.strip() == f"modelport {__version__}"


def test_debug_adds_the_traceback_and_keeps_the_code(tmp_path, capsys):
    code, _, err = _cli(["convert", tmp_path / "nope.h5", "--debug"], capsys)
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error:")


def test_the_convert_program_names_itself(capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run(["-h"], prefix=["convert"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("Usage: convert [OPTIONS] MODEL")
    with pytest.raises(SystemExit) as exc:
        run([], prefix=["convert"])
    assert exc.value.code == 2 and "see `convert --help`" in capsys.readouterr().err


def test_convert_json_carries_the_validation_and_the_reason(fixture_file, tmp_path, capsys):
    import json

    args = ["convert", fixture_file("mlp"), "--to", "onnx", "--runtimes", "onnxruntime", "--json"]
    code, out, _ = _cli([*args, "-o", tmp_path / "ok"], capsys)
    result = json.loads(out)
    assert code == 0 and result["exit_code"] == 0 and result["reason"] is None
    assert result["validation"]["passed"] is True and result["validation"]["results"][0]["runtime"] == "onnxruntime"
    # ONNX Runtime's float32 kernels differ from Keras's in the last bits: zero tolerance fails
    code, out, _ = _cli([*args, "-o", tmp_path / "strict", "--atol", "0", "--rtol", "0"], capsys)
    result = json.loads(out)
    assert code == 1 and result["exit_code"] == 1 and result["validation"]["passed"] is False
    assert result["reason"].startswith("mlp.onnx in onnxruntime: probs (max abs ")


def test_debug_does_not_leak_into_the_callers_environment(tmp_path, capsys):
    import os

    assert "MODELPORT_DEBUG" not in os.environ
    _cli(["convert", tmp_path / "nope.h5", "--debug"], capsys)
    assert "MODELPORT_DEBUG" not in os.environ  # later subprocesses would print TensorFlow's chatter
