"""`modelport analyze`: verdicts per target and layer from the config alone, every problem listed,
exit 0/3, a JSON form that follows docs/analyze-schema.json; `convert` stops before writing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNSUPPORTED = ["conv1d", "conv2d", "simple_rnn", "gru", "lstm", "bidirectional", "attention"]


@pytest.fixture(scope="session")
def unsupported_files(tmp_path_factory):
    """name -> saved .keras file of a model PMML cannot express (the layer is named ``name``)."""
    from fixtures import pmml_models

    root = tmp_path_factory.mktemp("unsupported")
    files = {}
    for name, model in pmml_models.unsupported().items():
        files[name] = root / f"{name}.keras"
        model.save(files[name])
    return files


@pytest.fixture(scope="session")
def lambda_file(tmp_path_factory):
    from fixtures.models import _keras

    keras = _keras()
    inp = keras.Input((4,), name="x")
    h = keras.layers.Lambda(lambda t: t * 2.0, name="double_it")(inp)
    out = keras.layers.Dense(2, name="out")(h)
    path = tmp_path_factory.mktemp("lambda") / "lambda.keras"
    keras.Model(inp, out).save(path)
    return path


@pytest.fixture(scope="session")
def schema():
    return json.loads((REPO / "docs" / "analyze-schema.json").read_text())


def _cli(args, capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run(args)
    out = capsys.readouterr()
    return exc.value.code or 0, out.out, out.err


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_pmml_cannot_express_layer_exit_3(unsupported_files, capsys, name, schema):
    import jsonschema

    code, out, _ = _cli(["analyze", str(unsupported_files[name]), "--to", "pmml", "--json"], capsys)
    assert code == 3
    report = json.loads(out)
    jsonschema.validate(report, schema)
    bad = [la for la in report["targets"]["pmml"]["layers"] if la["verdict"] == "unsupported"]
    # the gru fixture's input has a dynamic time axis: the input is named, with --sequence-length as the way out
    assert [la["layer"] for la in bad] == (["seq"] if name == "gru" else [name])
    assert bad[0]["reason"] and "onnx" in bad[0]["hint"]
    assert report["ok"] is False and report["targets"]["pmml"]["counts"]["unsupported"] == 1


def test_table_lists_every_problem_and_every_target(tmp_path, capsys):
    from fixtures.models import _keras

    keras = _keras()
    inp = keras.Input((None, 3), name="seq")  # a dynamic time axis: PMML cannot unroll it
    h = keras.layers.LSTM(4, return_sequences=True, name="first_lstm")(inp)
    h = keras.layers.GRU(3, name="then_gru")(h)
    out = keras.layers.Dense(2, activation="leaky_relu", name="head")(h)
    path = tmp_path / "two_problems.keras"
    keras.Model(inp, out).save(path)
    code, text, _ = _cli(["analyze", str(path), "--to", "pmml,onnx"], capsys)
    assert code == 3
    # the dynamic input itself is the one problem, named once with the way out; the RNNs are rewrites
    assert "layer 'seq'" in text and "fixed input shape" in text and "--sequence-length" in text
    assert "lstm-unroll" in text and "gru-unroll" in text
    assert "leaky-relu-split" in text  # the rewrite rule is named
    assert "pmml: CANNOT express" in text and "onnx: can express" in text


def test_supported_model_exit_0_with_rewrites(tmp_path, capsys, schema):
    import jsonschema

    from fixtures import save

    path = save("batchnorm", tmp_path, "h5")
    code, out, _ = _cli(["analyze", str(path), "--to", "pmml", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    jsonschema.validate(report, schema)
    rules = {la["layer"]: la.get("rule") for la in report["targets"]["pmml"]["layers"]}
    assert rules["bn1"] == rules["bn2"] == "batchnorm-fold"


def test_analyze_does_not_import_tensorflow(unsupported_files):
    code = (
        "import sys\nfrom modelport.cli import run\n"
        "try:\n    run(['analyze', sys.argv[1], '--to', 'pmml', '--json'])\nexcept SystemExit as e:\n    rc = e.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tf_keras', 'jpype', 'onnxruntime') if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\nsys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(unsupported_files["lstm"])], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.strip().endswith("[]"), proc.stderr


def test_all_means_what_convert_means(unsupported_files, capsys):
    """`--to all` (the default) is every target that can express the model, as in convert: an LSTM
    PMML cannot express still exits 0, with PMML's verdict listed; only a named target exits 3."""
    code, out, _ = _cli(["analyze", str(unsupported_files["lstm"]), "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["targets"]["pmml"]["ok"] is False and report["targets"]["onnx"]["ok"] is True
    code, _, _ = _cli(["analyze", str(unsupported_files["lstm"]), "--to", "ONNX,pmml", "--format", "JSON"], capsys)
    assert code == 3  # the old --format spelling still works, in any case


def test_convert_stops_before_writing(unsupported_files, tmp_path):
    from modelport import api
    from modelport.errors import UnsupportedTargetError

    out = tmp_path / "out"
    with pytest.raises(UnsupportedTargetError) as exc:
        api.convert(unsupported_files["gru"], to="pmml,onnx", out_dir=out, validate=False)
    assert exc.value.exit_code == 3 and "seq" in str(exc.value)
    assert "--sequence-length" in exc.value.findings[0].hint
    assert [f.layer for f in exc.value.findings] == ["seq"]
    assert not out.exists() or not any(out.iterdir())


def test_lambda_is_unsupported_even_when_trusted(lambda_file, tmp_path, capsys):
    from modelport import api
    from modelport.errors import UnsupportedTargetError

    # analyze only reads the config: no refusal, but a note that convert needs the opt-in
    code, text, err = _cli(["analyze", str(lambda_file), "--to", "pmml"], capsys)
    assert code == 3 and "double_it" in text and "--trust-code" in err and "error" not in err
    code, text, _ = _cli(["analyze", str(lambda_file), "--to", "pmml", "--trust-code"], capsys)
    assert code == 3 and "double_it" in text
    with pytest.raises(UnsupportedTargetError, match="double_it"):
        api.convert(lambda_file, to="pmml", out_dir=tmp_path / "out", trust_code=True, validate=False)
