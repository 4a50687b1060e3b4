"""modelport: get trained Keras models into production — SavedModel, frozen pb, checkpoint, ONNX, PMML —
and prove every artifact computes what the Keras model computes.

    import modelport
    artifacts = modelport.convert("model.h5", to=["pb", "onnx"], out_dir="out")

The public functions live in ``modelport.api`` and are imported lazily (PEP 562), so importing
modelport never imports TensorFlow.
"""

from __future__ import annotations

import types

import modelport.convert as _converters  # the converter registry: light, never imports TensorFlow
from modelport._version import __version__

_API = ("convert", "inspect", "analyze", "validate", "gate", "load")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from modelport import api

        return getattr(api, name)
    if name == "spark":  # modelport.spark.score(df, "out/"): pyspark is imported only when used
        import importlib

        return importlib.import_module("modelport.spark")
    raise AttributeError(f"module 'modelport' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """``modelport.convert`` is both the converter registry package and the public ``convert()``
    function: importing the package binds its name on ``modelport``, shadowing the lazy attribute
    above, so the package itself is made callable here, where the facade lives. The registry never
    imports ``api``, so there is no import cycle."""

    def __call__(self, *args, **kwargs):
        from modelport.api import convert

        return convert(*args, **kwargs)


_converters.__class__ = _CallableModule
