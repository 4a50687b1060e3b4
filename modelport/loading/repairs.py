"""Repairs of known config drift between Keras eras, as small named rules. No TensorFlow.

Each rule is ``fix(config) -> (config, applied)`` on a deep copy; it says what it fixes, for which
loader it is needed (``loaders``), and is applied only when it changes something. Where a repair is
uncertain, verification after loading (``verify.py``) decides whether the result is kept.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelport.loading import keras1
from modelport.loading.config_walk import iter_dicts

KERAS3, TF_KERAS = "keras3", "tf_keras"
Config = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    loaders: frozenset[str]
    eras: frozenset[str]
    fix: Callable[[Config], tuple[Config, bool]]

    def __call__(self, config: Config) -> tuple[Config, bool]:
        return self.fix(copy.deepcopy(config))


def _layers(config: Config) -> list[dict[str, Any]]:
    inner = config.get("config")
    if isinstance(inner, list):
        return inner
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return inner["layers"]
    return []


def _all_layer_dicts(config: Config):
    """Every layer entry, including those nested in wrappers and sub-models."""
    for layer in _layers(config):
        if not isinstance(layer, dict):
            continue
        yield layer
        cfg = layer.get("config")
        if isinstance(cfg, dict):
            inner = cfg.get("layer")
            if isinstance(inner, dict) and "class_name" in inner:
                yield inner
            if layer.get("class_name") in ("Sequential", "Model", "Functional"):
                yield from _all_layer_dicts(layer)


def sequential_list_config(config: Config) -> tuple[Config, bool]:
    """Keras 1.x-2.2 saved a Sequential's config as a bare list of layers; Keras 3 wants
    ``{"name": ..., "layers": [...]}``."""
    applied = False

    def fix(obj: Config) -> None:
        nonlocal applied
        if obj.get("class_name") == "Sequential" and isinstance(obj.get("config"), list):
            obj["config"] = {"name": obj.get("name") or "sequential", "layers": obj["config"]}
            applied = True
        for layer in _layers(obj):
            if isinstance(layer, dict):
                fix(layer)

    fix(config)
    return config, applied


def keras1_names(config: Config) -> tuple[Config, bool]:
    """Keras 1 layer and argument names (``Convolution2D``, ``nb_filter``, ``border_mode``, ``init``,
    ``W_regularizer``, ``output_dim``, ``Merge`` ...) become their Keras 2 spellings."""
    if not keras1.looks_like_keras1(config):
        return config, False

    def fix(obj: Config) -> None:
        layers = _layers(obj)
        for i, layer in enumerate(layers):
            if not isinstance(layer, dict) or "class_name" not in layer:
                continue
            new = keras1.translate_layer(layer)
            inner = new["config"].get("layer")
            if isinstance(inner, dict) and "class_name" in inner:
                new["config"]["layer"] = keras1.translate_layer(inner)
            layers[i] = new
            if new["class_name"] in ("Sequential", "Model"):
                fix(new)

    fix(config)
    return config, True


def batch_input_shape_to_input_layer(config: Config) -> tuple[Config, bool]:
    """A Sequential whose first layer carries ``batch_input_shape`` and no ``InputLayer``: Keras 3
    ignores that argument and builds on the first call with a wrong input rank (e.g. ``(None, None, 152)``
    for a Dense on 152 features). Insert an explicit InputLayer with that ``batch_shape``; in every
    layer, turn ``batch_input_shape`` into what Keras 3 reads."""
    applied = False
    layers = _layers(config)
    if config.get("class_name") == "Sequential" and layers and isinstance(layers[0], dict):
        first = layers[0]
        cfg = first.get("config", {})
        if first.get("class_name") != "InputLayer" and cfg.get("batch_input_shape"):
            layers.insert(
                0,
                {
                    "class_name": "InputLayer",
                    "config": {
                        "batch_shape": list(cfg["batch_input_shape"]),
                        "dtype": cfg.get("dtype") if isinstance(cfg.get("dtype"), str) else "float32",
                        "name": f"{cfg.get('name', 'layer')}_input",
                    },
                },
            )
            applied = True
    for layer in _all_layer_dicts(config):
        cfg = layer.get("config")
        if not isinstance(cfg, dict) or "batch_input_shape" not in cfg:
            continue
        shape = cfg.pop("batch_input_shape")
        if layer.get("class_name") == "InputLayer":
            cfg["batch_shape"] = shape
        applied = True
    return config, applied


def wrapper_inner_module(config: Config) -> tuple[Config, bool]:
    """Built-in layers inside ``Bidirectional``/``TimeDistributed`` saved by tf.keras carry no
    ``module``, so Keras 3 cannot resolve the inner class ("Could not locate class 'LSTM'"). Name
    ``keras.layers`` as their module."""
    applied = False
    for layer in _all_layer_dicts(config):
        cfg = layer.get("config")
        if not isinstance(cfg, dict):
            continue
        for key in ("layer", "backward_layer"):
            inner = cfg.get(key)
            if isinstance(inner, dict) and "class_name" in inner and not inner.get("module"):
                inner["module"] = "keras.layers"
                inner.setdefault("registered_name", None)
                applied = True
    return config, applied


# tf.keras-only arguments Keras 3 rejects, dropped when they hold their neutral value
# (rng_type: tf_keras 2.16+ random layers; which generator draws the augmentation noise changes
# nothing at inference, where those layers are the identity)
TF_KERAS_ONLY_ARGS = {"time_major": False, "ragged": False, "groups": 1, "implementation": None, "rng_type": None}
LEGACY_ERAS = frozenset({"keras1", "keras2"})
ALL_ERAS = LEGACY_ERAS | {"keras3"}


def tf_keras_only_args(config: Config) -> tuple[Config, bool]:
    """tf.keras-only arguments Keras 3 rejects (``time_major``, ``ragged``, ``groups=1``,
    ``implementation``, a random layer's ``rng_type``) are dropped when they hold a value that
    changes nothing."""
    applied = False
    for layer in _all_layer_dicts(config):
        cfg = layer.get("config")
        if not isinstance(cfg, dict):
            continue
        for key, neutral in TF_KERAS_ONLY_ARGS.items():
            # groups=1 is the default everywhere; DepthwiseConv2D & co. in Keras 3 reject the argument
            if key in cfg and (neutral is None or cfg[key] == neutral):
                del cfg[key]
                applied = True
    return config, applied


def batchnorm_axis_list(config: Config) -> tuple[Config, bool]:
    """tf.keras saved ``BatchNormalization(axis=[3])`` as a one-element list; Keras 3 wants the int."""
    applied = False
    for layer in _all_layer_dicts(config):
        cfg = layer.get("config")
        if layer.get("class_name") == "BatchNormalization" and isinstance(cfg, dict):
            axis = cfg.get("axis")
            if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
                cfg["axis"] = axis[0]
                applied = True
    return config, applied


def _built_at_construction(layer: dict[str, Any]) -> bool:
    """A tf.keras Sequential that knew its input shape built itself into a graph when created,
    which gave it an inbound node (index 0) before any call."""
    layers = _layers(layer)
    first = layers[0] if layers and isinstance(layers[0], dict) else {}
    cfg = first.get("config") if isinstance(first.get("config"), dict) else {}
    return first.get("class_name") == "InputLayer" or bool(cfg.get("batch_input_shape") or cfg.get("batch_shape"))


def nested_sequential_node_index(config: Config) -> tuple[Config, bool]:
    """In a tf.keras functional config, a call of a nested ``Sequential`` (an augmentation block,
    say) is node 1: tf.keras counted the node the Sequential made when it was built. Keras 3 gives
    a Sequential no such node (only Functional models), so it cannot resolve the graph ("has loops
    or disconnected nodes"). Count those references from 0."""
    applied = False

    def fix(model: Config) -> None:
        nonlocal applied
        layers = [la for la in _layers(model) if isinstance(la, dict)]
        shifted = {
            la.get("config", {}).get("name") or la.get("name")
            for la in layers
            if la.get("class_name") == "Sequential" and _built_at_construction(la)
        }
        for layer in layers:
            for node in layer.get("inbound_nodes") or []:
                for ref in node if isinstance(node, list) else []:
                    if isinstance(ref, list) and len(ref) >= 3 and ref[0] in shifted and isinstance(ref[1], int):
                        if ref[1] > 0:
                            ref[1] -= 1
                            applied = True
            if layer.get("class_name") in ("Functional", "Model"):
                fix(layer)
        for ref in (model.get("config") or {}).get("output_layers", []) if isinstance(model.get("config"), dict) else []:
            if isinstance(ref, list) and len(ref) >= 3 and ref[0] in shifted and isinstance(ref[1], int) and ref[1] > 0:
                ref[1] -= 1
                applied = True

    if config.get("class_name") in ("Functional", "Model"):
        fix(config)
    return config, applied


# Keras 3 has no public ``keras.Functional`` ("not a KerasSaveable subclass"): name its real module
_KERAS3_MODULES = {"Functional": "keras.src.models.functional", "Sequential": "keras", "Model": "keras"}


def keras_src_engine_modules(config: Config) -> tuple[Config, bool]:
    """tf.keras 2.13-2.15 ``.keras`` zips name modules like ``keras.src.engine.functional`` that
    Keras 3 does not have; map them to the public ``keras`` namespaces."""
    applied = False
    for obj in iter_dicts(config):
        module = obj.get("module")
        if isinstance(module, str) and module.startswith("keras.src.engine"):
            obj["module"] = _KERAS3_MODULES.get(obj.get("class_name"), "keras.layers")
            applied = True
    return config, applied


def _relax_batch(shape: Any) -> bool:
    """Set a shape's leading (batch) dimension to None; True if it was a fixed number."""
    if isinstance(shape, list) and shape and isinstance(shape[0], int) and not isinstance(shape[0], bool):
        shape[0] = None
        return True
    return False


def _is_shape(value: Any) -> bool:
    return isinstance(value, list) and all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value)


def _relax_build_shapes(value: Any) -> bool:
    """A ``build_config`` input shape: one shape, or a list/dict of them (multi-input layers)."""
    if _is_shape(value):
        return _relax_batch(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return any([_relax_build_shapes(v) for v in items])


def has_stateful_layer(config: Any) -> bool:
    if isinstance(config, dict):
        return config.get("stateful") is True or any(has_stateful_layer(v) for v in config.values())
    return isinstance(config, list) and any(has_stateful_layer(v) for v in config)


def fixed_batch_size(config: Config) -> tuple[Config, bool]:
    """A batch size saved in the config (``model.build((32, 256, 256, 3))``, ``batch_size=`` on an
    Input, a Keras 1/2 ``batch_input_shape`` with a number first): the model then declares outputs of
    that batch and refuses any other. Inference does not depend on it, so every saved batch
    dimension (``batch_shape``, ``batch_input_shape``, ``build_config`` input shapes, Keras 3 tensor
    records) becomes None. Not for stateful RNNs, whose states really have that batch size."""
    if has_stateful_layer(config):
        return config, False
    applied = False
    for obj in iter_dicts(config):
        for key in ("batch_shape", "batch_input_shape"):
            applied |= _relax_batch(obj.get(key))
        build = obj.get("build_config")
        if isinstance(build, dict) and "input_shape" in build:
            applied |= _relax_build_shapes(build["input_shape"])
        if obj.get("class_name") == "__keras_tensor__" and isinstance(obj.get("config"), dict):
            applied |= _relax_batch(obj["config"].get("shape"))
    return config, applied


RULES: list[Rule] = [
    Rule("keras1-names", keras1_names.__doc__ or "", frozenset({KERAS3, TF_KERAS}), LEGACY_ERAS, keras1_names),
    Rule(
        "sequential-list-config",
        sequential_list_config.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        sequential_list_config,
    ),
    Rule(
        "batch-input-shape",
        batch_input_shape_to_input_layer.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        batch_input_shape_to_input_layer,
    ),
    Rule(
        "wrapper-inner-module",
        wrapper_inner_module.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        wrapper_inner_module,
    ),
    Rule(
        "tf-keras-only-args",
        tf_keras_only_args.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        tf_keras_only_args,
    ),
    Rule(
        "keras-src-engine-modules",
        keras_src_engine_modules.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        keras_src_engine_modules,
    ),
    Rule(
        "batchnorm-axis-list", batchnorm_axis_list.__doc__ or "", frozenset({KERAS3}), LEGACY_ERAS, batchnorm_axis_list
    ),
    Rule(
        "nested-sequential-node-index",
        nested_sequential_node_index.__doc__ or "",
        frozenset({KERAS3}),
        LEGACY_ERAS,
        nested_sequential_node_index,
    ),
    Rule("fixed-batch-size", fixed_batch_size.__doc__ or "", frozenset({KERAS3, TF_KERAS}), ALL_ERAS, fixed_batch_size),
]

# One line per rule for the CLI: what was done to the file's config
SUMMARIES = {
    "keras1-names": "Keras 1 layer and argument names translated",
    "sequential-list-config": "a list-style Sequential config wrapped",
    "batch-input-shape": "batch_input_shape turned into an InputLayer",
    "wrapper-inner-module": "module named for layers inside wrappers",
    "tf-keras-only-args": "tf.keras-only arguments with neutral values dropped",
    "keras-src-engine-modules": "keras.src.engine module names mapped",
    "batchnorm-axis-list": "BatchNormalization axis [n] written as n",
    "nested-sequential-node-index": "calls of nested Sequentials counted from node 0",
    "fixed-batch-size": "the batch size fixed in the saved config relaxed to None (any batch size)",
    "keras2-archive-weight-paths": "tf.keras 2.13-2.15 weight paths (_layer_checkpoint_dependencies) moved "
                                   "to today's layout, each array checked in place",
    "windows-vocabulary-encoding": "lookup vocabularies written on Windows (cp1252, CRLF) re-encoded as UTF-8",
    "theano-kernel-flip": "Theano-trained convolution kernels flipped for TensorFlow",
}


def repair(config: Config, loader: str, era: str = "keras2") -> tuple[Config, list[str]]:
    """Apply, in order, every rule meant for ``loader`` and the file's ``era`` that changes something;
    return the names applied. Files Keras 3 wrote get only the rules naming the keras3 era."""
    applied: list[str] = []
    config = copy.deepcopy(config)  # one copy the rules then edit in turn (a copy per rule cost ~0.1 s each)
    for rule in RULES:
        if loader not in rule.loaders or era not in rule.eras:
            continue
        try:
            config, changed = rule.fix(config)
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
            raise _malformed(f"{rule.name}: {type(e).__name__}") from None
        if changed:
            applied.append(rule.name)
    return config, applied


def _malformed(detail: str):
    """A config whose structure no Keras writes (a list where a name belongs...): hostile or damaged."""
    from modelport.errors import NotAModelError

    return NotAModelError(f"the saved model config is malformed ({detail})", "re-save the model with Keras")


def describe_rules() -> list[dict[str, str]]:
    return [
        {
            "name": r.name,
            "loaders": sorted(r.loaders),
            "eras": sorted(r.eras),
            "description": " ".join(r.description.split()),
        }
        for r in RULES
    ]


# Semantics Keras 3 changed under the same name: a Keras 1/2 model using them computes different
# numbers in Keras 3, and no config edit restores the old function, so Keras 3 is not used.
KERAS3_CHANGED_ACTIVATIONS = {
    "hard_sigmoid": "Keras 3's hard_sigmoid is relu6(x+3)/6 (slope 1/6), Keras 1/2's clip(0.2x+0.5) (slope 0.2)",
}


def keras3_semantic_drift(config: Config, era: str) -> str | None:
    """Why Keras 3 would compute different numbers for this Keras 1/2 config, or None."""
    if era not in LEGACY_ERAS:
        return None
    for obj in iter_dicts(config):
        for key, value in obj.items():
            if key.endswith("activation") and isinstance(value, str) and value in KERAS3_CHANGED_ACTIVATIONS:
                return KERAS3_CHANGED_ACTIVATIONS[value]
    return None
