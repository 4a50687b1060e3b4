"""Keras -> PMML 4.4, proven in the real engines: JPMML-Evaluator (in-process JVM), PMML4S, and a
plain Java program; every document validated against the PMML 4.4 XSD.

Each fixture family is built, saved, loaded and converted once per session; every engine scores a
family's seeded rows in one batch call.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from modelport.convert.base import ExportOptions

ATOL = RTOL = 1e-5
ROWS = 64
FAMILIES = ["activations", "constructs", "embedding"]


def _save(builder_name: str, root: Path) -> Path:
    from fixtures import pmml_models

    path = root / f"{builder_name}.keras"
    getattr(pmml_models, builder_name)().save(path)
    return path


def _export(loaded, dest: Path, **options):
    from modelport.convert.pmml import PmmlConverter

    return PmmlConverter().export(loaded.model, loaded.spec, dest, ExportOptions(**options))


def _documents(artifact) -> list[Path]:
    return [artifact.path / d["file"] if d["file"] else artifact.path for d in artifact.details["documents"]]


@pytest.fixture(scope="session")
def pmml_family(tmp_path_factory):
    """family name -> (LoadedModel, Artifact, inputs, Keras outputs), each built once."""
    import modelport

    root = tmp_path_factory.mktemp("pmml")
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            loaded = modelport.load(_save(name, root))
            artifact = _export(loaded, root / f"{name}.pmml")
            rng = np.random.default_rng(42)
            inputs = {}
            for t in loaded.spec.inputs:
                shape = (ROWS, *t.shape[1:])
                if t.dtype.startswith("int"):
                    inputs[t.name] = rng.integers(0, 12, size=shape).astype(t.dtype)
                else:
                    inputs[t.name] = rng.normal(size=shape).astype(np.float32)
            arrays = [inputs[t.name] for t in loaded.spec.inputs]
            raw = loaded.model(arrays if len(arrays) > 1 else arrays[0], training=False)
            raw = raw if isinstance(raw, (list, tuple)) else [raw]
            expected = {t.name: np.asarray(r) for t, r in zip(loaded.spec.outputs, raw, strict=False)}
            cache[name] = (loaded, artifact, inputs, expected)
        return cache[name]

    return get


def _assert_parity(artifact, got: dict, expected: dict, engine: str) -> None:
    assert set(got) == set(expected)
    for name, want in expected.items():
        have = np.asarray(got[name], np.float64).reshape(want.shape)
        err = np.abs(have - want)
        bad = err > ATOL + RTOL * np.abs(want)
        assert not bad.any(), f"{engine} {name}: max |diff| {err.max():.3g}"
        if artifact.details["outputs"][name]["kind"] == "classification" and want.shape[-1] > 1:
            assert np.array_equal(have.argmax(-1), want.argmax(-1)), f"{engine} {name}: argmax differs"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("engine", ["jpmml", "pmml4s"])
def test_engines_match_keras(pmml_family, family, engine):
    from modelport.runtimes import open_session

    _, artifact, inputs, expected = pmml_family(family)
    session = open_session(engine, artifact)
    _assert_parity(artifact, session.run(inputs), expected, engine)


@pytest.mark.parametrize("family", FAMILIES)
def test_documents_are_valid_pmml_44_and_verify_in_jpmml(pmml_family, family):
    from modelport.runtimes import open_session
    from modelport.runtimes.pmml_xsd import validate_pmml

    _, artifact, _, _ = pmml_family(family)
    for doc in _documents(artifact):
        validate_pmml(doc)
        text = doc.read_text()
        assert "<Extension" not in text and "x-" not in re.sub(r'"[^"]*"', "", text)  # no vendor extensions
        assert "<ModelVerification" in text
    verdict = open_session("jpmml", artifact).verify()
    assert verdict.passed is True, verdict.message


def test_plain_java_program_scores_the_same(pmml_family):
    """The way a Java service uses the PMML: javac + java against the wheel's jars, CSV in/out."""
    from modelport.runtimes import java

    _, artifact, inputs, expected = pmml_family("constructs")
    _assert_parity(artifact, java.load(artifact).run(inputs), expected, "java")


def test_activation_rules_and_modelchain(pmml_family):
    loaded, artifact, _, _ = pmml_family("activations")
    rules = {f.layer: f.rule for f in __import__("modelport.convert.pmml", fromlist=["x"]).PmmlConverter().check(loaded.spec)}
    assert rules["act_gelu"] == "gelu-chain" and rules["act_softplus"] == "softplus-chain"
    assert rules["act_leaky_relu"] == "leaky-relu-split" and rules["act_relu"] is None
    text = artifact.path.read_text()
    # softplus and exact gelu cannot live in one NeuralNetwork: a modelChain of three segments
    assert '<Segmentation multipleModelMethod="modelChain">' in text
    assert text.count("<Segment ") == 3 and "stdNormalCDF" in text and "ln1p" in text


def test_mixed_heads_give_one_document_per_kind(pmml_family):
    _, artifact, _, _ = pmml_family("constructs")
    assert artifact.path.is_dir()
    docs = artifact.details["documents"]
    assert [d["file"] for d in docs] == ["classification.pmml", "regression.pmml"]
    assert docs[0]["outputs"] == ["cls", "binary"] and docs[1]["outputs"] == ["reg"]
    outputs = artifact.details["outputs"]
    assert outputs["binary"]["fields"] == ["probability(binary=1)"]
    assert outputs["cls"]["labels"] == ["0", "1", "2"]
    cls_doc = (artifact.path / "classification.pmml").read_text()
    assert 'functionName="classification"' in cls_doc and "NormContinuous" not in cls_doc
    # Normalization and Rescaling read the raw inputs as Apply transformations in NeuralInputs
    assert '<Apply function="/"><Apply function="-"><FieldRef field="x1"/>' in cls_doc
    assert '<Apply function="+"><Apply function="*"><FieldRef field="x7"/>' in cls_doc


def test_weights_are_shortest_float32_strings(pmml_family):
    loaded, artifact, _, _ = pmml_family("embedding")
    text = artifact.path.read_text()
    kernel = loaded.model.get_layer("label").get_weights()[0]
    written = re.findall(r'<Con from="[^"]+" weight="([^"]+)"/>', text)
    assert written[: kernel.shape[0]] == [str(np.float32(w)) for w in kernel[:, 0]]
    assert all(np.float32(s) == w for s, w in zip(written, kernel[:, 0], strict=False))


def test_same_model_gives_byte_identical_file(pmml_family, tmp_path):
    loaded, artifact, _, _ = pmml_family("embedding")
    again = _export(loaded, tmp_path / "again.pmml")
    assert again.path.read_bytes() == artifact.path.read_bytes()
    assert again.sha256 == artifact.sha256


def test_feature_names_and_class_labels(pmml_family, tmp_path):
    from modelport.errors import BadInputError
    from modelport.runtimes import open_session

    loaded, _, inputs, expected = pmml_family("embedding")
    artifact = _export(loaded, tmp_path / "named.pmml", feature_names=["colour", "size"],
                       class_labels=["a", "b", "c", "d"])
    text = artifact.path.read_text()
    assert '<DataField name="colour" optype="categorical" dataType="integer"/>' in text
    assert '<Value value="a"/><Value value="b"/><Value value="c"/><Value value="d"/>' in text
    assert artifact.details["outputs"]["label"]["fields"] == [f"probability({c})" for c in "abcd"]
    _assert_parity(artifact, open_session("jpmml", artifact).run(inputs), expected, "jpmml")
    with pytest.raises(BadInputError, match="3 class labels"):
        _export(loaded, tmp_path / "bad.pmml", class_labels=["a", "b", "c"])
    with pytest.raises(BadInputError, match="feature names"):
        _export(loaded, tmp_path / "bad2.pmml", feature_names=["only_one"])
