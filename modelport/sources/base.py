"""What every kind of source (a Keras file, a scikit-learn pipeline) gives the pipeline in ``api``:
its spec, a safety check, the loaded model with reference predictions, a second reading, and the
manifest's ``source`` fields. ``api`` calls these and never asks which kind it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from modelport.spec import ModelSpec


class Source(Protocol):
    kind: str  # "keras" | "sklearn": converters declare the kinds they accept (``sources``)
    path: Path

    def read_spec(self) -> ModelSpec:
        """The spec without running code from the file (Keras: the config; scikit-learn: a safe load)."""

    def check_analysable(self) -> None:
        """Refuse a file that cannot even be read safely for analysis."""

    def safety_note(self) -> str | None:
        """Why ``convert`` would refuse this file without an opt-in, or None."""

    def load(self) -> Any:
        """The loaded model: ``.model`` (what converters and validators are given), ``.spec``, ``.warnings``."""

    def check_references(self, loaded: Any, validate_options: dict[str, Any]) -> None:
        """A second, independent reading must compute what the loaded model computes; raises otherwise."""

    def reference_summary(self, loaded: Any) -> str: ...

    def manifest_fields(self, loaded: Any, checked: bool) -> dict[str, Any]:
        """The manifest's ``source`` entry beyond path and sha256."""

    def after_export(self, loaded: Any) -> None:
        """Free what conversion cached and validation does not need."""
