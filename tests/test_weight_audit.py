"""Issue 9: the loaded model IS the file's model — weight audit, stored-weights digest, and an
independent second reader. Models are built in fixtures/audit_models.py with non-trivial weights;
expected numbers are computed in NumPy from the raw HDF5 arrays and by Keras's own load_model."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

from fixtures import audit_models

EPS_BN = 1e-3  # Keras BatchNormalization's default epsilon


@pytest.fixture(scope="session")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audit-models")


@pytest.fixture(scope="session")
def norm_h5(audit_dir):
    return audit_models.save("normalized_tabular", audit_dir, "h5")


@pytest.fixture(scope="session")
def norm_loaded(norm_h5):
    import modelport

    return modelport.load(norm_h5)


@pytest.fixture(scope="session")
def converted_norm(norm_h5, tmp_path_factory):
    import modelport

    out = tmp_path_factory.mktemp("converted-norm")
    return modelport.convert(norm_h5, to="onnx", out_dir=out, runtimes=["onnxruntime"])


def _arrays(group) -> dict[str, np.ndarray]:
    out = {}
    group.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _legacy(path) -> dict[str, np.ndarray]:
    """model_weights/<layer>/<layer>/<weight> -> "<layer>/<weight>" (Keras 3 legacy .h5)."""
    with h5py.File(path, "r") as f:
        return {k.split("/", 1)[1]: v for k, v in _arrays(f["model_weights"]).items()}


def _keras_archive(path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        return {k: v for k, v in _arrays(f).items() if not k.startswith("optimizer")}


def _bn(x, gamma, beta, mean, var):
    return gamma * (x - mean) / np.sqrt(var + EPS_BN) + beta


def _numpy_normalized_tabular(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The model computed from the file's raw arrays alone."""
    h = (x - w["normalization/mean"]) / np.sqrt(w["normalization/variance"])
    h = np.tanh(h @ w["hidden/kernel"] + w["hidden/bias"])
    h = _bn(h, w["bn/gamma"], w["bn/beta"], w["bn/moving_mean"], w["bn/moving_variance"])
    return h @ w["score/kernel"] + w["score/bias"]


def test_adapted_normalization_h5_computes_with_the_stored_statistics(norm_h5, norm_loaded):
    import keras

    raw = _legacy(norm_h5)
    data = audit_models.tabular_data()
    assert np.allclose(raw["normalization/mean"], data.mean(axis=0), rtol=1e-4)  # the file holds real statistics
    x = audit_models.tabular_data(64)[::-1].copy()
    got = np.asarray(norm_loaded.model(x, training=False))
    by_keras = np.asarray(keras.models.load_model(norm_h5, compile=False)(x, training=False))
    by_numpy = _numpy_normalized_tabular(raw, x)
    assert np.abs(got - by_keras).max() <= 1e-5
    assert np.abs(got - by_numpy).max() <= 1e-4 * max(1.0, np.abs(by_numpy).max())
    assert np.abs(by_numpy).max() > 0.5  # outputs vary: a mean-0/variance-1 load would be far off


def test_audit_counts_every_stored_array(norm_h5, norm_loaded):
    raw = _legacy(norm_h5)
    audit = norm_loaded.audit
    assert audit.arrays == len(raw) == 11  # mean, variance, count; 2 + 2 dense; 4 batchnorm
    assert audit.values == sum(v.size for v in raw.values())
    assert audit.to_dict()["status"] == "ok"
    assert len(audit.sha256) == 64


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_batchnorm_random_moving_statistics_load_exactly(audit_dir, fmt):
    import modelport

    path = audit_models.save("conv_batchnorm", audit_dir / fmt, fmt)
    loaded = modelport.load(path)
    if fmt == "h5":
        raw = _legacy(path)
        names = {"kernel": "conv/kernel", "bias": "conv/bias", "gamma": "bn/gamma", "beta": "bn/beta",
                 "mean": "bn/moving_mean", "var": "bn/moving_variance", "k": "score/kernel", "b": "score/bias"}
    else:
        raw = _keras_archive(path)  # Keras 3 archives name layers by class, not by their names
        names = {"kernel": "layers/conv2d/vars/0", "bias": "layers/conv2d/vars/1",
                 "gamma": "layers/batch_normalization/vars/0", "beta": "layers/batch_normalization/vars/1",
                 "mean": "layers/batch_normalization/vars/2", "var": "layers/batch_normalization/vars/3",
                 "k": "layers/dense/vars/0", "b": "layers/dense/vars/1"}
    w = {k: raw[v] for k, v in names.items()}
    assert np.abs(w["mean"]).max() > 0.5 and np.abs(w["var"] - 1).max() > 0.5  # non-trivial statistics
    x = np.random.default_rng(2).normal(size=(5, 6, 6, 2)).astype("float32")
    patches = np.stack([x[:, i:i + 4, j:j + 4, :] for i in range(3) for j in range(3)], axis=3)  # (n,4,4,9,2)
    conv = np.einsum("nhwpc,pcf->nhwf", patches, w["kernel"].reshape(9, 2, 4)) + w["bias"]
    expected = _bn(conv, w["gamma"], w["beta"], w["mean"], w["var"]).mean(axis=(1, 2)) @ w["k"] + w["b"]
    got = np.asarray(loaded.model(x, training=False))
    assert np.abs(got - expected).max() <= 1e-4
    assert loaded.audit.arrays == len(raw) == 8
    assert loaded.audit.values == sum(v.size for v in raw.values())


def test_digest_changes_iff_the_stored_weights_change(norm_h5, tmp_path):
    from modelport.loading.audit import stored_digest

    original = stored_digest(norm_h5, "hdf5")
    relaid = audit_models.relayout(norm_h5, tmp_path / "relaid.h5")
    assert relaid.read_bytes() != norm_h5.read_bytes()
    assert stored_digest(relaid, "hdf5").sha256 == original.sha256  # chunking, compression, order: no matter
    tampered = audit_models.tamper(norm_h5, tmp_path / "tampered.h5", "bn/bn/moving_variance")
    changed = stored_digest(tampered, "hdf5")
    assert changed.sha256 != original.sha256
    assert (changed.arrays, changed.values) == (original.arrays, original.values)


def test_tampered_file_is_its_own_model_but_validate_and_gate_flag_it(norm_h5, converted_norm, tmp_path):
    import modelport

    out = converted_norm.manifest_path.parent
    manifest = json.loads(converted_norm.manifest_path.read_text())
    assert manifest["source"]["weights"]["sha256"] == modelport.load(norm_h5).audit.sha256
    tampered = audit_models.tamper(norm_h5, tmp_path / "m.h5", "hidden/hidden/kernel")
    loaded = modelport.load(tampered)  # the audit passes: the file IS that (changed) model
    assert loaded.audit.sha256 != manifest["source"]["weights"]["sha256"]
    report = modelport.validate(tampered, out, runtimes=["onnxruntime"])
    assert not report.passed
    assert any("weights changed since conversion" in p for p in report.problems)
    assert modelport.gate(out, model=norm_h5).passed
    env_cmd = [sys.executable, "-m", "modelport", "gate", str(out), "--model", str(tampered)]
    gated = subprocess.run(env_cmd, capture_output=True, text=True)
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert "the model's weights changed since conversion" in gated.stdout


def test_gate_with_the_model_needs_a_recorded_digest(norm_h5, converted_norm, tmp_path):
    import shutil

    import modelport

    out = shutil.copytree(converted_norm.manifest_path.parent, tmp_path / "old")
    manifest = json.loads((out / "modelport.json").read_text())
    del manifest["source"]["weights"]  # as written before the digest existed
    (out / "modelport.json").write_text(json.dumps(manifest))
    report = modelport.gate(out, model=norm_h5, runtimes=["onnxruntime"])
    assert not report.passed
    assert any("records no digest" in p for p in report.problems)
    assert modelport.gate(out, runtimes=["onnxruntime"]).passed  # without --model: not asked


def test_manifest_and_report_say_which_references_agreed(norm_h5, converted_norm):
    manifest = json.loads(converted_norm.manifest_path.read_text())
    weights = manifest["source"]["weights"]
    raw = _legacy(norm_h5)
    assert (weights["status"], weights["arrays"], weights["values"]) == ("ok", 11, sum(v.size for v in raw.values()))
    readers = {r["reader"]: r for r in manifest["source"]["references"]}
    assert readers["keras3 load_model"]["status"] == "agrees"
    assert readers["keras3 load_model"]["max_abs"] <= 1e-5
    assert readers["tf_keras"]["status"] == "not applicable"
    assert "keras3 load_model agrees" in manifest["parity"]["inputs"]["references"]


def test_a_reader_ruled_out_by_a_known_semantic_drift_is_not_applicable(tmp_path):
    import tf_keras

    import modelport
    from modelport.loading import reference

    path = audit_models.keras2_lstm(tmp_path)
    loaded = modelport.load(path)
    reference.check(loaded)
    readers = {r.reader: r for r in loaded.references}
    assert readers["tf_keras load_model"].status == "agrees"
    assert readers["keras3"].status == "not applicable" and "hard_sigmoid" in readers["keras3"].reason
    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32")
    expected = tf_keras.models.load_model(path, compile=False)(x)
    assert np.abs(np.asarray(loaded.model(x)) - np.asarray(expected)).max() <= 1e-6
    assert "tf_keras load_model agrees" in reference.summary(loaded)


def test_an_array_no_variable_receives_is_an_error_naming_layer_and_weight(tmp_path):
    import modelport
    from modelport.errors import BadInputError

    path = audit_models.with_unlisted_array(tmp_path)
    with pytest.raises(BadInputError) as err:
        modelport.load(path)
    assert "out/out/bias:0" in str(err.value)
    assert err.value.exit_code == 2


def test_a_second_reader_that_disagrees_fails_the_load_naming_the_first_diverging_layer(norm_h5, norm_loaded):
    """A model that computes with state derived before its weights arrived (how modelport loaded an
    adapted Normalization from .h5 before: variables assigned, ``finalize_state`` never called)
    against Keras's own reader of the same file: they diverge first at the Normalization layer,
    not at the Dense layers after it."""
    import copy

    import keras
    from keras.src.legacy.saving import saving_utils

    from modelport.loading import reference
    from modelport.loading.weights import read_h5_weights

    stale = saving_utils.model_from_config(norm_loaded.saved.model_config)
    stored = read_h5_weights(norm_h5)
    for layer in stale.layers:
        for var, (_, value) in zip(layer.trainable_weights + layer.non_trainable_weights,
                                   stored.get(layer.name, []), strict=False):
            var.assign(value)
    assert isinstance(stale, keras.Model)
    wrong = copy.copy(norm_loaded)
    wrong.model = stale
    with pytest.raises(reference.ReferenceMismatchError) as err:
        reference.check(wrong)
    assert "first diverging layer 'normalization'" in str(err.value)
    assert err.value.exit_code == 2
    assert wrong.references[0].reader == "keras3 load_model"


def test_lookup_tables_are_audited_and_in_the_digest(audit_dir, tmp_path):
    import modelport
    from modelport.errors import BadInputError
    from modelport.loading import weights_digest

    archive = audit_models.save("integer_lookup", audit_dir / "lookup", "keras")
    loaded = modelport.load(archive)
    assert loaded.audit.tables == 1
    ids = np.array([[5, 9], [40, 7]], dtype="int64")  # 7 is out of vocabulary
    by_keras = keras_load(archive)(ids, training=False)
    assert np.abs(np.asarray(loaded.model(ids, training=False)) - np.asarray(by_keras)).max() <= 1e-6
    other_vocab = audit_models.replace_asset(archive, tmp_path / "other.keras", "vocabulary.txt", "-1\n9\n5\n3\n12\n")
    assert weights_digest(other_vocab).sha256 != weights_digest(archive).sha256 == loaded.audit.sha256

    h5 = audit_models.save("integer_lookup", audit_dir / "lookup", "h5")  # Keras writes no table to .h5
    with pytest.raises(BadInputError) as err:
        modelport.load(h5)
    assert "layer 'ids' (IntegerLookup)" in str(err.value) and "vocabulary" in str(err.value)
    assert "re-save the model as .keras" in str(err.value)


def keras_load(path):
    import keras

    return keras.models.load_model(path, compile=False)
