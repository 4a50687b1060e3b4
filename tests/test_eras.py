"""More eras and habits load (issue 9, must-have 7): each case is a file built in fixtures/ to the
shape of a real one, loaded by its named repair and checked against an independent reference
(numpy, or the same network built in tf_keras), not only against modelport's own loading."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import RUNTIME, TF_TARGETS
from validation_helpers import run_cli

import modelport
from fixtures import habits, keras1_file, tf_keras_2x_archive
from modelport.errors import BadInputError
from modelport.loading import load
from modelport.runtimes import open_session

ATOL = 1e-5


def _close(got, want, what: str) -> None:
    err = float(np.max(np.abs(np.asarray(got, "float64") - want)))
    assert err <= ATOL, f"{what}: max abs error {err}"
    assert float(np.ptp(want, axis=0).max()) > 1e-2, f"{what}: the reference does not vary with its inputs"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("eras")


def test_stacked_rnn_recurrent_dropout_freezes_for_every_tf_target(workdir):
    """Keras 3 GRU/LSTM with (recurrent_)dropout write their seed generator's int64 state on every
    call; freezing used to fail ("AssignVariableOp was passed int64 from .../resource")."""
    model = habits.rnn_dropout()
    path = habits.save(model, workdir / "rnn_dropout.keras")
    result = modelport.convert(path, to=TF_TARGETS, out_dir=workdir / "rnn-out", validate=False)
    assert sorted(a.format for a in result.artifacts) == sorted(TF_TARGETS)
    x = np.random.default_rng(1).normal(0, 1.5, (7, habits.STEPS, habits.FEATURES)).astype("float32")
    want = habits.rnn_dropout_reference(model, x)
    for artifact in result.artifacts:
        got = open_session(RUNTIME[artifact.format], artifact).run({"sequence": x})["score"]
        _close(got, want, artifact.format)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_fixed_batch_size_is_relaxed(workdir, fmt, capsys):
    """``model.build((8, 9, 9, 3))``: the config says batch 8; the model loads for any batch, the
    manifest and the CLI say the batch was relaxed."""
    import onnxruntime as ort

    model = habits.fixed_batch()
    path = habits.save(model, workdir / f"fixed_batch.{fmt}")
    out = workdir / f"fixed-{fmt}"
    code, stdout, _ = run_cli(["convert", str(path), "--to", "onnx", "--out-dir", str(out)], capsys)
    assert code == 0
    assert "repaired while loading: fixed-batch-size" in stdout
    manifest = json.loads((out / "modelport.json").read_text())
    assert "fixed-batch-size" in manifest["source"]["repairs"]
    x = np.random.default_rng(2).normal(0, 1, (5, *habits.IMAGE)).astype("float32")  # not the saved batch
    want = habits.fixed_batch_reference(model).predict(x, verbose=0)
    session = ort.InferenceSession(str(next(out.glob("*.onnx"))), providers=["CPUExecutionProvider"])
    _close(session.run(None, {session.get_inputs()[0].name: x})[0], want, "onnx")


def test_keras1_conv1d_bidirectional_lstm(workdir):
    """A hand-written Keras 1.1 file: Convolution1D (nb_filter, filter_length, subsample_length,
    border_mode, init, W_constraint, input_dtype, batch_input_shape, input_length) -> Dropout(p) ->
    Bidirectional(LSTM) with Keras 1 weight names; loads with tf_keras, computes what numpy says."""
    path = keras1_file.write(workdir / "keras1_conv1d_bilstm.h5")
    loaded = load(path)
    assert loaded.spec.loader == "tf_keras" and "keras1-names" in loaded.spec.repairs
    x = np.random.default_rng(3).normal(0, 1, (6, keras1_file.STEPS, keras1_file.CHANNELS)).astype("float32")
    want = keras1_file.reference(x)
    _close(loaded.model.predict(x, verbose=0), want, "tf_keras")
    result = modelport.convert(path, to="onnx", out_dir=workdir / "k1-out", validate=False)
    onnx = result.artifacts[0]
    got = open_session("onnxruntime", onnx).run({onnx.inputs[0].name: x})[onnx.outputs[0].name]
    _close(got, want, "onnx")
    with pytest.raises(BadInputError, match="hard_sigmoid"):  # Keras 3 redefined it: refused, rightly
        load(path, loader="keras3")


@pytest.fixture(scope="module")
def tf_keras_model():
    return tf_keras_2x_archive.build()


@pytest.mark.parametrize("version", ["2.13.1", "2.15.0"])
@pytest.mark.parametrize("loader", ["keras3", "tf_keras"])
def test_tf_keras_2x_archive_loads_every_array_in_place(workdir, tf_keras_model, version, loader):
    """Weights under ``_layer_checkpoint_dependencies`` (2.13 numbering its duplicates), metric and
    optimizer state beside them, ``keras.src.engine`` modules, a nested augmentation Sequential."""
    path = workdir / f"tf_keras_{version}.keras"
    if not path.exists():
        tf_keras_2x_archive.write(path, version, tf_keras_model)
    loaded = load(path, loader=loader)
    assert "keras2-archive-weight-paths" in loaded.spec.repairs
    x = np.random.default_rng(4).normal(0, 1, (6, 10, 10, 3)).astype("float32")
    _close(loaded.model.predict(x, verbose=0), tf_keras_model.predict(x, verbose=0), f"{version} {loader}")


def test_tf_keras_213_archive_nested_weighted_sequential(workdir):
    model = tf_keras_2x_archive.build_nested_weighted()
    path = tf_keras_2x_archive.write(workdir / "tf_keras_2.13_nested.keras", "2.13.1", model)
    x = np.random.default_rng(6).normal(0, 1, (6, 6)).astype("float32")
    for loader in ("keras3", "tf_keras"):
        loaded = load(path, loader=loader)
        assert "keras2-archive-weight-paths" in loaded.spec.repairs
        _close(loaded.model.predict(x, verbose=0), model.predict(x, verbose=0), loader)


def test_tf_keras_2x_archive_converts_with_parity(workdir, tf_keras_model):
    path = tf_keras_2x_archive.write(workdir / "tf_keras_2.13_convert.keras", "2.13.1", tf_keras_model)
    result = modelport.convert(path, to="onnx", out_dir=workdir / "2x-out", validate=False)
    x = np.random.default_rng(5).normal(0, 1, (4, 10, 10, 3)).astype("float32")
    got = open_session("onnxruntime", result.artifacts[0]).run({"image": x})["probs"]
    _close(got, tf_keras_model.predict(x, verbose=0), "onnx")


def test_tf_keras_2x_archive_mislabelled_is_refused(workdir, tf_keras_model):
    """A 2.13 layout read with 2.15 numbering leaves an array without a layer: refused, not skipped."""
    src = workdir / "tf_keras_2.13_relabel.keras"
    tf_keras_2x_archive.write(src, "2.13.1", tf_keras_model)
    wrong = workdir / "tf_keras_2.13_as_2.15.keras"
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(wrong, "w") as b:
        for name in a.namelist():
            data = a.read(name)
            b.writestr(name, data.replace(b'"2.13.1"', b'"2.15.0"') if name == "metadata.json" else data)
    with pytest.raises(BadInputError, match="match no layer"):
        load(wrong, loader="tf_keras")


def test_windows_vocabulary_is_reencoded(workdir):
    """A TextVectorization vocabulary in cp1252 with CRLF: Keras said only "2 objects could not be
    loaded"; the repaired copy loads with the vocabulary and outputs of the model that was saved."""
    from modelport.loading import archive_repairs, backends
    from modelport.loading.config_reader import read_saved

    model = habits.text_vectorizer()
    path = habits.as_written_on_windows(habits.save(model, workdir / "text.keras"), workdir / "text_windows.keras")
    config = read_saved(path).model_config
    with pytest.raises(BadInputError, match="could not be loaded"):
        backends.load_zip(path, config, False, "keras3", custom_objects={}, trust_code=False)
    fixed = archive_repairs.repair_archive(path, config, "3")
    assert fixed.applied == ["windows-vocabulary-encoding"] and len(fixed.members) == 2
    loaded = backends.load_zip(path, config, False, "keras3", custom_objects={}, trust_code=False,
                               members=fixed.members)
    vocabulary = loaded.get_layer("vectorize").get_vocabulary()
    assert vocabulary == model.get_layer("vectorize").get_vocabulary() and "café" in vocabulary
    import tensorflow as tf

    texts = tf.constant([[t] for t in [*habits.TEXTS, "brûlée noir", "unknown words"]])
    _close(np.asarray(loaded(texts)), np.asarray(model(texts), "float64"), "keras3")


def test_stateful_rnn_keeps_its_batch_and_gets_a_useful_hint(workdir):
    """fixed-batch-size leaves a stateful RNN alone (its states have that batch); if it then cannot
    load, the hint says why instead of "re-save the model with a current Keras"."""
    import keras

    inp = keras.Input(batch_shape=(4, 3, 2), name="sequence")
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(3, stateful=True)(inp)))
    path = habits.save(model, workdir / "stateful.keras")
    with pytest.raises(BadInputError) as info:
        load(path)
    assert "stateful=False" in (info.value.hint or "")
