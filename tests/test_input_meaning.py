"""Inputs drawn from what the model means (issue 9, problems 3, 4 and 7b).

Fixtures are built to the shape of real files: Keras 2 text classifiers and a seq2seq model whose
float32-declared inputs reach an Embedding of 10000 words (validation fed them -1 and crashed), the
Keras docs' structured-data recipe (string inputs: refused as unloadable), and a model whose
outputs do not depend on its inputs (parity on it passed vacuously).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import modelport
from modelport import api
from modelport.api import read_spec
from modelport.validators.inputs import make_cases

TF_TARGETS = {"savedmodel", "pb", "ckpt", "onnx"}
FAST_RUNTIMES = ["tensorflow", "onnxruntime"]  # the C API runner is covered elsewhere; here it only costs time


def _domains(path, model=None):
    from modelport.validators.input_domains import input_domains

    return input_domains(read_spec(path) if model is None else model.spec,
                         None if model is None else model.model)


@pytest.mark.parametrize(("name", "fmt"), [("text_classifier_keras2", "h5"), ("text_classifier", "keras")])
def test_float_declared_ids_reach_the_embedding_and_convert_to_all(name, fmt, fixture_file, tmp_path):
    """A tf.keras 2 .h5 (Sequential, implicit float32 input) and a Keras 3 .keras: ids, never -1."""
    path = fixture_file(name, fmt)
    result = modelport.convert(path, to="all", out_dir=tmp_path / "out", runtimes=FAST_RUNTIMES)
    assert result.parity.passed, result.parity.to_dict()
    assert {a.format for a in result.artifacts} == TF_TARGETS
    assert "exceed the PMML size limit" in result.skipped["pmml"][0]  # 10000 x 16 x 20 MapValues rows
    assert not result.parity.vacuous
    golden = np.load(tmp_path / "out" / "modelport.golden.npz")
    ids = np.concatenate([golden[k].ravel() for k in golden.files if "/in/" in k])
    assert golden[next(k for k in golden.files if "/in/" in k)].dtype == np.float32  # the declared dtype
    assert np.all(ids == np.round(ids)) and ids.min() >= 0 and ids.max() < 10000 and len(np.unique(ids)) > 100


def test_seq2seq_each_input_stays_inside_its_own_vocabulary(fixture_file, tmp_path):
    path = fixture_file("seq2seq", "keras")
    domains = _domains(path)  # from the file's config alone
    assert domains["encoder_tokens"].ids_below == 10000 and domains["decoder_tokens"].ids_below == 800
    result = modelport.convert(path, to="all", out_dir=tmp_path / "out", runtimes=FAST_RUNTIMES,
                               batch_sizes=(1, 8))
    assert result.parity.passed and {a.format for a in result.artifacts} == TF_TARGETS
    cases = result.parity.cases
    assert max(c.inputs["decoder_tokens"].max() for c in cases) < 800
    assert max(c.inputs["encoder_tokens"].max() for c in cases) >= 800  # the encoder's own, larger vocabulary


def test_ids_found_through_reshape_and_mask(fixture_file):
    domains = _domains(fixture_file("text_masked", "keras"))
    assert domains["token_grid"].ids_below == 10000
    assert [d.ids_below for d in _domains(fixture_file("text_classifier", "h5")).values()] == [10000]


def test_ids_found_through_keras2_casts_and_concatenation():
    """Config-level walk (no TensorFlow): tf.cast (TFOpLambda) and Concatenate pass ids on; every
    vocabulary reached counts; a Dense stops the walk."""
    from modelport.spec import LayerSpec, ModelSpec, TensorSpec
    from modelport.validators.input_domains import input_domains

    layers = [
        LayerSpec("a", "InputLayer"), LayerSpec("b", "InputLayer"), LayerSpec("x", "InputLayer"),
        LayerSpec("cast", "TFOpLambda", {"function": "cast"}, ("a",)),
        LayerSpec("both", "Concatenate", {}, ("cast", "b")),
        LayerSpec("big", "Embedding", {"input_dim": 5000}, ("both",)),
        LayerSpec("small", "Embedding", {"input_dim": 30}, ("b",)),
        LayerSpec("dense", "Dense", {}, ("x",)),
        LayerSpec("after", "Embedding", {"input_dim": 7}, ("dense",)),
    ]
    spec = ModelSpec("m", "json", "Functional", layers,
                     [TensorSpec("a", (None, 4)), TensorSpec("b", (None, 4)), TensorSpec("x", (None, 4))], [])
    domains = input_domains(spec)
    assert domains["a"].ids_below == 5000 and domains["b"].ids_below == 30 and "x" not in domains
    drawn = make_cases(spec, batch_sizes=(64,))[0].inputs
    assert drawn["a"].dtype == np.float32 and drawn["a"].min() >= 0 and drawn["a"].max() < 5000
    assert drawn["b"].max() < 30 and drawn["x"].min() < 0  # plain numbers stay standard normal


def test_structured_data_recipe_loads_and_converts_where_it_can(fixture_file, tmp_path):
    from fixtures.input_models import NUMERIC, STRING_CATEGORICAL, structured_rows

    path = fixture_file("structured_data", "keras")
    result = modelport.convert(path, to="all", out_dir=tmp_path / "out")
    assert [a.format for a in result.artifacts] == ["savedmodel"]
    assert result.parity.passed and not result.parity.vacuous
    statuses = {r.runtime: (r.status, r.skipped) for r in result.parity.results}
    assert statuses["tensorflow"][0] == "pass" and "numeric tensors only" in statuses["tf_c_api"][1]
    for target, reason in [("pb", "frozen graph"), ("ckpt", "checkpoint"), ("onnx", "tf2onnx"),
                           ("pmml", "not translated to PMML")]:
        assert any(reason in line and "thal_lookup (StringLookup)" in line for line in result.skipped[target]), target
    case = result.parity.cases[-1].inputs
    assert set(case["thal"].ravel()) <= set(STRING_CATEGORICAL["thal"]) and len(set(case["thal"].ravel())) > 1
    assert abs(case["age"].mean() - NUMERIC["age"][0]) < 10  # around the adapted statistics
    assert set(case["ca"].ravel()) <= {0, 1, 2, 3}

    # --data with a string column for the string input
    import pandas as pd

    csv = tmp_path / "rows.csv"
    pd.DataFrame({k: v.ravel() for k, v in structured_rows(16, seed=9).items()}).to_csv(csv, index=False)
    report = modelport.validate(path, tmp_path / "out", data=csv, runtimes=["tensorflow"])
    assert report.passed and report.inputs["cases"][-1]["inputs"]["thal"]["shape"] == [16, 1]


def test_text_and_hashing_inputs_get_strings_and_honest_verdicts(fixture_file, tmp_path):
    path = fixture_file("text_lookup", "keras")
    analysis = api.analyze(path)
    verdicts = {t: {f.layer: f.verdict for f in fs} for t, fs in analysis.findings.items()}
    assert verdicts["savedmodel"]["vectorize"] == "native"
    assert all(verdicts[t]["vectorize"] == "unsupported" for t in ("pb", "ckpt", "onnx", "pmml"))
    assert verdicts["onnx"]["tag_hash"] == "unsupported" and verdicts["pb"]["tag_hash"] == "native"
    loaded = modelport.load(path)
    domains = _domains(path, loaded)
    vocabulary = set(loaded.model.get_layer("vectorize").get_vocabulary(include_special_tokens=False))
    assert set(domains["review"].words) == vocabulary
    inputs = make_cases(loaded.spec, model=loaded.model)[-1].inputs
    assert inputs["review"].dtype.kind == "U" and all(set(t.split()) <= vocabulary for t in inputs["review"].ravel())
    result = modelport.convert(path, to="all", out_dir=tmp_path / "out", runtimes=["tensorflow"])
    assert result.parity.passed and [a.format for a in result.artifacts] == ["savedmodel"]


def test_string_columns_are_checked_against_string_inputs(fixture_file):
    from modelport.errors import BadInputError
    from modelport.validators.inputs import check_data

    spec = read_spec(fixture_file("text_lookup", "keras"))
    ok = check_data({"review": np.array([["good movie"], [b"bad plot"]], dtype=object),
                     "tag": np.array([["x"], ["y"]], dtype=object)}, spec)
    assert ok["review"].dtype.kind == "U" and ok["review"][1, 0] == "bad plot"
    with pytest.raises(BadInputError, match="expects strings"):
        check_data({"review": np.zeros((2, 1)), "tag": np.array([["x"], ["y"]])}, spec)


# ---- vacuous parity ------------------------------------------------------------------------------

def test_degenerate_threshold():
    from modelport.validators.degenerate import output_spread

    rng = np.random.default_rng(0)
    base = np.full((8, 1000), 0.001)
    assert output_spread("p", [base], atol=1e-5).vacuous  # constant
    assert output_spread("p", [base + rng.normal(0, 1e-8, base.shape)], atol=0).vacuous  # below 1e-3 x scale
    assert not output_spread("p", [base + rng.normal(0, 1e-4, base.shape)], atol=0).vacuous
    assert not output_spread("p", [base[:1]], atol=0).judged  # one row shows no variation
    two_lengths = [rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 7, 2))]  # sequence outputs
    assert not output_spread("s", two_lengths, atol=1e-5).vacuous


def test_constant_output_is_called_vacuous_and_strict_fails(fixture_file, tmp_path):
    from typer.testing import CliRunner

    from modelport.cli import app

    path, out = fixture_file("untrained_head", "keras"), tmp_path / "out"
    runner = CliRunner()
    args = ["convert", str(path), "--to", "onnx", "-o", str(out), "--report-json", str(tmp_path / "r.json"),
            "--junit", str(tmp_path / "j.xml"), "--report-html", str(tmp_path / "r.html")]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert "parity is vacuous: the reference does not depend on its inputs — pass --data" in plain.output
    strict = runner.invoke(app, [*args, "--force", "--strict"])
    assert strict.exit_code == 1 and "(--strict)" in strict.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True and report["reference"]["vacuous_outputs"] == ["predictions"]
    manifest = json.loads((out / "modelport.json").read_text())
    assert manifest["parity"]["reference"]["vacuous"] is True
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.find("properties/property").get("value") == "predictions"
    assert "parity is vacuous" in suite.find("system-out").text
    assert "parity is vacuous" in (tmp_path / "r.html").read_text()
    assert runner.invoke(app, ["validate", str(path), str(out), "--strict"]).exit_code == 1
    assert runner.invoke(app, ["validate", str(path), str(out)]).exit_code == 0
    assert runner.invoke(app, ["gate", str(out), "--strict"]).exit_code == 1


def test_fixture_models_are_not_vacuous():
    """Every fixture (and the PMML fixtures) varies with its inputs, so the suite's parity means something."""
    from fixtures import FIXTURES, build, pmml_models
    from fixtures.input_models import INPUT_FIXTURES
    from modelport.loading.spec_builder import spec_from_config
    from modelport.runtimes.keras import call
    from modelport.validators.degenerate import reference_spreads
    from modelport.validators.tolerance import Tolerance

    models = {name: build(name) for name in [*FIXTURES, *INPUT_FIXTURES]}
    models.update({f"pmml:{n}": getattr(pmml_models, n)() for n in ("activations", "constructs", "embedding")})
    models["untrained_head"] = build("untrained_head")
    flagged = []
    for name, model in models.items():
        spec = spec_from_config(json.loads(model.to_json()))
        cases = make_cases(spec, batch_sizes=(1, 16), model=model)
        expected = [dict(zip([t.name for t in spec.outputs], (np.asarray(o) for o in call(
            model, [c.inputs[t.name] for t in spec.inputs])))) for c in cases]
        if any(s.vacuous for s in reference_spreads(expected, Tolerance())):
            flagged.append(name)
    assert flagged == ["untrained_head"]
