"""A scikit-learn estimator or pipeline (``.skops``, or a pickle/joblib with --trust-code) as a source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, stage
from modelport.spec import ModelSpec


@dataclass
class LoadedSklearn:
    model: Any  # modelport.sklearn.model.SklearnModel
    spec: ModelSpec
    warnings: list[str] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    audit: Any = None


def _trust(options: Any) -> tuple[tuple[str, ...], bool]:
    return tuple(getattr(options, "trust_types", ()) or ()), bool(getattr(options, "trust_code", False))


@dataclass
class SklearnSource:
    path: Path
    options: Any = None
    kind: str = "sklearn"
    _loaded: LoadedSklearn | None = field(default=None, repr=False)

    def read_spec(self) -> ModelSpec:
        return self.load().spec  # a skops file is read without running code: the spec needs the fitted state

    def check_analysable(self) -> None:
        from modelport.sklearn.loading import check_safe

        types, code = _trust(self.options)
        with stage("load", self.path.name):
            check_safe(self.path, trust_types=types, trust_code=code)

    def safety_note(self) -> str | None:
        return None  # check_analysable already refused anything that needs an opt-in

    def load(self) -> LoadedSklearn:
        if self._loaded is not None:
            return self._loaded
        from modelport.sklearn.audit import audit
        from modelport.sklearn.loading import load_estimator
        from modelport.sklearn.model import SklearnModel, build_spec
        from modelport.sklearn.sniff import sniff

        types, code = _trust(self.options)
        unsupported = getattr(self.options, "architecture", None) or getattr(self.options, "custom_objects", None)
        if unsupported:
            raise BadInputError("--architecture and --custom-objects apply to Keras files, not scikit-learn files",
                                "leave them out")
        with stage("load", self.path.name):
            estimator, loader = load_estimator(self.path, trust_types=types, trust_code=code)
            try:
                model = SklearnModel.wrap(estimator)
            except ValueError as e:
                raise BadInputError(f"{self.path.name}: {e}", "fit the estimator on a table of features") from None
            trust = {"trust_code": code, "trust_types": list(types)}
            spec = build_spec(model, self.path, sniff(self.path) or "", loader, trust)
            checked = audit(self.path, estimator, loader)  # the file's raw arrays are all in what loaded
        self._loaded = LoadedSklearn(model, spec, audit=checked)
        return self._loaded

    def check_references(self, loaded: LoadedSklearn, validate_options: dict[str, Any]) -> None:
        """The second reading: the file read again, from scratch, must predict what the loaded one does."""
        import numpy as np

        again = SklearnSource(self.path, self.options).load()
        rng = np.random.default_rng(validate_options.get("seed", 0))
        batch = loaded.model.synthetic(16, rng)
        first, second = loaded.model.predict(batch), again.model.predict(batch)
        same = all(np.array_equal(first[k], second[k], equal_nan=first[k].dtype.kind == "f") for k in first)
        loaded.references = [{"reader": "skops/joblib, a second load", "rows": 16, "status": "pass" if same else "fail"}]
        if not same:
            from modelport.errors import ParityError

            raise ParityError(f"{self.path.name} predicts differently when loaded twice",
                              "the estimator is not deterministic; fix its random_state")

    def reference_summary(self, loaded: LoadedSklearn) -> str:
        return "scikit-learn predict/predict_proba/transform of the loaded estimator"

    def manifest_fields(self, loaded: LoadedSklearn, checked: bool) -> dict[str, Any]:
        import sklearn

        spec = loaded.spec
        return {"kind": "sklearn", "scikit_learn_version": sklearn.__version__, "loader": spec.loader,
                "trust": spec.trust, "warnings": list(loaded.warnings),
                "weights": loaded.audit.to_dict() if loaded.audit is not None else {"status": "not audited"},
                "columns": [c.to_dict() for c in loaded.model.columns], "task": loaded.model.task,
                "references": loaded.references if checked else "not checked (--no-validate)"}

    def after_export(self, loaded: Any) -> None:
        return None
