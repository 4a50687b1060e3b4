"""Converter registry: built-in targets plus the entry-point group ``modelport.converters``.

Converters are instantiated lazily, and their modules import heavy libraries only inside
``export``, so listing or checking targets never imports TensorFlow.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
from importlib.metadata import entry_points

from modelport.convert.base import Artifact, Converter, ExportOptions, Finding
from modelport.errors import UnknownTargetError

ENTRY_POINT_GROUP = "modelport.converters"

# target -> "module:Class"; order is the order `--to all` converts in.
_BUILTIN = {
    "savedmodel": "modelport.convert.savedmodel:SavedModelConverter",
    "pb": "modelport.convert.frozen_pb:FrozenGraphConverter",
    "ckpt": "modelport.convert.checkpoint:CheckpointConverter",
    "onnx": "modelport.convert.onnx:OnnxConverter",
    "pmml": "modelport.convert.pmml:PmmlConverter",
}

__all__ = ["Artifact", "Converter", "ExportOptions", "Finding", "available", "get", "parse_targets"]


def _validate(converter: object, origin: str) -> Converter:
    """Refuse a converter that does not have the interface, when it is registered, not mid-run."""
    missing = [a for a in ("target", "suffix", "check", "export") if not hasattr(converter, a)]
    if missing:
        raise TypeError(f"converter {origin} lacks {', '.join(missing)}")
    params = list(inspect.signature(converter.export).parameters)
    if len(params) < 4:
        raise TypeError(f"converter {origin}: export(model, spec, dest, options) expected, got {params}")
    return converter  # type: ignore[return-value]


def _load(ref: str) -> Converter:
    module_name, _, attr = ref.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    return _validate(obj() if isinstance(obj, type) else obj, ref)


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, str | object]:
    """Built-ins plus installed plug-ins. Scanning entry points costs ~15 ms and installed
    distributions do not change while a process runs, so it is done once."""
    reg: dict[str, str | object] = {}
    for target, ref in _BUILTIN.items():
        if importlib.util.find_spec(ref.partition(":")[0]) is not None:
            reg[target] = ref
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        reg.setdefault(ep.name, ep)
    return reg


def available() -> list[str]:
    """Every registered target name."""
    return list(_registry())


def get(target: str) -> Converter:
    reg = _registry()
    if target not in reg:
        raise UnknownTargetError(
            f"unknown target '{target}'", f"choose from {', '.join(reg)} or 'all'"
        )
    ref = reg[target]
    if isinstance(ref, str):
        return _load(ref)
    return _validate(ref.load()(), f"entry point {ref.name}")  # type: ignore[union-attr]


def parse_targets(to: str | list[str] | tuple[str, ...]) -> tuple[list[str], bool]:
    """'pb,onnx' or ['pb', 'onnx'] -> (targets, is_all). 'all' expands to every registered target."""
    items = [to] if isinstance(to, str) else list(to)
    names = [t.strip().lower() for item in items for t in item.split(",") if t.strip()]
    if not names:
        raise UnknownTargetError("no target given", f"use --to with one of {', '.join(available())} or 'all'")
    if "all" in names:
        return available(), True
    unknown = [n for n in names if n not in _registry()]
    if unknown:
        raise UnknownTargetError(
            f"unknown target{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)}",
            f"choose from {', '.join(available())} or 'all'",
        )
    return list(dict.fromkeys(names)), False
