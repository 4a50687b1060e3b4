"""scikit-learn pipelines as a source: converted once per session to PMML (sklearn2pmml, nyoka) and
ONNX (skl2onnx), validated in JPMML, PMML4S, the plain-Java program and ONNX Runtime against the
estimator's own predict/predict_proba; also checked here against the pipeline as fitted in this
process (not the one read back from the file), the gate, Spark, the CLI's answers and the verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn_models import mixed_frame, save

import modelport
from modelport import api
from modelport.errors import EXIT_UNSUPPORTED, UnsupportedTargetError

PMML_RUNTIMES = {"jpmml", "pmml4s", "java"}


@pytest.fixture(scope="session")
def sk_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sklearn")


@pytest.fixture(scope="session")
def sk_model(sk_dir):
    """sk_model(name) -> (skops path, the fitted estimator, its training inputs), built once."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = save(name, sk_dir)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def converted(sk_model, sk_dir):
    """converted(name, to, backend) -> ConversionResult, each combination converted and validated once."""
    cache = {}

    def get(name, to="pmml,onnx", backend=None):
        key = (name, to, backend)
        if key not in cache:
            path, _, _ = sk_model(name)
            cache[key] = api.convert(path, to, sk_dir / f"{name}-{to.replace(',', '_')}-{backend}",
                                     pmml_backend=backend)
        return cache[key]

    return get


def _results(result):
    return {(r.artifact.split("/")[-1].split(".")[-1], r.runtime): r for r in result.parity.results}


def test_iris_everywhere_with_all(converted, sk_model):
    """--to all: the TensorFlow targets are skipped as not applicable, pmml and onnx pass in every runtime;
    labels exactly, PMML probabilities to float64 rounding, ONNX's to float32's."""
    result = converted("iris_lr", "all")
    assert set(result.skipped) == {"savedmodel", "pb", "ckpt"}
    assert all("not applicable to scikit-learn sources" in r[0] for r in result.skipped.values())
    runs = _results(result)
    assert {rt for fmt, rt in runs if fmt == "pmml"} == PMML_RUNTIMES and ("onnx", "onnxruntime") in runs
    for (fmt, runtime), run in runs.items():
        assert run.status == "pass", (runtime, run.error)
        outs = {o.output: o for o in run.outputs}
        assert outs["label"].max_abs == 0 and outs["label"].atol == 0 and outs["label"].elements == 33
        assert outs["probabilities"].max_abs < (1e-12 if fmt == "pmml" else 1e-5), (runtime, outs["probabilities"].max_abs)
        assert outs["probabilities"].argmax_agreement == 1.0
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["source"]["kind"] == "sklearn" and manifest["source"]["task"] == "classifier"
    assert [c["name"] for c in manifest["source"]["columns"]][0] == "sepal length (cm)"
    assert manifest["source"]["references"][0]["status"] == "pass"


def test_iris_artifacts_match_the_pipeline_fitted_here(converted, sk_model):
    """The second reference: the estimator as fitted in this process (not read back from the file),
    on the training rows, against the ONNX in ONNX Runtime and the PMML in JPMML."""
    import onnxruntime as ort

    from modelport.runtimes import open_session

    result = converted("iris_lr", "all")
    _, estimator, x = sk_model("iris_lr")
    session = ort.InferenceSession(str(next(a.path for a in result.artifacts if a.format == "onnx")))
    label, proba = session.run(["label", "probabilities"], {"X": x.to_numpy(np.float32)})
    assert np.array_equal(label, estimator.predict(x))
    assert np.abs(proba - estimator.predict_proba(x)).max() < 1e-5
    pmml = open_session("jpmml", next(a for a in result.artifacts if a.format == "pmml"))
    outs = pmml.run({"X": x.to_numpy(np.float64)})
    assert np.array_equal(outs["label"], estimator.predict(x))
    assert np.abs(outs["probabilities"] - estimator.predict_proba(x)).max() < 1e-12
    assert abs(proba - estimator.predict_proba(x)).max() > 0  # float32 ONNX is not float64: the check can see it


def test_mixed_columns_strings_nan_and_string_labels(converted, sk_model):
    """A ColumnTransformer over numbers (NaN imputed) and a string column, string class labels:
    validation inputs respect the kinds (strings, NaN), every runtime agrees with predict_proba."""
    from modelport.validators.golden import load

    result = converted("mixed_gb")
    assert [t.name for t in result.artifacts[0].inputs] == ["size", "weight", "colour"]
    for (fmt, runtime), run in _results(result).items():
        assert run.status == "pass", (fmt, runtime, run.error)
        outs = {o.output: o for o in run.outputs}
        assert outs["label"].max_abs == 0
        assert outs["probabilities"].max_abs < (1e-12 if fmt == "pmml" else 1e-5)
    cases, expected = load(result.parity.golden_path if result.parity.golden_path.exists()
                           else result.manifest_path.parent / "modelport.golden.npz")
    big = cases[-1].inputs
    assert set(big["colour"].ravel()) <= {"red", "green", "blue", "violet"} and len(set(big["colour"].ravel())) > 1
    assert None not in set(big["colour"].ravel())  # no imputer in front of the encoder: no missing strings
    assert all(np.isnan(big[c].astype(float)).any() for c in ("size", "weight"))  # the imputer fills both
    assert set(expected[-1]["label"]) <= {"big", "blue", "other"} and len(set(expected[-1]["label"])) > 1
    _, estimator, _ = sk_model("mixed_gb")
    frame, _ = mixed_frame(50, seed=7)  # new rows, through the estimator fitted here and the PMML in Java
    from modelport.runtimes import open_session

    pmml = open_session("java", next(a for a in result.artifacts if a.format == "pmml"))
    outs = pmml.run({c: frame[[c]].to_numpy(object if c == "colour" else float) for c in frame.columns})
    assert list(outs["label"]) == list(estimator.predict(frame))
    assert np.abs(outs["probabilities"] - estimator.predict_proba(frame)).max() < 1e-12


def test_regressor_onnx_and_nyoka_pmml(converted, sk_model):
    """A regressor (numpy columns x0..x9): ONNX in float32 within the default tolerance of predict;
    nyoka's PMML for a decision tree matches predict and predict_proba exactly."""
    result = converted("diabetes_ridge", "onnx")
    (run,) = result.parity.results
    assert run.status == "pass", run.error
    assert [t.name for t in result.artifacts[0].outputs] == ["prediction"] and run.outputs[0].max_abs > 0
    tree = converted("wine_tree", "pmml", "nyoka")
    assert tree.artifacts[0].details["backend"] == "nyoka"
    for run in tree.parity.results:
        assert run.status == "pass", (run.runtime, run.error)
        assert {o.output: o.max_abs for o in run.outputs}["probabilities"] < 1e-12


def test_gate_and_spark_score_the_artifacts(converted, sk_model, spark):
    """The gate re-runs the golden cases; Spark scores the same folder through both routes."""
    from modelport.gate import run_gate

    result = converted("iris_lr", "all")
    assert "scikit-learn" in result.parity.runtime_seconds() and "keras" not in result.parity.runtime_seconds()
    assert run_gate(result.manifest_path.parent)
    _, estimator, x = sk_model("iris_lr")
    df = spark.createDataFrame(x.assign(id=np.arange(len(x))))
    for via in ("onnx", "pmml"):
        out = modelport.spark.score(df, result.manifest_path.parent, via=via, keep=["id"]).toPandas()
        out = out.sort_values("id")
        assert out["modelport_error"].isna().all()
        assert np.array_equal(out["label"].to_numpy().astype(int), estimator.predict(x)), via
        proba = np.stack(out["probabilities"].to_numpy())
        assert np.abs(proba - estimator.predict_proba(x)).max() < (1e-12 if via == "pmml" else 1e-5), via


def test_spark_scores_strings_and_missing_values(converted, sk_model, spark):
    """The mixed pipeline on Spark: the string column goes in as text, NaN and null in the imputed
    columns are scored (PMML: a missing value; ONNX: NaN), a null string is a row error on both routes."""
    from pyspark.sql import functions as F

    result = converted("mixed_gb")
    _, estimator, _ = sk_model("mixed_gb")
    frame, _ = mixed_frame(60, seed=11)
    frame.loc[[0, 5], "size"] = np.nan
    df = spark.createDataFrame(frame.assign(id=np.arange(len(frame))))
    df = df.withColumn("weight", F.when(F.col("id").isin(2, 9), None).otherwise(F.col("weight")))  # SQL null
    frame.loc[[2, 9], "weight"] = np.nan
    df = df.withColumn("colour", F.when(F.col("id") == 7, None).otherwise(F.col("colour")))
    assert frame["weight"].isna().sum() > 2 and frame["size"].isna().sum() == 2
    expected_label, expected_proba = estimator.predict(frame), estimator.predict_proba(frame)
    scored = np.arange(len(frame)) != 7
    assert len(set(expected_label)) > 1
    for via in ("onnx", "pmml"):
        out = modelport.spark.score(df, result.manifest_path.parent, via=via, keep=["id"]).toPandas().sort_values("id")
        assert list(out["modelport_error"].isna()) == list(scored), (via, out["modelport_error"].unique())
        assert out["modelport_error"].iloc[7] == "input 'colour' is null", via
        assert out["label"].isna().iloc[7] and out["probabilities"].isna().iloc[7], via
        assert list(out["label"][scored]) == list(expected_label[scored]), via
        proba = np.stack(out["probabilities"][scored].to_numpy())
        assert np.abs(proba - expected_proba[scored]).max() < (1e-12 if via == "pmml" else 1e-5), via


def test_verdicts_come_from_the_backends_registries(sk_dir, sk_model):
    """KernelRidge: sklearn2pmml has a converter, skl2onnx none; nyoka misconverts multinomial
    LogisticRegression (measured): analyze says so per step and target."""
    import skops.io as sio
    from sklearn.kernel_ridge import KernelRidge

    path = sk_dir / "kernel_ridge.skops"
    x = np.random.default_rng(0).normal(size=(40, 2))
    sio.dump(KernelRidge(kernel="linear").fit(x, x @ [1.0, -2.0]), path)
    analysis = api.analyze(path, "onnx,pmml")
    assert analysis.ok_for("pmml") and not analysis.ok_for("onnx")
    assert "skl2onnx has no converter" in analysis.unsupported("onnx")[0].reason
    iris = api.analyze(sk_model("iris_lr")[0], "pmml", pmml_backend="nyoka")
    assert [f.class_name for f in iris.unsupported("pmml")] == ["LogisticRegression"]
    with pytest.raises(UnsupportedTargetError) as e:
        api.convert(path, "onnx", sk_dir / "kernel-ridge-out")
    assert e.value.exit_code == EXIT_UNSUPPORTED and not (sk_dir / "kernel-ridge-out").exists()


def test_cli_answers(sk_model, tmp_path, capsys):
    from validation_helpers import run_cli

    path, _, _ = sk_model("iris_lr")
    code, _, err = run_cli(["convert", str(path), "--to", "pb", "-o", str(tmp_path / "a")], capsys)
    assert code == 3 and "pb is not applicable to scikit-learn sources" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["convert", str(path), "--pmml-backend", "jpmml", "-o", str(tmp_path / "b")], capsys)
    assert code == 2 and "unknown PMML backend 'jpmml'" in err and not (tmp_path / "b").exists()
    code, _, err = run_cli(["convert", str(path), "--to", "pmml", "--class-labels", "a,b,c", "-o", str(tmp_path / "c")],
                           capsys)
    assert code == 2 and "--class-labels applies to Keras models" in err and not (tmp_path / "c").exists()
    code, out, _ = run_cli(["analyze", str(path), "--to", "onnx,pmml", "--json"], capsys)
    targets = json.loads(out)["targets"]
    verdicts = {(f["layer"], t): f["verdict"] for t, entry in targets.items() for f in entry["layers"]}
    assert code == 0 and verdicts[("clf", "pmml")] == verdicts[("scale", "onnx")] == "native"


def test_the_registry_picks_the_converter_for_the_source():
    from modelport import convert as registry

    for target in ("pmml", "onnx"):
        assert registry.get(target).sources == ("keras",)
        assert registry.get(target, "sklearn").sources == ("sklearn",)
    assert registry.get("savedmodel", "sklearn").sources == ()  # not applicable: one model-wide finding


def test_loaded_estimator_holds_every_array_the_file_stores(converted, sk_model):
    """The audit reads the skops archive's arrays raw (numpy, no skops) and finds each in what loaded;
    a changed coefficient or tree threshold is caught, naming the count."""
    import skops.io as sio

    from modelport.errors import BadInputError
    from modelport.sklearn.audit import audit

    manifest = json.loads(converted("mixed_gb").manifest_path.read_text())
    weights = manifest["source"]["weights"]
    assert weights["status"] == "ok" and weights["arrays"] > 100 and weights["values"] > 10_000, weights
    for name, tamper in (("iris_lr", lambda e: e.named_steps["clf"].coef_.__setitem__((0, 0), 9.0)),
                         ("wine_tree", lambda e: e.tree_.threshold.__setitem__(0, -1.0))):
        path, _, _ = sk_model(name)
        estimator = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        assert audit(path, estimator, "skops").status == "ok"
        tamper(estimator)
        with pytest.raises(BadInputError, match="are not in the loaded estimator"):
            audit(path, estimator, "skops")
    assert audit(path, estimator, "joblib").status.startswith("not audited")
