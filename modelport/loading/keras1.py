"""Keras 1 layer and argument names, and how they translate to Keras 2 (which both tf_keras and Keras 3
read). Pure data plus one translation function; no TensorFlow.

Keras 1 stored weights as ``<layer>_W``/``<layer>_b`` in the same order Keras 2 calls kernel/bias, so
a renamed config plus tf_keras's Keras-1 weight conversion (RNN gate concatenation, kernel layouts)
reproduces the model.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import BadInputError
from modelport.loading.config_walk import iter_dicts

# Keras 1 class -> Keras 2 class
CLASS_RENAMES = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D",
    "AtrousConvolution2D": "Conv2D",
    "Deconvolution2D": "Conv2DTranspose",
    "SeparableConvolution2D": "SeparableConv2D",
}

# Keras 1 layers with no Keras 2/3 equivalent: refused with a clear error
UNSUPPORTED_CLASSES = {
    "Highway": "Highway was removed in Keras 2",
    "MaxoutDense": "MaxoutDense was removed in Keras 2",
    "TimeDistributedDense": "TimeDistributedDense was removed in Keras 2 (use TimeDistributed(Dense))",
    "AutoEncoder": "AutoEncoder was removed in Keras 2",
    "SiameseHead": "SiameseHead was removed in Keras 2",
    "Siamese": "Siamese was removed in Keras 2",
}

MERGE_MODES = {
    "concat": "Concatenate",
    "sum": "Add",
    "mul": "Multiply",
    "ave": "Average",
    "max": "Maximum",
    "dot": "Dot",
}

KERAS1_CLASSES = frozenset(CLASS_RENAMES) | frozenset(UNSUPPORTED_CLASSES) | {"Merge"}

# argument renames valid for every layer
ARG_RENAMES = {
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "U_constraint": "recurrent_constraint",
    "bias": "use_bias",
    "nb_filter": "filters",
    "border_mode": "padding",
    "subsample": "strides",
    "subsample_length": "strides",
    "filter_length": "kernel_size",
    "atrous_rate": "dilation_rate",
    "inner_activation": "recurrent_activation",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "pool_length": "pool_size",
    "stride": "strides",
    "input_dtype": "dtype",
    "p": "rate",
    "gamma_init": "gamma_initializer",
    "beta_init": "beta_initializer",
}
# Embedding keeps output_dim; its W_* arguments are the embeddings'
EMBEDDING_RENAMES = {
    "init": "embeddings_initializer",
    "W_regularizer": "embeddings_regularizer",
    "W_constraint": "embeddings_constraint",
}
UNITS_LAYERS = {"Dense", "LSTM", "GRU", "SimpleRNN"}
DROPPED_ARGS = {
    "consume_less",
    "output_shape_type",
    "mode_type",
    "input_length_",
    "b_learning_rate_multiplier",
    "W_learning_rate_multiplier",
    "forget_bias_init",
    "mode",
    "output_shape",
    "dot_axes",
    "concat_axis",
    "input_dim",
}
KNOWN_INITIALIZERS = {
    "zero",
    "zeros",
    "one",
    "ones",
    "uniform",
    "normal",
    "lecun_uniform",
    "lecun_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "orthogonal",
    "identity",
}
KERAS1_ARGS = frozenset(ARG_RENAMES) | {"nb_row", "nb_col", "nb_depth", "dim_ordering", "output_dim"}


def looks_like_keras1(config: Any) -> bool:
    """True if any layer in the config uses a Keras 1 class or argument name."""
    for obj in iter_dicts(config):
        if obj.get("class_name") in KERAS1_CLASSES:
            return True
        cfg = obj.get("config")
        if isinstance(cfg, dict) and "class_name" in obj and KERAS1_ARGS & set(cfg) - {"output_dim"}:
            return True
    return False


def _regularizer(value: Any) -> Any:
    """Keras 1 ``{"name": "WeightRegularizer", "l1": .., "l2": ..}`` -> Keras 2 ``L1L2``."""
    if isinstance(value, dict) and "name" in value and "class_name" not in value:
        return {"class_name": "L1L2", "config": {"l1": float(value.get("l1", 0.0)), "l2": float(value.get("l2", 0.0))}}
    return value


def _constraint(value: Any) -> Any:
    """Constraints only matter for training; a Keras 1 constraint dict is dropped."""
    if isinstance(value, dict) and "name" in value and "class_name" not in value:
        return None
    return value


def translate_layer(layer: dict[str, Any]) -> dict[str, Any]:
    """One Keras 1 layer entry (class_name + config) -> Keras 2 spelling. Raises for unsupported ones."""
    cls = layer.get("class_name")
    cfg = dict(layer.get("config") or {})
    name = cfg.get("name", "?")
    if cls in UNSUPPORTED_CLASSES:
        raise BadInputError(
            f"layer '{name}': Keras 1 construct not supported: {UNSUPPORTED_CLASSES[cls]}",
            "rebuild the model in Keras 2 or 3 and copy the weights over",
        )
    if cls == "Merge":
        cls, cfg = _merge(cfg, name)
    if cls == "Dense" and cfg.get("input_dim") and not cfg.get("batch_input_shape"):
        cfg["batch_input_shape"] = [None, cfg["input_dim"]]
    if (
        cls in ("LSTM", "GRU", "SimpleRNN", "Embedding", "Conv1D", "Convolution1D")
        and cfg.get("input_dim")
        and not cfg.get("batch_input_shape")
        and cls != "Embedding"
    ):
        cfg["batch_input_shape"] = [None, cfg.get("input_length"), cfg["input_dim"]]
    new_cls = CLASS_RENAMES.get(cls, cls)
    out: dict[str, Any] = {}
    renames = {**ARG_RENAMES, **EMBEDDING_RENAMES} if cls == "Embedding" else ARG_RENAMES
    for key, value in cfg.items():
        if key in DROPPED_ARGS and not (cls == "Embedding" and key == "input_dim"):
            continue
        if key == "input_length" and cls != "Embedding":
            continue  # Keras 1 put it on Conv1D, Dense and RNNs; only Embedding keeps it (folded into the shape above)
        if key == "output_dim" and cls in UNITS_LAYERS:
            key = "units"
        elif key in ("nb_row", "nb_col", "nb_depth"):
            continue  # folded into kernel_size below
        elif key == "dim_ordering":
            if value in ("tf", "th"):
                out["data_format"] = "channels_last" if value == "tf" else "channels_first"
            continue
        key = renames.get(key, key)
        if key.endswith("_regularizer"):
            value = _regularizer(value)
        elif key.endswith("_constraint"):
            value = _constraint(value)
        elif key.endswith("_initializer") and isinstance(value, str) and value not in KNOWN_INITIALIZERS:
            value = "glorot_uniform"  # e.g. "<lambda>": a user function's name; irrelevant once weights load
        out[key] = value
    if "nb_row" in cfg:
        out["kernel_size"] = [cfg["nb_row"], cfg["nb_col"]] + ([cfg["nb_depth"]] if "nb_depth" in cfg else [])
    if new_cls == "Conv3D" and "kernel_dim1" in cfg:
        out["kernel_size"] = [cfg["kernel_dim1"], cfg["kernel_dim2"], cfg["kernel_dim3"]]
        for k in ("kernel_dim1", "kernel_dim2", "kernel_dim3"):
            out.pop(k, None)
    if new_cls.endswith(("Pooling1D",)) and "pool_size" in out and not isinstance(out["pool_size"], list):
        out["pool_size"] = [out["pool_size"]]
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        out.pop("kernel_initializer", None)
        out.pop("recurrent_initializer", None)
    if cls == "BatchNormalization" and cfg.get("mode", 0) != 0:
        raise BadInputError(
            f"layer '{name}': Keras 1 construct not supported: BatchNormalization mode={cfg['mode']}",
            "only mode=0 (feature-wise) exists in Keras 2 and 3",
        )
    result = dict(layer)
    result["class_name"] = new_cls
    result["config"] = out
    return result


def _merge(cfg: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    mode = cfg.get("mode")
    if not isinstance(mode, str) or mode not in MERGE_MODES:
        raise BadInputError(
            f"layer '{name}': Keras 1 construct not supported: Merge mode {mode!r}",
            "only concat, sum, mul, ave, max and dot merges have Keras 2/3 equivalents",
        )
    new = {"name": cfg.get("name"), "trainable": cfg.get("trainable", True)}
    if mode == "concat":
        new["axis"] = cfg.get("concat_axis", -1)
    if mode == "dot":
        new["axes"] = cfg.get("dot_axes", -1)
    return MERGE_MODES[mode], new
