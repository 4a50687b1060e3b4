"""No traceback reaches a user: an exception from a dependency during load, convert or validate is
one line naming the stage, the artifact and (where known) the layer, with the documented exit code.

The sweep runs `convert --to all` through the CLI entry point, in this process (TensorFlow and the
JVM are already up for the rest of the suite), over every fixture model and every corpus file.
Validation runs in the in-process runtimes only (tensorflow, onnxruntime, jpmml): the
subprocess runtimes (tf_c_api, java) and PMML4S's gateway add minutes and no new stage.
Each file is swept once per session (the `swept` fixture in conftest.py): the parity tests of the
fixture models and of the corpus check the very artifacts the sweep wrote.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import corpus_path

CORPUS = sorted(p.name for p in corpus_path().glob("*") if p.suffix not in (".md", ".json")) \
    if corpus_path().is_dir() else []
ARCHITECTURE = {"ddpg_torcs_actor.h5": "ddpg_torcs_actor.json"}


def _cli(args, capsys):
    from modelport.cli import run

    with pytest.raises(SystemExit) as exc:
        run([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def _assert_clean(code, err, allowed=(0, 2, 3)):
    assert "Traceback" not in err, err
    assert code in allowed, (code, err)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if code:
        assert len(errors) == 1, err
        assert errors[0] == err.strip().splitlines()[-1], err  # the error is the last word
    else:
        assert not errors, err


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "gru", "bidirectional", "embedding_text", "batchnorm",
                                  "multi_io"])
def test_convert_all_fixture_models(name, fixture_file, swept):
    from fixtures import FIXTURES

    assert name in FIXTURES
    run = swept(fixture_file(name))
    _assert_clean(run.code, run.err)


def test_the_sweep_covers_every_fixture():
    from fixtures import FIXTURES

    parametrized = test_convert_all_fixture_models.pytestmark[0].args[1]
    assert sorted(parametrized) == sorted(FIXTURES)


@pytest.mark.parametrize("name", CORPUS)
def test_convert_all_corpus_files(name, corpus_dir, swept):
    extra = ["--architecture", corpus_dir / ARCHITECTURE[name]] if name in ARCHITECTURE else []
    run = swept(corpus_dir / name, *extra)
    _assert_clean(run.code, run.err)


def test_reference_rejecting_the_data_is_one_line_exit_2(fixture_file, tmp_path, capsys):
    """Keras's Embedding rejects ids outside its vocabulary: bad input (exit 2), the layer named,
    nothing written; --debug adds the traceback and keeps the code."""
    ids = np.full((4, 10), 999, dtype="int32")  # the vocabulary has 50 ids
    data = tmp_path / "ids.npz"
    np.savez(data, tokens=ids)
    out = tmp_path / "out"
    args = ["convert", fixture_file("embedding_text"), "--to", "onnx", "-o", out, "--data", data]
    code, _, err = _cli(args, capsys)
    _assert_clean(code, err, allowed=(2,))
    assert "validate failed for the Keras reference at layer 'embed'" in err and "--data" in err
    assert not out.exists() or not any(out.iterdir())
    code, _, err = _cli([*args, "--debug"], capsys)
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error:")


class _BrokenConverter:
    """A converter whose dependency fails mid-export, as tf2onnx or the TF freezer do on a layer
    they do not handle. It writes half a file first: nothing of it may survive."""

    target, suffix = "onnx", ".onnx"

    def __init__(self, real):
        self.real = real

    def check(self, spec):
        return self.real.check(spec)

    def export(self, model, spec, dest, options):
        dest.write_bytes(b"half an artifact")
        raise RuntimeError("No Op registered for Erfc with these attrs in node mlp/hidden2/Erfc\nsecond line")


@pytest.fixture
def broken_onnx(monkeypatch):
    import modelport.convert as registry

    real_get = registry.get
    monkeypatch.setattr(registry, "get", lambda t, *kind: _BrokenConverter(real_get(t, *kind)) if t == "onnx" else real_get(t, *kind))


def test_a_failing_converter_is_exit_3_naming_stage_artifact_and_layer(broken_onnx, fixture_file, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _cli(["convert", fixture_file("mlp"), "--to", "onnx", "-o", out, "--no-validate"], capsys)
    _assert_clean(code, err, allowed=(3,))
    assert "convert failed for mlp.onnx at layer 'hidden2': RuntimeError: No Op registered for Erfc" in err
    assert "second line" not in err
    assert not out.exists() or not any(out.iterdir())


def test_with_all_a_failing_converter_is_skipped_with_its_reason(broken_onnx, fixture_file, tmp_path, capsys):
    import json

    out = tmp_path / "out"
    code, stdout, err = _cli(["convert", fixture_file("mlp"), "--to", "all", "-o", out, "--no-validate", "--json"],
                             capsys)
    _assert_clean(code, err, allowed=(0,))
    result = json.loads(stdout)
    assert "No Op registered for Erfc" in result["skipped"]["onnx"][0]
    assert sorted(a["format"] for a in result["artifacts"]) == ["ckpt", "pb", "pmml", "savedmodel"]
    assert not (out / "mlp.onnx").exists()
    assert not [p for p in os.listdir(out) if p.startswith(".modelport-tmp-")]


def test_stage_names_the_layer_from_keras_and_graph_messages():
    from modelport.errors import StageError, layer_named_in, stage

    keras_style = ValueError("Exception encountered when calling layer 'dense_1' (type Dense).")
    assert layer_named_in(keras_style, ["dense", "dense_1"]) == "dense_1"
    graph_style = RuntimeError("node model/conv2/Relu failed")
    assert layer_named_in(graph_style, ["conv", "conv2"]) == "conv2"
    assert layer_named_in(RuntimeError("the output shape is wrong"), ["output"]) is None
    with pytest.raises(StageError) as exc, stage("load", "m.h5"):
        raise OSError("Unable to synchronously open object (bad symbol table)")
    assert exc.value.exit_code == 2 and str(exc.value).startswith("load failed for m.h5: OSError: Unable")


def test_all_skips_a_target_whose_export_refuses_and_writes_the_others(tmp_path, capsys):
    """`--to all` on a model with a dynamic length: the PMML export refuses (fixed shapes only);
    the other targets are written and validated, exit 0, the reason named."""
    import json

    from fixtures.edge_models import dynamic_dense

    model = tmp_path / "dynamic.keras"
    dynamic_dense().save(model)
    out = tmp_path / "out"
    code, stdout, err = _cli(["convert", model, "--to", "all", "-o", out, "--runtimes", "tensorflow,onnxruntime",
                              "--json"], capsys)
    _assert_clean(code, err, allowed=(0,))
    result = json.loads(stdout)
    assert "fixed input shape" in result["skipped"]["pmml"][0]
    assert sorted(a["format"] for a in result["artifacts"]) == ["ckpt", "onnx", "pb", "savedmodel"]
    assert result["validation"]["passed"] is True
    assert not (out / "dynamic.pmml").exists()
