"""modelport: get trained Keras models into production — SavedModel, frozen pb, checkpoint, ONNX, PMML —
and prove every artifact computes what the Keras model computes.

    import modelport
    artifacts = modelport.convert("model.h5", to=["pb", "onnx"], out_dir="out")

The public functions live in ``modelport.api`` and are imported lazily (PEP 562), so importing
modelport never imports TensorFlow.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
