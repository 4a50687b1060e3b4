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
    assert applied and fixed["module"] == "keras.src.models.functional"
    assert fixed["config"]["layers"][0]["module"] == "keras.layers"


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
    assert repairs.repair(raw, "keras3", "keras3")[1] == []  # files Keras 3 wrote get only keras3-era rules
    assert all(r["description"] for r in repairs.describe_rules())
    assert {r.name for r in repairs.RULES} <= set(repairs.SUMMARIES)  # the CLI has a line for each


def test_fixed_batch_size_relaxes_every_saved_batch():
    inp = {"class_name": "InputLayer", "config": {"name": "i", "batch_shape": [32, 8, 8, 3]}}
    conv = {"class_name": "Conv2D", "config": {"name": "c"}, "build_config": {"input_shape": [32, 8, 8, 3]},
            "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [32, 8, 8, 3]}}]}]}
    add = {"class_name": "Add", "config": {"name": "a"}, "build_config": {"input_shape": [[32, 4], [32, 4]]}}
    cfg = {"class_name": "Functional", "config": {"name": "f", "layers": [inp, conv, add]},
           "build_config": {"input_shape": [32, 8, 8, 3]}}
    fixed, applied = repairs.fixed_batch_size(cfg)
    i, c, a = fixed["config"]["layers"]
    assert applied and i["config"]["batch_shape"] == [None, 8, 8, 3]
    assert c["build_config"]["input_shape"] == [None, 8, 8, 3] == fixed["build_config"]["input_shape"]
    assert c["inbound_nodes"][0]["args"][0]["config"]["shape"] == [None, 8, 8, 3]
    assert a["build_config"]["input_shape"] == [[None, 4], [None, 4]]
    assert repairs.fixed_batch_size(fixed)[1] is False


def test_fixed_batch_size_keeps_stateful_rnns():
    """A stateful RNN's states have the saved batch size: relaxing it would change the model."""
    lstm = {"class_name": "LSTM", "config": {"name": "l", "stateful": True, "batch_input_shape": [4, 3, 2]}}
    assert repairs.fixed_batch_size(seq([lstm]))[1] is False


def test_batchnorm_axis_list():
    bn = {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [3]}}
    fixed, applied = repairs.batchnorm_axis_list(seq([bn]))
    assert applied and fixed["config"]["layers"][0]["config"]["axis"] == 3


def test_nested_sequential_node_index():
    """tf.keras counts a built nested Sequential's own node; Keras 3 does not."""
    aug = {"class_name": "Sequential", "config": {"name": "aug", "layers": [
        {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 4]}}, dense("d0", 4)]}}
    lazy = {"class_name": "Sequential", "config": {"name": "lazy", "layers": [dense("d1", 4)]}}
    d = {**dense("d", 2), "name": "d", "inbound_nodes": [[["aug", 1, 0, {}]], [["lazy", 0, 0, {}]]]}
    cfg = {"class_name": "Functional", "config": {"name": "f", "layers": [aug, lazy, d],
                                                  "output_layers": [["aug", 2, 0]]}}
    fixed, applied = repairs.nested_sequential_node_index(cfg)
    nodes = fixed["config"]["layers"][2]["inbound_nodes"]
    assert applied and nodes == [[["aug", 0, 0, {}]], [["lazy", 0, 0, {}]]]
    assert fixed["config"]["output_layers"] == [["aug", 1, 0]]


def test_keras_src_engine_functional_gets_keras3_module():
    """``keras.Functional`` is no KerasSaveable in Keras 3; its class lives in keras.src.models.functional."""
    from keras.src.saving import serialization_lib

    fixed, _ = repairs.keras_src_engine_modules({"module": "keras.src.engine.functional", "class_name": "Functional"})
    cls = serialization_lib._retrieve_class_or_fn("Functional", "Functional", fixed["module"], obj_type="class",
                                                  full_config=fixed)
    assert cls.__name__ == "Functional"


def test_keras1_input_length_survives_only_on_embedding():
    conv = {"class_name": "Convolution1D", "config": {"name": "c", "nb_filter": 2, "filter_length": 3,
                                                      "input_dim": 4, "input_length": 10}}
    emb = {"class_name": "Embedding", "config": {"name": "e", "input_dim": 10, "output_dim": 3, "input_length": 7}}
    c, e = repairs.keras1_names(seq([conv, emb], as_list=True))[0]["config"]
    assert "input_length" not in c["config"] and c["config"]["batch_input_shape"] == [None, 10, 4]
    assert e["config"]["input_length"] == 7


def test_keras3_semantic_drift():
    lstm = {"class_name": "LSTM", "config": {"name": "l", "recurrent_activation": "hard_sigmoid"}}
    assert "hard_sigmoid" in repairs.keras3_semantic_drift(seq([lstm]), "keras2")
    assert repairs.keras3_semantic_drift(seq([lstm]), "keras3") is None
