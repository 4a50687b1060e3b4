"""A Keras model with its scikit-learn preprocessing as one artifact (issue 13, item 6).

One fixture pair (tests/compose_fixture.py: wine + a string column, ColumnTransformer of
StandardScaler, SimpleImputer→RobustScaler, MinMaxScaler, OneHotEncoder; a trained Keras network
behind it) is converted once to onnx and pmml with ``--preprocess`` and validated in ONNX Runtime,
JPMML, PMML4S and the plain Java program; the tests read that one run and check the artifacts again
by hand against scikit-learn's transform followed by Keras.
"""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from compose_fixture import IMPUTED, REGIONS, build
from conftest import REPO
from validation_helpers import run_cli

NS = {"p": "http://www.dmg.org/PMML-4_4"}


@pytest.fixture(scope="session")
def pair(tmp_path_factory):
    return build(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="session")
def composed(pair, tmp_path_factory):
    from modelport import api

    out = tmp_path_factory.mktemp("composed") / "out"
    return api.convert(pair["model"], "onnx,pmml", out, preprocess=pair["prep"])


@pytest.fixture(scope="session")
def reference(pair):
    """model.predict(prep.transform(X)) on raw rows the test builds itself (gaps and an unknown region)."""
    import keras
    import skops.io as sio

    prep = sio.load(pair["prep"], trusted=sio.get_untrusted_types(file=pair["prep"]))
    model = keras.models.load_model(pair["model"])
    frame = pair["frame"].iloc[::9].reset_index(drop=True).copy()
    frame.loc[0, IMPUTED[0]] = np.nan
    frame.loc[1, "region"] = "atlantis"  # unknown: handle_unknown="ignore" encodes it as all zeros
    numbers = [c for c in frame.columns if c != "region"]
    frame[numbers] = frame[numbers].astype(np.float32).astype(np.float64)  # what a float32 input holds
    expected = model.predict(np.asarray(prep.transform(frame), np.float32), verbose=0)
    return frame, expected


def test_parity_in_every_runtime(composed):
    report = composed.parity
    assert report.passed and not report.vacuous
    ran = {(r.format, r.runtime): r for r in report.results}
    assert set(ran) == {("onnx", "onnxruntime"), ("pmml", "jpmml"), ("pmml", "pmml4s"), ("pmml", "java")}
    for r in ran.values():
        assert r.status == "pass" and r.rows == 33, r.to_dict()
        assert max(o.max_abs for o in r.outputs) < 1e-5
    independent = report.inputs["independent"]
    assert "Keras-only onnx in onnxruntime" in independent["path"]
    assert {(i["artifact"].rsplit("/", 1)[-1], i["passed"]) for i in independent["results"]} == \
        {("wine.onnx", True), ("wine.pmml", True)}
    assert all(i["max_abs"] < 1e-5 for i in independent["results"])
    cases = report.inputs["cases"]
    assert cases[1]["inputs"]["region"]["dtype"].startswith("<U")


def test_onnx_takes_raw_columns(composed, pair, reference):
    import onnxruntime as ort

    onnx_path = next(a.path for a in composed.artifacts if a.format == "onnx")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert list(inputs) == list(pair["frame"].columns)  # "od280/od315_of_diluted_wines" keeps its slash
    assert inputs["region"] == "tensor(string)" and inputs["alcohol"] == "tensor(float)"
    assert [o.name for o in session.get_outputs()] == ["cultivar"]
    frame, expected = reference
    feed = {c: (frame[[c]].to_numpy(object) if c == "region" else frame[[c]].to_numpy(np.float32)) for c in inputs}
    (got,) = session.run(None, feed)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.ptp(expected, axis=0).min() > 0.05  # the outputs vary with the input


def test_pmml_reads_raw_columns(composed, pair, reference):
    from lxml import etree
    from pypmml import Model

    from modelport.runtimes.pmml_xsd import validate_pmml

    pmml_path = next(a.path for a in composed.artifacts if a.format == "pmml")
    validate_pmml(pmml_path)  # PMML 4.4 XSD: the TransformationDictionary and MiningFields in their places
    root = etree.parse(str(pmml_path)).getroot()
    fields = {f.get("name"): f.get("dataType") for f in root.findall("p:DataDictionary/p:DataField", NS)}
    assert fields["region"] == "string" and fields["alcohol"] == "double" and "x1" not in fields
    derived = root.findall("p:TransformationDictionary/p:DerivedField", NS)
    assert [d.get("name") for d in derived] == [f"x{k + 1}" for k in range(pair["width"])]
    assert [d[0].get("value") for d in derived[-len(REGIONS):]] == sorted(REGIONS)  # NormDiscrete per category
    mining = {m.get("name"): m.get("missingValueReplacement") for m in root.iter(f"{{{NS['p']}}}MiningField")}
    median = float(pair["frame"][IMPUTED[0]].median())
    assert float(mining[IMPUTED[0]]) == pytest.approx(median) and mining["alcohol"] is None
    # PMML4S, directly, on the rows with a gap and an unknown category
    frame, expected = reference
    model = Model.fromFile(str(pmml_path))
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]
    got = np.array([[model.predict(r)[f"probability({k})"] for k in range(3)] for r in rows[:4]])
    np.testing.assert_allclose(got, expected[:4], atol=1e-5)


def test_manifest_records_the_preprocessing(composed, pair):
    from modelport.io import sha256_path

    manifest = json.loads(composed.manifest_path.read_text())
    prep = manifest["source"]["preprocessing"]
    assert prep["path"] == "prep.skops" and prep["sha256"] == sha256_path(pair["prep"])
    assert [s["transformers"] for s in prep["steps"]] == [["StandardScaler"], ["SimpleImputer", "RobustScaler"],
                                                          ["MinMaxScaler"], ["OneHotEncoder"]]
    assert {a["format"] for a in manifest["artifacts"]} == {"onnx", "pmml"}
    assert not list(composed.manifest_path.parent.glob("keras-only-*"))  # the plain artifacts were scratch


def test_tensorflow_targets_cannot_hold_it(pair, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(["convert", str(pair["model"]), "--preprocess", str(pair["prep"]), "--to", "savedmodel",
                            "-o", str(out)], capsys)
    assert code == 3 and err.count("error:") == 1 and "Traceback" not in err
    assert "(preprocessing)" in err and "onnx,pmml" in err
    assert not out.exists()
    code, text, _ = run_cli(["analyze", str(pair["model"]), "--preprocess", str(pair["prep"]), "--json"], capsys)
    targets = json.loads(text)["targets"]
    assert code == 0 and not targets["pb"]["ok"] and targets["onnx"]["ok"] and targets["pmml"]["ok"]
    steps = [la for la in targets["pmml"]["layers"] if la["layer"].startswith("(preprocessing)")]
    assert [s["verdict"] for s in steps] == ["native"] * 4 and steps[3]["class_name"] == "OneHotEncoder"


def test_a_step_pmml_cannot_write_is_a_finding(pair, tmp_path, capsys):
    import skops.io as sio
    from compose_fixture import MINMAX, SCALED
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import Normalizer, OneHotEncoder, StandardScaler

    frame = pair["frame"].fillna(0.0)
    prep = ColumnTransformer([("scaled", StandardScaler(), SCALED + IMPUTED), ("norm", Normalizer(), MINMAX),
                              ("region", OneHotEncoder(sparse_output=False), ["region"])]).fit(frame)
    path = tmp_path / "normalizer.skops"
    sio.dump(prep, path)
    code, text, _ = run_cli(["analyze", str(pair["model"]), "--preprocess", str(path), "--to", "onnx,pmml",
                             "--json"], capsys)
    targets = json.loads(text)["targets"]
    assert code == 3 and targets["onnx"]["ok"] and not targets["pmml"]["ok"]
    bad = [la for la in targets["pmml"]["layers"] if la["verdict"] == "unsupported"]
    assert len(bad) == 1 and bad[0]["layer"] == "(preprocessing) norm" and "Normalizer" in bad[0]["reason"]


@pytest.mark.parametrize("case", ["pickle", "not-a-transformer", "width", "foreign-type"])
def test_bad_preprocessing_is_one_line_and_writes_nothing(case, pair, tmp_path, capsys):
    import pickle

    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if case == "pickle":
        path = tmp_path / "prep.pkl"
        path.write_bytes(pickle.dumps(StandardScaler()))
        needles = ("pickle", "--trust-code")
    elif case == "not-a-transformer":
        path = tmp_path / "clf.skops"
        sio.dump(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]), path)
        needles = ("LogisticRegression", "not a fitted transformer")
    elif case == "width":
        path = tmp_path / "narrow.skops"
        sio.dump(StandardScaler().fit(np.random.default_rng(0).normal(size=(10, 5))), path)
        needles = ("writes 5 values per row", "reads 17")
    else:
        from fractions import Fraction  # not scikit-learn's: skops lists it as untrusted

        path = tmp_path / "foreign.skops"
        scaler = StandardScaler().fit(np.eye(3))
        scaler.note = Fraction(1, 3)
        sio.dump(scaler, path)
        needles = ("not scikit-learn's or numpy's", "fractions.Fraction", "--trust-type")
    out = tmp_path / "out"
    code, _, err = run_cli(["convert", str(pair["model"]), "--preprocess", str(path), "--to", "onnx", "-o", str(out)],
                           capsys)
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err, err
    assert all(n in err for n in needles), err
    assert not out.exists()


def test_gate_and_validate_rerun_the_raw_rows(composed, pair, tmp_path, capsys):
    out = composed.manifest_path.parent
    assert (out / "modelport.golden.npz").is_file()
    code, _, err = run_cli(["gate", str(out), "--runtimes", "onnxruntime,pmml4s"], capsys)
    assert code == 0, err
    # the user's own raw rows: a CSV with gaps and text, as the transformer was fitted on
    pair["frame"].iloc[:40].to_csv(tmp_path / "raw.csv", index=False)
    code, text, err = run_cli(["validate", str(pair["model"]), str(out), "--preprocess", str(pair["prep"]),
                               "--runtimes", "onnxruntime,pmml4s", "--data", str(tmp_path / "raw.csv"), "--json"],
                              capsys)
    report = json.loads(text)
    assert code == 0 and report["passed"] and {r["rows"] for r in report["results"]} == {41}, err
    jsonschema.validate(report, json.loads((REPO / "docs" / "report-schema.json").read_text()))
    assert {r["runtime"] for r in report["inputs"]["independent"]["results"]} == {"onnxruntime", "pmml4s"}
    pair["frame"].iloc[:5].drop(columns=["proline"]).to_csv(tmp_path / "narrow.csv", index=False)
    code, _, err = run_cli(["validate", str(pair["model"]), str(out), "--preprocess", str(pair["prep"]),
                            "--data", str(tmp_path / "narrow.csv")], capsys)
    assert code == 2 and err.count("error:") == 1 and "lacks the raw column proline" in err
    # without --preprocess the raw-column artifacts do not fit the Keras model's signature: exit 2
    code, _, err = run_cli(["validate", str(pair["model"]), str(out), "--runtimes", "onnxruntime"], capsys)
    assert code == 2 and "not converted from this model" in err and "--preprocess prep.skops" in err


def test_a_transformer_fitted_on_an_array(tmp_path):
    """No column names: the raw inputs are x1..xn, which the network's own PMML fields are called too."""
    import keras
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    from modelport import api

    x = np.random.default_rng(1).normal(3, 2, (60, 5))
    prep = ColumnTransformer([("a", StandardScaler(), [0, 1, 2]), ("b", MinMaxScaler(clip=True), [3]),
                              ("c", MaxAbsScaler(), [4])]).fit(x)
    sio.dump(prep, tmp_path / "prep.skops")
    keras.utils.set_random_seed(3)
    inputs = keras.Input((5,), name="features")
    outputs = keras.layers.Dense(2, name="score")(keras.layers.Dense(4, activation="tanh")(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "five.keras")
    result = api.convert(tmp_path / "five.keras", "onnx,pmml", tmp_path / "out", preprocess=tmp_path / "prep.skops",
                         runtimes=["onnxruntime", "pmml4s"])
    assert result.parity.passed and not result.parity.vacuous
    assert [t.name for t in result.artifacts[0].inputs] == ["x1", "x2", "x3", "x4", "x5"]
    pmml = next(a for a in result.artifacts if a.format == "pmml")
    assert pmml.details["preprocessing_fields"] == [f"network_x{k}" for k in range(1, 6)]


def test_one_folder_one_conversion(composed, pair, tmp_path, capsys):
    """The composed folder is the model *with* its preprocessing: the model alone, or with another
    fitted transformer, is another set (refused without --force, before any work)."""
    import skops.io as sio
    from compose_fixture import fitted_preprocessing

    out = composed.manifest_path.parent
    before = sorted(p.name for p in out.iterdir())
    code, _, err = run_cli(["convert", str(pair["model"]), "--to", "pb", "-o", str(out)], capsys)
    assert code == 2 and "with the preprocessing prep.skops" in err and "wine.keras alone" in err, err
    other = tmp_path / "other.skops"
    sio.dump(fitted_preprocessing(pair["frame"].iloc[:90]), other)
    code, _, err = run_cli(["convert", str(pair["model"]), "--preprocess", str(other), "--to", "pmml", "-o", str(out)],
                           capsys)
    assert code == 2 and "another conversion (wine.keras with prep.skops)" in err and "--force" in err, err
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_cli_process_imports_tensorflow_without_sklearn_or_pandas_and_still_composes(composed, pair):
    """The CLI imports TensorFlow with scikit-learn and pandas hidden from Keras (2 s and 125 MB of
    every TensorFlow import go to Keras's optional uses of them); both still import and work after."""
    import subprocess
    import sys

    out = composed.manifest_path.parent
    # TensorFlow first, as a Keras-only command imports it; then a command that needs sklearn. The
    # CLI leaves through os._exit once TensorFlow is loaded, after the atexit handlers.
    probe = ("import atexit, sys\nfrom modelport.cli import main\n"
             "from modelport.tfimport import import_tensorflow, own_process\n"
             "own_process()\nimport_tensorflow()\n"
             "import keras.src.trainers.data_adapters.array_slicing as slicing\n"
             "import keras.src.wrappers.fixes as wrappers\n"
             "print('probe', wrappers.sklearn, slicing.pandas, 'sklearn' in sys.modules, 'pandas' in sys.modules)\n"
             "atexit.register(lambda: print('probe', 'sklearn.compose' in sys.modules, 'pandas' in sys.modules))\n"
             f"sys.argv = ['modelport', 'validate', {str(pair['model'])!r}, {str(out)!r}, '--preprocess', "
             f"{str(pair['prep'])!r}, '--runtimes', 'onnxruntime']\n"
             "main()")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "PASS" in proc.stdout, (proc.stdout, proc.stderr)
    probes = [line for line in proc.stdout.splitlines() if line.startswith("probe")]
    assert probes == ["probe None None False False", "probe True True"], (proc.stdout, proc.stderr)
