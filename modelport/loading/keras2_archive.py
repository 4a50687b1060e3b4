"""Weights of ``.keras`` archives written by tf.keras 2.13-2.15, moved to where today's loaders look.

Those versions walked a model's attributes in ``dir()`` order, so they reached its layers through
``_layer_checkpoint_dependencies`` (which lists every layer with weights twice) instead of
``layers``: ``model.weights.h5`` holds ``_layer_checkpoint_dependencies/conv2d/vars/0`` where
tf_keras 2.16+ and Keras 3 read ``layers/conv2d/vars/0``, and 2.13 also counted the duplicates when
numbering layers of one class (``conv2d``, ``conv2d_2``, where today's walk says ``conv2d_1``). Today
tf_keras finds nothing ("Layer 'conv' expected 2 variables, but received 0"). Metric and optimizer
state, stored beside the layers, is training state: it is left out (and counted).

The layer order comes from the saved config; every array under the old container must find its
new place, and after loading each one is compared with the variable it went into. No TensorFlow.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import BadInputError

LEGACY_CONTAINER = "_layer_checkpoint_dependencies"
RULE = "keras2-archive-weight-paths"
MODEL_CLASSES = ("Sequential", "Functional", "Model")


def snake_case(name: str) -> str:
    """How Keras names a layer's group after its class (``BatchNormalization`` -> ``batch_normalization``)."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name if not name.startswith("_") else "private" + name


@dataclass
class Moved:
    """Where each stored layer array went: ``layers`` holds (layer names from the top, arrays)."""

    layers: list[tuple[tuple[str, ...], list[Any]]] = field(default_factory=list)
    dropped: int = 0  # metric and optimizer arrays left out

    @property
    def arrays(self) -> int:
        return sum(len(a) for _, a in self.layers)


def _entries(model_config: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = model_config.get("config")
    layers = cfg.get("layers") if isinstance(cfg, dict) else cfg
    entries = [la for la in layers or [] if isinstance(la, dict)]
    if model_config.get("class_name") == "Sequential":  # Sequential.layers omits its InputLayer
        entries = [la for la in entries if la.get("class_name") != "InputLayer"]
    return entries


def _has_data(group: Any) -> bool:
    import h5py

    found = []
    group.visititems(lambda _n, o: found.append(1) if isinstance(o, h5py.Dataset) else None)
    return bool(found)


def _plan(src: Any, model_config: dict[str, Any], old: str, new: str, names: tuple[str, ...],
          counts_duplicates: bool, out: list[tuple[str, str, tuple[str, ...]]]) -> None:
    """(old group, new group, layer names) for every layer of this model, recursively."""
    old_counts: dict[str, int] = {}
    new_counts: dict[str, int] = {}
    for entry in _entries(model_config):
        base = snake_case(str(entry.get("class_name")))
        n = new_counts.get(base, -1) + 1
        new_counts[base] = n
        o = old_counts.get(base, -1) + 1
        old_name = f"{base}_{o}" if o else base
        group = f"{old}/{LEGACY_CONTAINER}/{old_name}"
        weighted = group in src and _has_data(src[group])
        # 2.13 numbered both entries a layer with weights has in the dict
        old_counts[base] = o + (1 if counts_duplicates and weighted else 0)
        layer_name = (entry.get("config") or {}).get("name") or entry.get("name")
        new_group = f"{new}/layers/{base}_{n}" if n else f"{new}/layers/{base}"
        out.append((group, new_group, (*names, str(layer_name))))
        if entry.get("class_name") in MODEL_CLASSES:
            _plan(src, entry, group, new_group, (*names, str(layer_name)), counts_duplicates, out)


def needs_move(weights_h5: bytes) -> bool:
    import h5py

    with h5py.File(io.BytesIO(weights_h5), "r") as f:
        return LEGACY_CONTAINER in f


def move(weights_h5: bytes, model_config: dict[str, Any], keras_version: str | None) -> tuple[bytes, Moved]:
    """The archive's weights with every layer array at today's path; raises if any is left over."""
    import h5py

    moved = Moved()
    counts_duplicates = (keras_version or "").startswith("2.13")
    buffer = io.BytesIO()
    with h5py.File(io.BytesIO(weights_h5), "r") as src, h5py.File(buffer, "w") as dst:
        plan: list[tuple[str, str, tuple[str, ...]]] = []
        _plan(src, model_config, "", "", (), counts_duplicates, plan)
        placed: set[str] = set()
        dst.require_group("vars")  # tf_keras opens a vars group for every object it walks, empty or not
        for old, new, names in plan:
            target = dst.require_group(f"{new.lstrip('/')}/vars")
            vars_group = f"{old}/vars"
            if vars_group not in src:
                continue
            keys = sorted(src[vars_group], key=lambda k: (len(k), k))  # 0, 1, ..., 10 as Keras numbered them
            arrays = []
            for key in keys:
                value = src[vars_group][key][()]
                target.create_dataset(key, data=value)
                placed.add(f"{vars_group}/{key}".lstrip("/"))
                arrays.append(value)
            if arrays:
                moved.layers.append((names, arrays))
        stored: list[str] = []
        src.visititems(lambda n, o: stored.append(n) if isinstance(o, h5py.Dataset) else None)
        left = [n for n in stored if n.startswith(LEGACY_CONTAINER) and n not in placed]
        if left:
            raise BadInputError(
                f"the archive's weights do not follow its config: {len(left)} arrays under "
                f"{LEGACY_CONTAINER} match no layer (first: {left[0]})",
                "re-save the model with the Keras that wrote it, or report the file to modelport",
            )
        moved.dropped = len([n for n in stored if not n.startswith(LEGACY_CONTAINER)])
    return buffer.getvalue(), moved


def _own_variables(layer: Any) -> list[Any]:
    """A layer's variables in the order ``save_own_variables`` wrote them (tf_keras and Keras 3)."""
    if hasattr(layer, "_trainable_variables"):  # Keras 3
        return list(layer._trainable_variables) + list(layer._non_trainable_variables)
    return list(layer._trainable_weights) + list(layer._non_trainable_weights)


def audit(model: Any, moved: Moved) -> None:
    """Every moved array is in the variable of the layer it belongs to, equal to the stored value."""
    import numpy as np

    for names, arrays in moved.layers:
        layer = model
        for name in names:
            layer = layer.get_layer(name)
        variables = _own_variables(layer)
        where = "/".join(names)
        if len(variables) != len(arrays):
            raise BadInputError(f"layer '{where}' has {len(variables)} weights, the archive {len(arrays)}",
                                "the archive's config and weights do not belong together")
        for i, (var, value) in enumerate(zip(variables, arrays, strict=True)):
            got = np.asarray(var.numpy() if hasattr(var, "numpy") else var)
            if got.shape != value.shape or not np.array_equal(got, value):
                raise BadInputError(f"layer '{where}': weight {i} did not load as stored",
                                    "report the file to modelport")
