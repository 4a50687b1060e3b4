"""Numeric parity of every artifact against its Keras model, in the runtime that serves it.

Modules: ``inputs`` (seeded synthetic or user data), ``tolerance``, ``compare`` (statistics per
output), ``runtimes`` (which runtime runs which artifact), ``parity`` (the run), ``divergence``
(first diverging Keras layer), ``golden`` (inputs/outputs stored beside the manifest for the gate),
``reports`` (table, JSON, JUnit, HTML). Imported lazily: nothing heavy happens at import time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["validate_artifacts", "ParityReport", "ArtifactResult", "write_golden", "check_golden", "validate_paths"]

_LAZY = {
    "validate_artifacts": "modelport.validators.parity",
    "ParityReport": "modelport.validators.results",
    "ArtifactResult": "modelport.validators.results",
    "write_golden": "modelport.validators.golden",
    "check_golden": "modelport.validators.golden",
    "validate_paths": "modelport.validators.discover",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
