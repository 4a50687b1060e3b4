"""The PMML runtimes (JPMML in-process, PMML4S, the plain Java program) on hand-built documents.

Every number is checked against a float64 NumPy forward pass of the same weights. One JVM (JPype)
and one PMML4S gateway serve the whole run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pmml_docs import Net, write

from modelport.convert.base import Artifact
from modelport.errors import BadInputError, ParityError
from modelport.runtimes import open_session
from modelport.runtimes._jvm import classpath, java_tool
from modelport.runtimes.pmml_xsd import validate_pmml
from modelport.spec import TensorSpec

TOL = 1e-12
ROWS = 64
NETS = {
    "softmax": Net("softmax", seed=1),
    "sigmoid": Net("sigmoid", n_out=1, seed=2),
    "regression": Net(
        "regression",
        n_out=2,
        hidden=(6,),
        hidden_act=("tanh",),
        seed=3,
        embedding=np.random.default_rng(9).normal(size=(5, 2)),
    ),
}
RUNTIMES = ["jpmml", "pmml4s", "java"]


def _artifact(path: Path, net: Net, file: str = "") -> Artifact:
    details = net.details(file)
    inputs = [TensorSpec(name, (None, len(spec["fields"]))) for name, spec in details["inputs"].items()]
    outputs = [TensorSpec("y", tuple(details["outputs"]["y"]["shape"]))]
    return Artifact(path, "pmml", inputs, outputs, details=details)


def _inputs(net: Net, rows: int = ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {"x": rng.normal(size=(rows, net.n_in)) * 2}
    if net.embedding is not None:
        feeds["cat"] = rng.integers(0, net.embedding.shape[0], size=(rows, 1))
    return feeds


def _expected(net: Net, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return net.forward(feeds["x"], feeds.get("cat"))


@pytest.fixture(scope="session")
def pmml_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pmml_runtimes")


@pytest.fixture(scope="session")
def artifacts(pmml_dir) -> dict[str, Artifact]:
    out = {}
    for name, net in NETS.items():
        out[name] = _artifact(write(pmml_dir / f"{name}.pmml", net.pmml()), net)
    return out


@pytest.fixture(scope="session")
def sessions(artifacts):
    """(runtime, net) -> session, opened lazily and shared: one JVM, one gateway, one compile."""
    cache = {}

    def get(runtime: str, name: str):
        if (runtime, name) not in cache:
            cache[runtime, name] = open_session(runtime, artifacts[name])
        return cache[runtime, name]

    return get


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_matches_float64_numpy(sessions, runtime, name):
    net = NETS[name]
    feeds = _inputs(net)
    got = sessions(runtime, name).run(feeds)
    want = _expected(net, feeds)
    assert set(got) == {"y"}
    assert got["y"].dtype == np.float64
    assert got["y"].shape == (ROWS, 1 if name == "sigmoid" else net.n_out)
    np.testing.assert_allclose(got["y"], want, rtol=0, atol=TOL)
    if name == "softmax":
        np.testing.assert_allclose(got["y"].sum(axis=1), 1.0, atol=1e-15)


def test_jpmml_large_batches_go_in_chunks(sessions, monkeypatch):
    from modelport.runtimes import jpmml

    monkeypatch.setattr(jpmml, "MAX_VALUES_PER_CALL", 20)  # 5 rows per bridge crossing, last one short
    net = NETS["regression"]
    feeds = _inputs(net, rows=23, seed=11)
    got = sessions("jpmml", "regression").run(feeds)["y"]
    np.testing.assert_allclose(got, _expected(net, feeds), rtol=0, atol=TOL)


def test_documents_are_schema_valid(artifacts):
    for artifact in artifacts.values():
        validate_pmml(artifact.path)


def test_jpmml_missing_input_value_is_nan(sessions):
    feeds = _inputs(NETS["softmax"], rows=3)
    feeds["x"][1, 2] = np.nan
    got = sessions("jpmml", "softmax").run(feeds)["y"]
    assert np.isnan(got[1]).all() and np.isfinite(got[[0, 2]]).all()


def test_jpmml_rejects_wrong_width_and_missing_input(sessions):
    session = sessions("jpmml", "regression")
    with pytest.raises(BadInputError, match="expects 4"):
        session.run({"x": np.zeros((2, 3)), "cat": np.zeros((2, 1), dtype=int)})
    with pytest.raises(BadInputError, match="missing input"):
        session.run({"x": np.zeros((2, 4))})


def test_multi_document_artifact(pmml_dir, sessions):
    """A directory artifact (one document per head): each document gets only its own fields."""
    soft, reg = NETS["softmax"], NETS["regression"]
    folder = pmml_dir / "two_heads.pmml"
    folder.mkdir()
    write(folder / "probs.pmml", soft.pmml())
    write(folder / "amount.pmml", reg.pmml())
    sd, rd = soft.details("probs.pmml"), reg.details("amount.pmml")
    rd["outputs"]["y"]["document"] = 1
    details = {
        "documents": [{"file": "probs.pmml", "outputs": ["probs"]}, {"file": "amount.pmml", "outputs": ["amount"]}],
        "inputs": rd["inputs"],
        "outputs": {"probs": sd["outputs"]["y"], "amount": rd["outputs"]["y"]},
    }
    artifact = Artifact(folder, "pmml", [], [], details=details)
    feeds = _inputs(reg, rows=10, seed=5)
    for runtime in ("jpmml", "pmml4s"):
        got = open_session(runtime, artifact).run(feeds)
        np.testing.assert_allclose(got["probs"], soft.forward(feeds["x"]), rtol=0, atol=TOL)
        np.testing.assert_allclose(got["amount"], _expected(reg, feeds), rtol=0, atol=TOL)


# -- ModelVerification -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def verification_docs(pmml_dir):
    net = NETS["softmax"]
    feeds = _inputs(net, rows=4, seed=7)
    expected = _expected(net, feeds)
    wrong = expected.copy()
    wrong[2, 1] += 0.05
    good = write(pmml_dir / "verified_ok.pmml", net.pmml((feeds["x"], None, expected)))
    bad = write(pmml_dir / "verified_bad.pmml", net.pmml((feeds["x"], None, wrong)))
    return _artifact(good, net), _artifact(bad, net)


def test_jpmml_verification_passes_and_fails(verification_docs, sessions):
    good, bad = verification_docs
    for artifact in (good, bad):
        validate_pmml(artifact.path)  # the verification block itself is schema-valid
    ok = open_session("jpmml", good)
    assert ok.verify().passed is True and ok.verify()
    failing = open_session("jpmml", bad)  # loads fine: a failed check is a result, not a crash
    verdict = failing.verify()
    assert verdict.passed is False and not verdict
    assert verdict.message.startswith("ModelVerification failed") and "do not match" in verdict.message
    # the session still scores, so a validator can report numbers next to the failed check
    feeds = _inputs(NETS["softmax"], rows=2)
    np.testing.assert_allclose(failing.run(feeds)["y"], _expected(NETS["softmax"], feeds), rtol=0, atol=TOL)
    assert sessions("jpmml", "softmax").verify().passed is None  # no block at all


def test_java_program_verify_flag(verification_docs, tmp_path):
    good, bad = verification_docs
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("x0,x1,x2,x3\n0.5,-1.25,2,1e-3\n")
    base = [java_tool("java"), "-cp", classpath(), "ScorePmml"]
    ok = subprocess.run(
        [*base, str(good.path), str(csv_in), str(tmp_path / "o1.csv"), "--verify"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "modelport-verify OK" in ok.stderr, ok.stderr
    assert "eval_s=" in ok.stderr
    bad_run = subprocess.run(
        [*base, str(bad.path), str(csv_in), str(tmp_path / "o2.csv"), "--verify"], capture_output=True, text=True
    )
    assert bad_run.returncode == 3 and "modelport-verify FAILED" in bad_run.stderr, bad_run.stderr


# -- errors ------------------------------------------------------------------------------------------


def test_artifact_without_layout_is_a_user_error(artifacts):
    bare = Artifact(artifacts["softmax"].path, "pmml", [], [], details={})
    for runtime in RUNTIMES:
        module = __import__(f"modelport.runtimes.{runtime}", fromlist=["load"])
        with pytest.raises(BadInputError, match="no field layout"):
            module.load(bare)


def test_missing_java_is_a_clear_user_error(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no java, no javac
    with pytest.raises(BadInputError, match="apt-get install -y openjdk-17-jdk-headless"):
        java_tool("javac")
    with pytest.raises(BadInputError, match="openjdk-17-jre-headless"):
        java_tool("java")


def test_jpmml_load_and_evaluation_errors_name_the_problem(pmml_dir):
    net = NETS["softmax"]
    unparsable = write(pmml_dir / "bad_weight.pmml", net.pmml().replace('weight="', 'weight="w', 1))
    with pytest.raises(BadInputError, match="JPMML cannot load .*NumberFormatException"):
        open_session("jpmml", _artifact(unparsable, net))
    forward_ref = write(pmml_dir / "forward_ref.pmml", net.pmml().replace('from="in0"', 'from="o0"', 1))
    session = open_session("jpmml", _artifact(forward_ref, net))  # JPMML resolves Con lazily
    with pytest.raises(ParityError, match="JPMML failed scoring .*o0"):
        session.run(_inputs(net, rows=2))


def test_helper_classes_are_cached_outside_the_source_tree():
    from modelport.runtimes._jvm import helper_classes

    classes = helper_classes()
    repo = Path(__file__).resolve().parents[1]
    assert (classes / "PmmlBatch.class").is_file()
    assert repo not in classes.resolve().parents
    assert shutil.which("java")  # the suite runs the real JVM, never a stand-in
