"""Property-based: arbitrary JSON-like configs through the config reader, the safety walk, the repair
rules, the spec builder and the analyser. Only the documented error family (ModelportError) may
escape; anything else is a modelport bug."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport import loading
from modelport.analyze import analyze
from modelport.errors import ModelportError
from modelport.loading import read_spec, repairs, safety
from modelport.loading.config_reader import SavedFile

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])
CLASSES = ["Dense", "Conv2D", "LSTM", "InputLayer", "Sequential", "Functional", "Model", "Lambda", "Bidirectional",
           "TimeDistributed", "Merge", "Convolution2D", "Embedding", "Concatenate", "Activation", "BatchNormalization"]
KEYS = ["class_name", "config", "name", "layers", "inbound_nodes", "input_layers", "output_layers", "units",
        "batch_input_shape", "batch_shape", "input_shape", "activation", "layer", "module", "registered_name",
        "output_dim", "nb_filter", "mode", "dtype", "build_config", "shared_object_id", "keras_history"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**40), st.floats(allow_nan=True),
                    st.sampled_from(CLASSES + KEYS + ["relu", "float32", "keras.layers", "os"]), st.text(max_size=8))
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5)),
    max_leaves=40,
)
layer = st.fixed_dictionaries({"class_name": st.sampled_from(CLASSES), "config": st.dictionaries(st.sampled_from(KEYS), json_like, max_size=5)},
                              optional={"name": st.text(max_size=5), "inbound_nodes": json_like, "module": scalars})
model_like = st.fixed_dictionaries({
    "class_name": st.sampled_from(["Sequential", "Functional", "Model"]),
    "config": st.one_of(st.lists(layer, max_size=4),
                        st.fixed_dictionaries({"name": st.text(max_size=4), "layers": st.lists(layer, max_size=4)},
                                              optional={"input_layers": json_like, "output_layers": json_like})),
})
configs = st.one_of(json_like, model_like)


@SETTINGS
@given(configs)
def test_safety_walk_never_crashes(config):
    problems = safety.find_problems(config)
    try:
        safety.check(config)
    except ModelportError:
        assert problems


@SETTINGS
@given(configs, st.sampled_from(["keras3", "tf_keras"]), st.sampled_from(["keras1", "keras2", "keras3"]))
def test_repairs_only_raise_the_error_family(config, loader, era):
    if not isinstance(config, dict):
        config = {"class_name": "Sequential", "config": config}
    try:
        repairs.repair(config, loader, era)
    except ModelportError:
        pass


@SETTINGS
@given(configs)
def test_spec_and_analysis_only_raise_the_error_family(config):
    if not isinstance(config, dict):
        config = {"class_name": "Functional", "config": config}
    try:
        # through the loading boundary (what read_spec/describe/load use), not spec_from_config alone
        spec = loading._spec(SavedFile(Path("x.h5"), "hdf5", None, None, config), Path("x.h5"))
        analyze(spec, ["savedmodel", "pb", "ckpt", "onnx", "pmml"])
    except ModelportError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs, st.one_of(st.none(), json_like), st.booleans())
def test_config_reader_only_raises_the_error_family(tmp_path, config, metadata, as_zip):
    """The same configs written into real containers: a .keras zip and an HDF5 file's attributes."""
    path = tmp_path / ("m.keras" if as_zip else "m.h5")
    text = json.dumps(config)
    if as_zip:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("config.json", text)
            if metadata is not None:
                zf.writestr("metadata.json", json.dumps(metadata))
    else:
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = text
            if isinstance(metadata, str):
                f.attrs["keras_version"] = metadata
    try:
        read_spec(path)
    except ModelportError:
        pass
