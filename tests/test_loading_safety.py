"""Safe mode and clear errors: code in a model file never runs without an explicit opt-in, and files
that are not models are named for what they are."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from modelport.errors import NotAModelError, UnsafeModelError
from modelport.loading import safety
from modelport.loading.builtin_classes import BUILTIN_CLASSES

SCALE_MODULE = """
import tf_keras

class Scale(tf_keras.layers.Layer):
    def __init__(self, factor=2.0, **kw):
        super().__init__(**kw)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
"""


def layer(cls, name, **top):
    return {"class_name": cls, "config": {"name": name}, **top}


def model(*layers):
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers)}}


def test_builtin_list_covers_installed_keras():
    import keras
    import tf_keras

    for mod in (keras.layers, tf_keras.layers):
        missing = {n for n in dir(mod) if not n.startswith("_") and isinstance(getattr(mod, n), type)} - BUILTIN_CLASSES
        assert not missing


@pytest.mark.parametrize(
    "cfg, kind",
    [
        (model(layer("Lambda", "l")), safety.LAMBDA),
        (model(layer("Sequential", "inner", config={"layers": [layer("Lambda", "deep")]})), safety.LAMBDA),
        (model(layer("CRF", "crf")), safety.CUSTOM),
        (model(layer("Thing", "t", module="mylib.layers")), safety.FOREIGN_MODULE),
        (model(layer("Dense", "d", module="keras.layers", registered_name="MyPkg>Dense")), safety.COLLISION),
        (model(layer("Attention", "att", module="mylib.layers")), safety.COLLISION),
        (
            model(
                layer("Dense", "d", config={"name": "d", "kernel_initializer": {"class_name": "MyInit", "config": {}}})
            ),
            safety.CUSTOM,
        ),
    ],
)
def test_problems_found_anywhere_in_the_config(cfg, kind):
    problems = safety.find_problems(cfg)
    assert [p.kind for p in problems] == [kind]
    with pytest.raises(UnsafeModelError):
        safety.check(cfg)


def test_builtins_pass_and_opt_ins_are_explicit():
    plain = model(layer("InputLayer", "i"), layer("Dense", "d", module="keras.layers", registered_name=None))
    assert safety.check(plain) == []
    assert [p.kind for p in safety.check(model(layer("Lambda", "l")), trust_code=True)] == [safety.LAMBDA]
    assert safety.check(model(layer("CRF", "c")), custom_names=["CRF"]) == []
    collision = model(layer("Attention", "att", module="mylib.layers"))
    with pytest.raises(UnsafeModelError, match="not the built-in Keras Attention"):
        safety.check(collision)
    assert [p.kind for p in safety.check(collision, custom_names=["Attention"])] == [safety.COLLISION]


@pytest.fixture(scope="module")
def custom_layer_file(tmp_path_factory):
    """A tf_keras .h5 with a user-defined layer, and the module defining it."""
    import importlib.util

    root = tmp_path_factory.mktemp("custom")
    module_file = root / "scale_layer.py"
    module_file.write_text(SCALE_MODULE)
    spec = importlib.util.spec_from_file_location("scale_layer_build", module_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import tf_keras

    inp = tf_keras.Input((3,), name="x")
    out = tf_keras.layers.Dense(2, name="d")(mod.Scale(3.0, name="scale")(inp))
    m = tf_keras.Model(inp, out)
    path = root / "custom.h5"
    m.save(path)
    return path, module_file, m


def test_custom_class_needs_custom_objects(custom_layer_file):
    from modelport.loading import load

    path, module_file, original = custom_layer_file
    with pytest.raises(UnsafeModelError, match="custom class 'Scale'.*--custom-objects"):
        load(path)
    lm = load(path, custom_objects=module_file)
    assert lm.spec.trust["custom_objects"] == ["Scale"] and lm.spec.trust["custom_objects_file"] == str(module_file)
    x = np.random.default_rng(0).random((4, 3), dtype=np.float32)
    np.testing.assert_allclose(lm.model(x).numpy(), original(x).numpy(), atol=1e-6)


def test_not_a_model_files_are_named(tmp_path):
    from modelport.loading import describe, load

    cases = {
        "empty.h5": (b"", "an empty file"),
        "page.h5": (b"<!DOCTYPE html><html><body>404</body></html>", "HTML page"),
        "lfs.h5": (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
    }
    for name, (data, words) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(NotAModelError, match=words):
            load(tmp_path / name)
    with h5py.File(tmp_path / "full.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(100_000))
    (tmp_path / "cut.h5").write_bytes((tmp_path / "full.h5").read_bytes()[:4000])
    with pytest.raises(NotAModelError, match="damaged or truncated"):
        describe(tmp_path / "cut.h5")


def test_partial_weights_are_refused(tmp_path, custom_layer_file):
    """An architecture whose layers the weights file does not fully cover: no silent partial load."""
    import json

    from modelport.loading import load

    arch = {
        "class_name": "Sequential",
        "keras_version": "2.4.0",
        "config": {
            "name": "s",
            "layers": [
                {"class_name": "Dense", "config": {"name": "a", "units": 2, "batch_input_shape": [None, 3]}},
                {"class_name": "Dense", "config": {"name": "b", "units": 1}},
            ],
        },
    }
    (tmp_path / "arch.json").write_text(json.dumps(arch))
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.attrs["layer_names"] = [b"a"]
        f.attrs["keras_version"] = b"2.4.0"
        g = f.create_group("a")
        g.attrs["weight_names"] = [b"a/kernel:0", b"a/bias:0"]
        g["a/kernel:0"] = np.ones((3, 2), np.float32)
        g["a/bias:0"] = np.zeros(2, np.float32)
    with pytest.raises(Exception, match="no weights for layer 'b'"):
        load(tmp_path / "w.h5", architecture=tmp_path / "arch.json")
