"""Build a ModelSpec from a saved model config (any Keras era), without TensorFlow.

Handles the three config families: Keras 3 (``batch_shape``, ``__keras_tensor__`` inbound nodes),
Keras 2 / tf.keras (``batch_input_shape``, nested-list inbound nodes) and Keras 1 / 2.0-2.2
(list-style Sequential configs).
"""

from __future__ import annotations

from typing import Any

from modelport.spec import LayerSpec, ModelSpec, TensorSpec

SEQUENTIAL = "Sequential"


def _shape(cfg: dict[str, Any]) -> tuple[int | None, ...] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key) is not None:
            return tuple(cfg[key])
    if cfg.get("input_shape") is not None:  # Keras 1 / rare Keras 2 spelling
        return (None, *cfg["input_shape"])
    if cfg.get("input_dim") is not None:  # Keras 1 Dense(input_dim=...)
        return (None, cfg["input_dim"])
    return None


def _dtype(cfg: dict[str, Any]) -> str:
    dtype = cfg.get("dtype") or "float32"
    if isinstance(dtype, dict):  # Keras 3 DTypePolicy
        dtype = dtype.get("config", {}).get("name", "float32")
    return "float32" if dtype in ("mixed_float16", "mixed_bfloat16") else str(dtype)


def _inbound_names(node_list: Any) -> tuple[str, ...]:
    """Upstream layer names from any era's ``inbound_nodes``."""
    names: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            if obj.get("class_name") == "__keras_tensor__":
                history = obj.get("config", {}).get("keras_history")
                if history:
                    names.append(str(history[0]))
                return
            for value in obj.values():
                walk(value)
        elif isinstance(obj, (list, tuple)):
            # Keras 1/2 node entry: [layer_name, node_index, tensor_index, (kwargs)]
            if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
                names.append(obj[0])
                return
            for value in obj:
                walk(value)

    walk(node_list)
    return tuple(names)


def _layer_list(config: dict[str, Any]) -> list[dict[str, Any]]:
    inner = config.get("config", {})
    if isinstance(inner, list):  # Keras 1.x - 2.2 Sequential
        return [la for la in inner if isinstance(la, dict)]
    layers = inner.get("layers", []) if isinstance(inner, dict) else []
    return [la for la in layers if isinstance(la, dict)]


def _layer_name(layer: dict[str, Any], index: int) -> str:
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(layer.get("name") or cfg.get("name") or f"layer_{index}")


def spec_from_config(
    config: dict[str, Any],
    *,
    source: str = "",
    container: str = "",
    keras_version: str | None = None,
    backend: str | None = None,
) -> ModelSpec:
    model_class = str(config.get("class_name", "Model"))
    raw_layers = _layer_list(config)
    layers: list[LayerSpec] = []
    for i, raw in enumerate(raw_layers):
        cfg = raw.get("config") if isinstance(raw.get("config"), dict) else {}
        layers.append(
            LayerSpec(
                name=_layer_name(raw, i),
                class_name=str(raw.get("class_name", "?")),
                config=cfg,
                inbound=_inbound_names(raw.get("inbound_nodes", [])),
            )
        )
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    if model_class == SEQUENTIAL or not inner.get("input_layers"):
        inputs, outputs = _sequential_io(layers, inner)
        # chain the layers so the analyser sees the same graph shape as a functional model
        chained, prev = [], None
        for layer in layers:
            if layer.class_name == "InputLayer":
                prev = layer.name
                chained.append(layer)
                continue
            chained.append(LayerSpec(layer.name, layer.class_name, layer.config, (prev,) if prev else ()))
            prev = layer.name
        layers = chained
    else:
        by_name = {la.name: la for la in layers}
        inputs = [
            TensorSpec(name, _shape(by_name[name].config) or (None,), _dtype(by_name[name].config))
            for name in _io_names(inner.get("input_layers"))
            if name in by_name
        ]
        outputs = [TensorSpec(name, (), "float32") for name in _io_names(inner.get("output_layers"))]
    return ModelSpec(
        source=source,
        container=container,
        model_class=model_class,
        layers=layers,
        inputs=inputs,
        outputs=outputs,
        keras_version=keras_version,
        backend=backend,
    )


def _io_names(entries: Any) -> list[str]:
    if not entries:
        return []
    if isinstance(entries, list) and entries and isinstance(entries[0], str):  # one bare [name, 0, 0]
        return [entries[0]]
    names = []
    for entry in entries:
        if isinstance(entry, (list, tuple)) and entry:
            names.append(str(entry[0]))
        elif isinstance(entry, dict) and entry.get("class_name") == "__keras_tensor__":
            names.append(str(entry["config"]["keras_history"][0]))
    return names


def _sequential_io(layers: list[LayerSpec], inner: dict[str, Any]) -> tuple[list[TensorSpec], list[TensorSpec]]:
    shape = None
    dtype = "float32"
    name = "input"
    if layers and layers[0].class_name == "InputLayer":
        shape, dtype, name = _shape(layers[0].config), _dtype(layers[0].config), layers[0].name
    elif layers:
        shape, dtype = _shape(layers[0].config), _dtype(layers[0].config)
        name = f"{layers[0].name}_input"  # what Keras 2 and 3 call the implicit input
    if shape is None and inner.get("build_input_shape"):
        shape = tuple(inner["build_input_shape"])
    inputs = [TensorSpec(name, shape or (None,), dtype)]
    outputs = [TensorSpec(layers[-1].name, (), "float32")] if layers else []
    return inputs, outputs
