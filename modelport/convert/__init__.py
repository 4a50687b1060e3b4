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

# source kind -> target -> converter, for sources other than Keras files (the default above). A target
# registered but not listed for a source is "not applicable" to it (``NotApplicable``).
_BY_SOURCE = {
    "sklearn": {
        "onnx": "modelport.convert.sklearn_onnx:SklearnOnnxConverter",
        "pmml": "modelport.convert.sklearn_pmml:SklearnPmmlConverter",
    },
}
SOURCE_NAMES = {"keras": "Keras models", "sklearn": "scikit-learn sources"}

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


def get(target: str, source: str = "keras") -> Converter:
    """The converter for ``target`` that accepts ``source`` (a converter's ``sources``, default Keras)."""
    reg = _registry()
    if target not in reg:
        raise UnknownTargetError(
            f"unknown target '{target}'", f"choose from {', '.join(reg)} or 'all'"
        )
    if source != "keras":
        ref = _BY_SOURCE.get(source, {}).get(target)
        return _load(ref) if ref else NotApplicable(target, source)
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


class NotApplicable:
    """A target with no converter for this kind of source: one model-wide UNSUPPORTED finding, so
    ``--to all`` skips it in one line and naming it exits 3."""

    suffix = ""
    description = "not applicable"

    def __init__(self, target: str, source: str):
        self.target, self.source = target, source
        self.sources: tuple[str, ...] = ()

    def check(self, spec: object) -> list[Finding]:
        from modelport.convert.base import UNSUPPORTED

        kinds = SOURCE_NAMES.get(self.source, self.source)
        return [Finding(self.target, "(model)", getattr(spec, "model_class", ""), UNSUPPORTED,
                        reason=f"{self.target} is not applicable to {kinds}",
                        hint=f"choose a target for {kinds}: {', '.join(_BY_SOURCE.get(self.source, {}))}")]

    def export(self, model: object, spec: object, dest: object, options: object) -> Artifact:
        raise UnknownTargetError(f"{self.target} is not applicable to {SOURCE_NAMES.get(self.source, self.source)}")
