"""Unrolled PMML (convolution, pooling, recurrence, ...): every case of fixtures/pmml_cases.py is
converted once and scored in JPMML (batch 1 and 32), PMML4S and a plain Java program against
Keras; documents are XSD-valid with ModelVerification; the analyser's size estimate lands within
20% of what is written; real corpus files convert with parity or are refused with the estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelport.convert.base import ExportOptions

ATOL = RTOL = 1e-5
ROWS = 32


def _cases():
    from fixtures import pmml_cases

    return {**pmml_cases.CASES, **pmml_cases.TF_KERAS_CASES}


CASE_NAMES = list(_cases())


def _convert(loaded, dest: Path, **options):
    from modelport.convert.pmml import PmmlConverter

    return PmmlConverter().export(loaded.model, loaded.spec, dest, ExportOptions(**options))


def _expected(loaded, inputs: dict) -> dict:
    arrays = [inputs[t.name] for t in loaded.spec.inputs]
    raw = loaded.model(arrays if len(arrays) > 1 else arrays[0], training=False)
    raw = raw if isinstance(raw, (list, tuple)) else [raw]
    return {t.name: np.asarray(r, np.float64) for t, r in zip(loaded.spec.outputs, raw, strict=False)}


@pytest.fixture(scope="session")
def unrolled(tmp_path_factory):
    """case -> (LoadedModel, Artifact, inputs, Keras outputs), each built and converted once."""
    import modelport

    root = tmp_path_factory.mktemp("pmml-unrolled")
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            suffix = "h5" if name.startswith("tf_keras") else "keras"
            path = root / f"{name}.{suffix}"
            _cases()[name]().save(path)
            loaded = modelport.load(path)
            artifact = _convert(loaded, root / f"{name}.pmml")
            rng = np.random.default_rng(7)
            inputs = {t.name: rng.normal(size=(ROWS, *t.shape[1:])).astype(np.float32) for t in loaded.spec.inputs}
            _mask_some_steps(loaded.model, inputs)
            cache[name] = (loaded, artifact, inputs, _expected(loaded, inputs))
        return cache[name]

    return get


def _mask_some_steps(model, inputs: dict) -> None:
    """Behind a Masking layer, set whole steps (inner and trailing) to the mask value, so the
    masked steps Keras skips are really exercised."""
    values = [la.mask_value for la in model.layers if type(la).__name__ == "Masking"]
    if not values:
        return
    (x,) = inputs.values()
    rows, steps = x.shape[:2]
    r, t = np.meshgrid(np.arange(rows), np.arange(steps), indexing="ij")
    masked = ((r + t) % 3 == 0) | ((r % 4 == 0) & (t >= steps - 2))
    x[masked] = values[0]


def _assert_parity(got: dict, expected: dict, engine: str) -> None:
    for name, want in expected.items():
        have = np.asarray(got[name], np.float64).reshape(want.shape)
        err = np.abs(have - want)
        assert not (err > ATOL + RTOL * np.abs(want)).any(), f"{engine} {name}: max |diff| {err.max():.3g}"
        assert np.ptp(want) > 1e-3  # the outputs vary with the inputs: a wrong Con would show


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_matches_keras_in_jpmml_and_pmml4s(unrolled, case):
    from modelport.runtimes import open_session
    from modelport.runtimes.pmml_xsd import validate_pmml

    loaded, artifact, inputs, expected = unrolled(case)
    validate_pmml(artifact.path)
    jp = open_session("jpmml", artifact)
    assert jp.verify().passed is True  # the embedded ModelVerification rows
    _assert_parity(jp.run(inputs), expected, "jpmml batch 32")
    one = {k: v[:1] for k, v in inputs.items()}
    _assert_parity(jp.run(one), {k: v[:1] for k, v in expected.items()}, "jpmml batch 1")
    _assert_parity(open_session("pmml4s", artifact).run(inputs), expected, "pmml4s")


@pytest.mark.parametrize("case", ["bidirectional_concat"])  # one JVM start: LSTM in both directions
def test_plain_java_program_scores_the_same(unrolled, case):
    from modelport.runtimes import java

    _, artifact, inputs, expected = unrolled(case)
    _assert_parity(java.load(artifact).run(inputs), expected, "java")


@pytest.mark.parametrize("case", CASE_NAMES)
def test_estimate_is_within_20_percent_of_the_document(unrolled, case):
    from modelport.convert.pmml.budget import estimate

    loaded, artifact, _, _ = unrolled(case)
    est = estimate(loaded.spec)
    text = artifact.path.read_text()
    assert 0.8 <= est.connections / text.count("<Con ") <= 1.2
    assert est.neurons == text.count("<Neuron ")
    assert 0.8 <= est.bytes / artifact.path.stat().st_size <= 1.2


def test_hard_sigmoid_slope_follows_the_loader(unrolled):
    """The two loaders compute different hard_sigmoids (tf_keras 0.2x + 0.5, Keras 3 x/6 + 0.5):
    both cases above match their own loader, so the wrong slope in either would fail there."""
    import keras
    import tensorflow as tf
    import tf_keras

    assert float(tf_keras.activations.hard_sigmoid(tf.constant(1.0))) == pytest.approx(0.7)
    assert float(keras.activations.hard_sigmoid(tf.constant(1.0))) == pytest.approx(1 / 6 + 0.5)
    for case in ("tf_keras_lstm_hard_sigmoid", "lstm_hard_sigmoid_relu"):
        assert unrolled(case)[1].path.stat().st_size > 0


def test_dynamic_time_axis_needs_sequence_length(tmp_path):
    import json

    from fixtures import pmml_cases
    from modelport import api

    path = tmp_path / "dyn.keras"
    pmml_cases.dynamic_time_lstm().save(path)
    bad = api.analyze(path, "pmml").unsupported("pmml")
    assert [f.class_name for f in bad] == ["InputLayer"] and "--sequence-length" in bad[0].hint  # the dynamic input is named
    assert api.analyze(path, "pmml", sequence_length=6).ok_for("pmml")
    result = api.convert(path, "pmml", tmp_path / "out", sequence_length=6, runtimes=["jpmml"])
    assert bool(result.parity)  # validated at the one length the PMML accepts
    assert {c["label"] for c in result.parity.inputs["cases"]} >= {"batch=1 len=6", "batch=32 len=6"}
    manifest = json.loads(result.manifest_path.read_text())
    (artifact,) = manifest["artifacts"]
    assert artifact["signature"]["inputs"][0]["shape"] == [None, 6, 2]  # the signature says how long
    assert artifact["details"]["sequence_length"] == 6


def test_over_budget_is_refused_with_the_estimate(corpus_dir, tmp_path):
    from modelport import api
    from modelport.errors import UnsupportedTargetError

    model = corpus_dir / "stock_trend_lstm.h5"
    analysis = api.analyze(model, "pmml")
    (bad,) = analysis.unsupported("pmml")
    assert bad.layer == "lstm_3" and "connections" in bad.reason and "MB of PMML" in bad.reason
    assert "--pmml-max-size" in bad.hint and "onnx" in bad.hint
    assert analysis.to_dict()["targets"]["pmml"]["estimate"]["within_budget"] is False
    # a smaller budget refuses a model that fits the default one, before loading anything
    small = api.analyze(corpus_dir / "nids_conv1d.h5", "pmml", pmml_max_size="100KB")
    assert not small.ok_for("pmml") and api.analyze(corpus_dir / "nids_conv1d.h5", "pmml").ok_for("pmml")
    with pytest.raises(UnsupportedTargetError):
        api.convert(corpus_dir / "nids_conv1d.h5", "pmml", tmp_path / "out", pmml_max_size="100KB", validate=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["nids_conv1d.h5", "pollution_lstm_tf_2018.h5"])
def test_real_files_convert_with_parity(corpus_dir, tmp_path, name):
    import modelport
    from modelport.runtimes import open_session

    loaded = modelport.load(corpus_dir / name)
    artifact = _convert(loaded, tmp_path / "m.pmml")
    rng = np.random.default_rng(11)
    inputs = {t.name: rng.normal(size=(ROWS, *t.shape[1:])).astype(np.float32) for t in loaded.spec.inputs}
    expected = _expected(loaded, inputs)
    for engine in ("jpmml", "pmml4s"):
        _assert_parity(open_session(engine, artifact).run(inputs), expected, engine)


def test_every_case_names_the_rule_the_analyser_gives():
    """The registry's (class, rule) pairs are what `analyze` says: the truth matrix can trust them."""
    from fixtures import pmml_cases
    from modelport.convert.pmml.rules import check_layer
    from modelport.spec import LayerSpec

    assert set(pmml_cases.CASE_RULES) == set(CASE_NAMES)
    for case, (cls, rule) in pmml_cases.CASE_RULES.items():
        model = _cases()[case]()
        configs = [(type(la).__name__, la.get_config()) for la in model.layers]
        found = [check_layer(LayerSpec(la_cfg.get("name", ""), c, la_cfg), {}) for c, la_cfg in configs if c == cls]
        assert found, case
        assert all(f.ok and (f.rule or "native") == rule for f in found), (case, found)


def test_budget_sizes_parse_and_bad_ones_are_user_errors():
    from modelport.convert.pmml.budget import parse_size
    from modelport.errors import BadInputError

    assert parse_size("128MB") == 128 << 20 and parse_size("1.5g") == int(1.5 * (1 << 30))
    assert parse_size("500000") == 500000 and parse_size("10KB") == 10 << 10
    for bad in ("lots", "0", "-5MB", "nanMB"):
        with pytest.raises(BadInputError):
            parse_size(bad)
