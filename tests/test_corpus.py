"""The shared corpus of real-world Keras files (2016-2026): every `load` file loads with the shapes its
config saved and converts to ONNX with parity; every `clear-error` file gives its specific error.

Each file is loaded once per session. The corpus comes from MODELPORT_CORPUS (see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import EXIT_BAD_INPUT, ModelportError, NotAModelError, UnsafeModelError

ARCH = {"ddpg_torcs_actor.h5": "ddpg_torcs_actor.json"}
# file -> (loader, input shapes, output shapes): facts read off each file's saved config
LOADS = {
    "covid_chatbot_mlp.h5": ("tf_keras", [(None, 152)], [(None, 31)]),
    "ddpg_torcs_actor.h5": ("tf_keras", [(None, 29)], [(None, 3)]),
    "fashion_mnist_cnn_2026.keras": ("keras3", [(None, 28, 28, 1)], [(None, 10)]),
    "gender_mini_xception.hdf5": ("tf_keras", [(None, 64, 64, 1)], [(None, 2)]),
    "iris_mlp_theano_2018.h5": ("tf_keras", [(None, 4)], [(None, 3)]),
    "multi_output_assign_2024.h5": ("keras3", [(None, 164)], [(None, 5), (None, 3), (None, 3)]),
    "nids_conv1d.h5": ("tf_keras", [(None, 5, 1)], [(None, 1)]),
    "pollution_lstm_tf_2018.h5": ("tf_keras", [(None, 1, 8)], [(None, 1)]),
    "quora_pairs_bilstm.h5": ("tf_keras", [(None, 222, 1)], [(None, 1)]),
    "stock_trend_lstm.h5": ("tf_keras", [(None, 100, 1)], [(None, 1)]),
}
# file -> (error class, words the one-line message must contain)
ERRORS = {
    "carnd_naokishibuya_2017.h5": (UnsafeModelError, ["lambda_1", "Lambda", "--trust-code"]),
    "ner_bilstm_crf_2019.h5": (UnsafeModelError, ["custom class 'CRF'", "--custom-objects"]),
    "trigger_word_tr_model_HTML.h5": (NotAModelError, ["not an HDF5", "HTML page"]),
}
# files two loaders can read: their outputs must agree within 1e-5
BOTH_LOADERS = [
    "covid_chatbot_mlp.h5",
    "gender_mini_xception.hdf5",
    "nids_conv1d.h5",
    "quora_pairs_bilstm.h5",
    "ddpg_torcs_actor.h5",
]


def _arch(corpus_dir: Path, name: str) -> Path | None:
    return corpus_dir / ARCH[name] if name in ARCH else None


@pytest.fixture(scope="session")
def corpus_loaded(corpus_dir):
    """name -> LoadedModel, loaded once per session."""
    from modelport.loading import load

    cache: dict = {}

    def get(name: str, loader: str | None = None):
        if (name, loader) not in cache:
            cache[(name, loader)] = load(corpus_dir / name, architecture=_arch(corpus_dir, name), loader=loader)
        return cache[(name, loader)]

    return get


def test_corpus_tables_cover_every_file(corpus_dir):
    files = {p.name for p in corpus_dir.iterdir() if p.suffix not in (".md", ".json")}
    assert files == set(LOADS) | set(ERRORS)


@pytest.mark.parametrize("name", sorted(LOADS))
def test_loads_with_saved_shapes(corpus_loaded, name):
    loader, inputs, outputs = LOADS[name]
    lm = corpus_loaded(name)
    assert lm.spec.loader == loader
    assert [t.shape for t in lm.spec.inputs] == inputs
    assert [t.shape for t in lm.spec.outputs] == outputs
    assert [tuple(t.shape) for t in lm.model.inputs] == inputs
    assert [t.name for t in lm.spec.outputs] == (
        list(lm.model.output_names)
        if hasattr(lm.model, "output_names")
        else [t._keras_history[0].name for t in lm.model.outputs]
    )


@pytest.mark.parametrize("name", sorted(LOADS))
def test_converts_to_onnx_with_parity(corpus_loaded, corpus_dir, swept, name):
    """The ONNX file the no-traceback sweep's `convert --to all` wrote (one conversion per file and
    run) computes what the model loaded here computes."""
    from conftest import swept_artifacts

    from modelport.loading.verify import forward
    from modelport.runtimes import open_session

    lm = corpus_loaded(name)
    extra = ["--architecture", corpus_dir / ARCH[name]] if name in ARCH else []
    artifact = next(a for a in swept_artifacts(swept(corpus_dir / name, *extra)).artifacts if a.format == "onnx")
    session = open_session("onnxruntime", artifact)
    rng = np.random.default_rng(7)
    feeds = {t.name: rng.random([3] + [d or 4 for d in t.shape[1:]], dtype=np.float32) for t in lm.spec.inputs}
    got = session.run(feeds)
    want = forward(lm.model, [feeds[t.name] for t in lm.spec.inputs])
    for t, w in zip(lm.spec.outputs, want, strict=True):
        # multi_output_assign_2024's weights are NaN in the file itself: NaN must stay NaN
        np.testing.assert_allclose(got[t.name], w, rtol=1e-4, atol=1e-5, equal_nan=bool(lm.warnings))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_clear_errors(corpus_dir, name):
    from modelport.loading import load

    cls, words = ERRORS[name]
    with pytest.raises(cls) as info:
        load(corpus_dir / name)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == EXIT_BAD_INPUT
    for word in words:
        assert word in message


def test_weights_only_without_architecture_says_how(corpus_dir):
    from modelport.loading import describe

    with pytest.raises(NotAModelError, match=r"weights only.*--architecture"):
        describe(corpus_dir / "ddpg_torcs_actor.h5")


@pytest.mark.parametrize("name", BOTH_LOADERS)
def test_two_loaders_agree(corpus_loaded, name):
    from modelport.loading.verify import dummy_inputs, forward

    a, b = corpus_loaded(name, "tf_keras"), corpus_loaded(name, "keras3")
    xs = dummy_inputs(a.model, seed=3)
    for x, y in zip(forward(a.model, xs), forward(b.model, xs), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)


def test_keras3_refused_where_it_would_compute_other_numbers(corpus_dir):
    """pollution_lstm uses Keras 2's hard_sigmoid, which Keras 3 redefined."""
    from modelport.loading import load

    with pytest.raises(ModelportError, match="hard_sigmoid"):
        load(corpus_dir / "pollution_lstm_tf_2018.h5", loader="keras3")


def test_lambda_file_refused_before_tensorflow_is_imported(corpus_dir, tmp_path):
    """The CLI on the Lambda file: exit 2, one line, no traceback, nothing written, TF never imported."""
    code = (
        "import sys\n"
        "from modelport.loading import load\n"
        "from modelport.errors import ModelportError\n"
        f"try:\n    load({str(corpus_dir / 'carnd_naokishibuya_2017.h5')!r})\n"
        "except ModelportError as e:\n    print(type(e).__name__)\n"
        "print('tf_keras' in sys.modules, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1]
    )
    assert out.stdout.split() == ["UnsafeModelError", "False", "False", "False"], out.stderr
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport",
            "convert",
            str(corpus_dir / "carnd_naokishibuya_2017.h5"),
            "--to",
            "onnx",
            "--out-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert cli.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in cli.stderr + cli.stdout and "lambda_1" in cli.stderr + cli.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_describe_reads_every_era_without_tensorflow(corpus_dir):
    """`modelport inspect` material: version, backend, layers, io, loader, repairs, safety; no TF import."""
    code = (
        "import sys, json\n"
        "from modelport.loading import describe\n"
        f"d = describe({str(corpus_dir / 'iris_mlp_theano_2018.h5')!r})\n"
        f"e = describe({str(corpus_dir / 'ddpg_torcs_actor.h5')!r}, {str(corpus_dir / 'ddpg_torcs_actor.json')!r})\n"
        f"c = describe({str(corpus_dir / 'carnd_naokishibuya_2017.h5')!r})\n"
        "print(json.dumps([d, e, c]))\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]
    )
    import json

    lines = out.stdout.splitlines()
    assert lines[-1] == "False False", out.stderr
    iris, ddpg, carnd = json.loads(lines[0])
    assert (iris["keras_version"], iris["backend"], iris["loader"]) == ("2.1.3", "theano", "tf_keras")
    assert iris["inputs"][0]["shape"] == [None, 4] and [la["class_name"] for la in iris["layers"]] == ["Dense"] * 2
    assert ddpg["era"] == "keras1" and ddpg["repairs"] == ["keras1-names"] and ddpg["fallback_loaders"] == ["keras3"]
    assert "Concatenate" in [la["class_name"] for la in ddpg["layers"]]
    assert not carnd["safe"] and carnd["safety"][0]["kind"] == "lambda" and carnd["safety"][0]["where"] == "lambda_1"
