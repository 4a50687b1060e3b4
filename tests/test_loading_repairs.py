"""Each repair rule on a small config built here: it fixes what it says, and only that."""

from __future__ import annotations

import pytest

from modelport.errors import BadInputError
from modelport.loading import repairs
from modelport.loading.keras1 import looks_like_keras1


def dense(name, units, **extra):
    return {"class_name": "Dense", "config": {"name": name, "units": units, "activation": "relu", **extra}}


def seq(layers, as_list=False):
    return {"class_name": "Sequential", "config": layers if as_list else {"name": "s", "layers": layers}}


def test_sequential_list_config():
    cfg, applied = repairs.sequential_list_config(seq([dense("d", 2)], as_list=True))
    assert applied and cfg["config"]["layers"][0]["config"]["name"] == "d"
    assert repairs.sequential_list_config(seq([dense("d", 2)]))[1] is False


def test_batch_input_shape_becomes_input_layer():
    cfg, applied = repairs.batch_input_shape_to_input_layer(seq([dense("d", 2, batch_input_shape=[None, 152])]))
    first, second = cfg["config"]["layers"]
    assert applied and first["class_name"] == "InputLayer" and first["config"]["batch_shape"] == [None, 152]
    assert "batch_input_shape" not in second["config"]


def test_batch_input_shape_gives_keras3_the_right_rank():
    """Without the rule Keras 3 builds (None, None, 152); with it, (None, 152)."""
    from keras.src.legacy.saving import saving_utils

    raw = seq([dense("d", 3, batch_input_shape=[None, 152])])
    fixed, _ = repairs.batch_input_shape_to_input_layer(raw)
    assert tuple(saving_utils.model_from_config(fixed).inputs[0].shape) == (None, 152)


def test_wrapper_inner_module():
    bi = {
        "class_name": "Bidirectional",
        "config": {"name": "b", "layer": {"class_name": "LSTM", "config": {"units": 2}}},
    }
    cfg, applied = repairs.wrapper_inner_module(seq([bi]))
    assert applied and cfg["config"]["layers"][0]["config"]["layer"]["module"] == "keras.layers"


def test_tf_keras_only_args_drop_neutral_values_only():
    lstm = {"class_name": "LSTM", "config": {"name": "l", "units": 2, "time_major": False, "implementation": 2}}
    dw = {"class_name": "DepthwiseConv2D", "config": {"name": "dw", "groups": 1}}
    tm = {"class_name": "LSTM", "config": {"name": "t", "units": 2, "time_major": True}}
    cfg, applied = repairs.tf_keras_only_args(seq([lstm, dw, tm]))
    a, b, c = cfg["config"]["layers"]
    assert applied and "time_major" not in a["config"] and "implementation" not in a["config"]
    assert "groups" not in b["config"]
    assert c["config"]["time_major"] is True  # a real semantic: kept, so Keras 3 refuses it loudly


def test_keras_src_engine_modules():
    cfg = {
        "module": "keras.src.engine.functional",
        "class_name": "Functional",
        "config": {"layers": [{"module": "keras.src.engine.input_layer", "class_name": "InputLayer", "config": {}}]},
    }
    fixed, applied = repairs.keras_src_engine_modules(cfg)
    assert applied and fixed["module"] == "keras" and fixed["config"]["layers"][0]["module"] == "keras.layers"


def test_keras1_names():
    conv = {
        "class_name": "Convolution2D",
        "config": {
            "name": "c",
            "nb_filter": 8,
            "nb_row": 3,
            "nb_col": 5,
            "border_mode": "same",
            "subsample": [2, 2],
            "init": "glorot_uniform",
            "W_regularizer": {"name": "WeightRegularizer", "l1": 0.0, "l2": 0.01},
            "bias": True,
            "dim_ordering": "tf",
            "activation": "relu",
        },
    }
    d = {"class_name": "Dense", "config": {"name": "d", "output_dim": 4, "init": "<lambda>", "input_dim": None}}
    m = {"class_name": "Merge", "config": {"name": "m", "mode": "concat", "concat_axis": -1}}
    emb = {"class_name": "Embedding", "config": {"name": "e", "input_dim": 10, "output_dim": 3, "init": "uniform"}}
    assert looks_like_keras1(seq([conv]))
    cfg, applied = repairs.keras1_names(seq([conv, d, m, emb], as_list=True))
    c, dd, mm, e = cfg["config"]
    assert applied and c["class_name"] == "Conv2D"
    want = {
        "filters": 8,
        "kernel_size": [3, 5],
        "padding": "same",
        "strides": [2, 2],
        "use_bias": True,
        "data_format": "channels_last",
    }
    assert {k: c["config"].get(k) for k in want} == want
    assert not {"nb_filter", "nb_row", "border_mode", "subsample", "init", "bias"} & set(c["config"])
    assert c["config"]["kernel_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}
    assert dd["config"]["units"] == 4 and dd["config"]["kernel_initializer"] == "glorot_uniform"
    assert mm["class_name"] == "Concatenate" and mm["config"]["axis"] == -1
    assert e["config"]["output_dim"] == 3 and e["config"]["embeddings_initializer"] == "uniform"
    assert not looks_like_keras1(cfg) and repairs.keras1_names(seq([dense("x", 1)]))[1] is False


@pytest.mark.parametrize(
    "layer, words",
    [
        ({"class_name": "Highway", "config": {"name": "h"}}, "Highway"),
        ({"class_name": "Merge", "config": {"name": "m", "mode": "cos"}}, "Merge mode 'cos'"),
    ],
)
def test_keras1_unsupported_constructs_are_named(layer, words):
    with pytest.raises(BadInputError, match="Keras 1 construct not supported") as info:
        repairs.keras1_names(seq([layer], as_list=True))
    assert words in str(info.value)


def test_rules_run_only_for_their_loader_and_era():
    raw = seq([dense("d", 2, batch_input_shape=[None, 4])], as_list=True)
    assert repairs.repair(raw, "tf_keras", "keras2")[1] == []
    assert repairs.repair(raw, "keras3", "keras2")[1] == ["sequential-list-config", "batch-input-shape"]
    assert repairs.repair(raw, "keras3", "keras3")[1] == []  # files Keras 3 wrote are read as they are
    assert all(r["description"] for r in repairs.describe_rules())


def test_keras3_semantic_drift():
    lstm = {"class_name": "LSTM", "config": {"name": "l", "recurrent_activation": "hard_sigmoid"}}
    assert "hard_sigmoid" in repairs.keras3_semantic_drift(seq([lstm]), "keras2")
    assert repairs.keras3_semantic_drift(seq([lstm]), "keras3") is None
