"""A Keras model file as a source: the functions ``modelport.loading`` already has, behind ``Source``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import stage
from modelport.spec import ModelSpec


def _kwargs(options: Any) -> dict[str, Any]:
    if options is None:
        return {"architecture": None, "trust_code": False, "custom_objects": None}
    return options.as_kwargs()


@dataclass
class KerasSource:
    path: Path
    options: Any = None  # api.LoadOptions
    kind: str = "keras"

    def read_spec(self) -> ModelSpec:
        from modelport.loading import read_spec

        with stage("load", self.path.name):
            return read_spec(self.path, architecture=_kwargs(self.options)["architecture"])

    def check_analysable(self) -> None:
        """Refuse a config naming classes Keras does not ship; a Lambda is fine for reading it."""
        from modelport.loading import check_safe

        with stage("load", self.path.name):
            check_safe(self.path, **{**_kwargs(self.options), "trust_code": True})

    def safety_note(self) -> str | None:
        from modelport.errors import UnsafeModelError
        from modelport.loading import check_safe

        try:
            with stage("load", self.path.name):
                check_safe(self.path, **_kwargs(self.options))
        except UnsafeModelError as e:
            return f"convert and validate refuse this file without an opt-in: {e}"
        return None

    def load(self) -> Any:
        from modelport.loading import load

        with stage("load", self.path.name):
            return load(self.path, **_kwargs(self.options))

    def check_references(self, loaded: Any, validate_options: dict[str, Any]) -> None:
        from modelport.loading import reference
        from modelport.validators.tolerance import from_options

        tolerance = from_options(validate_options)
        reference.check(loaded, data=validate_options.get("data"), seed=validate_options.get("seed", 0),
                        tolerance=tolerance, batch_sizes=validate_options.get("batch_sizes"))

    def reference_summary(self, loaded: Any) -> str:
        from modelport.loading import reference

        return reference.summary(loaded)

    def manifest_fields(self, loaded: Any, checked: bool) -> dict[str, Any]:
        """Versions, loader, trust, and the proof that the loaded model is the file's: the weight audit
        (with the digest ``validate``/``gate`` compare) and the second readers' verdicts."""
        weights = loaded.audit.to_dict() if loaded.audit is not None else {"status": "no stored weights"}
        references = [r.to_dict() for r in loaded.references] if checked else "not checked (--no-validate)"
        spec = loaded.spec
        return {"keras_version": spec.keras_version, "backend": spec.backend, "loader": spec.loader,
                "repairs": list(spec.repairs), "trust": spec.trust, "warnings": list(loaded.warnings),
                "weights": weights, "references": references}

    def after_export(self, loaded: Any) -> None:
        import sys

        if "modelport.convert.tf_graph" in sys.modules:  # the frozen graphs hold a copy of every weight
            sys.modules["modelport.convert.tf_graph"].forget(loaded.model)
