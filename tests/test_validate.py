"""Parity validation: real artifacts in their real runtimes, real numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.validation_helpers import (
    artifact,
    converted_mlp,
    fixture_model,
    loaded,
    nan_onnx,
    perturb_onnx,
    run_cli,
)


def test_convert_validates_every_artifact_in_its_runtimes():
    result = converted_mlp()
    report = result.parity
    assert report.passed, report.to_dict()
    ran = {(r.format, r.runtime): r for r in report.results}
    # ONNX in ONNX Runtime, pb in TensorFlow and through the C API, PMML in JPMML, PMML4S and a plain JVM
    for key in [("onnx", "onnxruntime"), ("pb", "tensorflow"), ("pb", "tf_c_api"),
                ("pmml", "jpmml"), ("pmml", "pmml4s"), ("pmml", "java")]:
        assert ran[key].status == "pass", (key, ran[key].error, ran[key].skipped)
        out = ran[key].outputs[0]
        assert out.output == "probs" and out.elements == 3 * (1 + 32)
        assert out.max_abs < 1e-5 and out.argmax_agreement == 1.0
        assert ran[key].load_seconds + ran[key].run_seconds > 0
    times = report.to_dict()["timing"]["runtimes"]
    assert {"keras", "onnxruntime", "tensorflow", "tf_c_api", "jpmml", "pmml4s"} <= set(times)
    assert (result.manifest_path.parent / "modelport.golden.npz").is_file()


def test_tf_c_api_reproduces_savedmodel(converted, loaded_fixture):
    """The C program (TF C API, the layer TF Java wraps) loads the SavedModel with tag 'serve'
    (the one the no-traceback sweep wrote and validated in TensorFlow only)."""
    from modelport.validators import validate_artifacts

    lm = loaded_fixture("mlp")
    art = next(a for a in converted("mlp").artifacts if a.format == "savedmodel")
    report = validate_artifacts(lm.model, lm.spec, [art], runtimes=["tf_c_api"])
    r = report.results[0]
    assert r.status == "pass", r.error
    assert r.outputs[0].max_abs < 1e-5


def test_synthetic_inputs_follow_dtype_vocabulary_and_sequence_lengths():
    from modelport.loading import read_spec
    from modelport.validators.inputs import synthetic_cases

    cases = synthetic_cases(read_spec(fixture_model("embedding_text")), (1, 16), seed=3)
    tokens = cases[-1].inputs["tokens"]
    assert tokens.dtype == np.int32 and tokens.shape == (16, 10)
    assert tokens.min() >= 0 and tokens.max() < 50 and len(np.unique(tokens)) > 10  # inside the Embedding vocab
    lstm_cases = synthetic_cases(read_spec(fixture_model("lstm")), (1, 8))
    lengths = {c.inputs["sequence"].shape[1] for c in lstm_cases if c.inputs["sequence"].shape[0] == 8}
    assert len(lengths) >= 3  # a dynamic time dimension gets several sequence lengths
    again = synthetic_cases(read_spec(fixture_model("embedding_text")), (1, 16), seed=3)
    assert np.array_equal(again[-1].inputs["tokens"], tokens)  # seeded


def test_lstm_parity_over_sequence_lengths_in_onnx(converted, loaded_fixture):
    from modelport.validators import validate_artifacts

    lm = loaded_fixture("lstm")
    art = next(a for a in converted("lstm").artifacts if a.format == "onnx")  # converted once per run
    report = validate_artifacts(lm.model, lm.spec, [art], atol=1e-4, rtol=1e-4)
    assert report.passed, report.to_dict()["results"]
    labels = [c["label"] for c in report.inputs["cases"]]
    assert any("len=3" in x for x in labels) and any("len=17" in x for x in labels)


def test_corrupted_onnx_weight_fails_and_names_the_layer(tmp_path):
    from modelport.validators import validate_artifacts

    result = converted_mlp()
    onnx_art = artifact(result, "onnx")
    bad = tmp_path / "bad.onnx"
    perturb_onnx(onnx_art.path, bad, "hidden2")
    onnx_art = type(onnx_art)(**{**onnx_art.__dict__, "path": bad})
    lm = loaded("mlp")
    report = validate_artifacts(lm.model, lm.spec, [onnx_art])
    r = report.results[0]
    assert not report.passed and r.status == "fail"
    assert r.outputs[0].mismatches > 0 and r.outputs[0].max_abs > 1e-3
    assert r.divergence["layer"] == "hidden2" and r.divergence["checked"][0] == "hidden1"


def test_nan_output_and_crashing_runtime_fail_never_pass(tmp_path):
    from modelport.validators import validate_artifacts

    result = converted_mlp()
    onnx_art = artifact(result, "onnx")
    nan_path, broken = tmp_path / "nan.onnx", tmp_path / "broken.onnx"
    nan_onnx(onnx_art.path, nan_path)
    broken.write_bytes(onnx_art.path.read_bytes()[:200])
    arts = [type(onnx_art)(**{**onnx_art.__dict__, "path": p}) for p in (nan_path, broken)]
    lm = loaded("mlp")
    report = validate_artifacts(lm.model, lm.spec, arts, localize=False)
    nan_result, crash = report.results
    assert nan_result.status == "fail" and nan_result.outputs[0].nan_inf_disagreements > 0
    assert crash.status == "error" and "onnxruntime" in crash.error
    assert not report.passed


def test_user_data_and_per_output_tolerance(tmp_path, capsys):
    out_dir = converted_mlp().manifest_path.parent
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "data.npz", features=rng.normal(size=(40, 8)).astype("float32"))
    code, out, err = run_cli(["validate", str(fixture_model("mlp")), str(out_dir / "mlp.onnx"),
                              "--data", str(tmp_path / "data.npz"), "--atol", "probs=1e-12", "--rtol", "0",
                              "--report-json", str(tmp_path / "r.json"), "--no-localize"], capsys)
    import json

    data = json.loads((tmp_path / "r.json").read_text())
    o = data["results"][0]["outputs"][0]
    assert o["atol"] == 1e-12 and o["rtol"] == 0 and o["elements"] == 3 * 41
    assert code == (0 if o["passed"] else 1)
    assert data["inputs"]["source"].endswith("data.npz")


@pytest.mark.parametrize("case", ["shape", "dtype", "other_model", "unknown_runtime", "useless_runtime"])
def test_bad_input_is_one_line_exit_2(case, tmp_path, capsys):
    out_dir = converted_mlp().manifest_path.parent
    model = str(fixture_model("mlp"))
    args = ["validate", model, str(out_dir)]
    if case == "shape":
        np.save(tmp_path / "d.npy", np.zeros((5, 7), "float32"))
        args += ["--data", str(tmp_path / "d.npy")]
    elif case == "dtype":
        np.save(tmp_path / "d.npy", np.array([["a"] * 8]))
        args += ["--data", str(tmp_path / "d.npy")]
    elif case == "other_model":
        args = ["validate", str(fixture_model("batchnorm")), str(out_dir / "mlp.onnx")]
    elif case == "unknown_runtime":
        args += ["--runtimes", "nosuch"]
    else:
        args = ["validate", model, str(out_dir / "mlp.onnx"), "--runtimes", "jpmml"]
    code, out, err = run_cli(args, capsys)
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_tolerance_precedence_and_parsing():
    from modelport.errors import BadInputError
    from modelport.validators.tolerance import from_cli

    tol = from_cli(["2e-5", "score=1e-3", "onnx=1e-4", "onnx:score=5e-3"], ["0"])
    assert tol.bound("other").atol == 2e-5 and tol.bound("other").rtol == 0
    assert tol.bound("score").atol == 1e-3
    assert tol.bound("other", "onnx").atol == 1e-4
    assert tol.bound("score", "onnx").atol == 5e-3
    assert tol.bound("score", "pb").atol == 1e-3
    with pytest.raises(BadInputError):
        from_cli(["abc"], None)
