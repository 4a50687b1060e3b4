"""PMML from a scikit-learn source: sklearn2pmml (JPMML-SkLearn, the default) or nyoka (pure Python,
``--pmml-backend nyoka``). The field layout goes into the artifact's details for the PMML runtimes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import NATIVE, UNSUPPORTED, Artifact, ExportOptions, Finding
from modelport.spec import ModelSpec

BACKENDS = ("sklearn2pmml", "nyoka")


class SklearnPmmlConverter:
    target = "pmml"
    suffix = ".pmml"
    description = "PMML 4.4 from a scikit-learn pipeline (sklearn2pmml, or nyoka)"
    sources = ("sklearn",)
    uses_options = True

    def check(self, spec: ModelSpec) -> list[Finding]:
        return self.check_and_estimate(spec, ExportOptions())[0]

    def check_and_estimate(self, spec: ModelSpec, options: Any) -> tuple[list[Finding], None]:
        from modelport.sklearn.verdicts import verdict

        backend = backend_of(options)
        findings = []
        for step in spec.layers:
            ok, reason = verdict(backend, step.config.get("module", ""), step.class_name)
            findings.append(Finding(self.target, step.name, step.class_name, NATIVE if ok else UNSUPPORTED,
                                    rule=f"via {backend}" if ok else None, reason=reason,
                                    hint=None if ok else _hint(backend)))
        if any(t.name == "transform" for t in spec.outputs):
            findings.append(Finding(self.target, "(pipeline)", spec.model_class, UNSUPPORTED,
                                    reason="PMML holds models: a pipeline without a final estimator has no target",
                                    hint="convert it to onnx, or end the pipeline with a model"))
        return findings, None

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        from modelport.sklearn import export

        backend = backend_of(options)
        details = export.to_pmml_sklearn2pmml(model, dest) if backend == "sklearn2pmml" else \
            export.to_pmml_nyoka(model, dest)
        return Artifact(path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
                        details={**details, "backend": backend}, producer=_versions(backend))


def backend_of(options: Any) -> str:
    return getattr(options, "pmml_backend", None) or "sklearn2pmml"


def _hint(backend: str) -> str:
    other = "nyoka" if backend == "sklearn2pmml" else "sklearn2pmml"
    return f"try --pmml-backend {other}, or convert to onnx"


def _versions(backend: str) -> dict[str, str]:
    from importlib.metadata import version

    return {lib: version(lib) for lib in ("scikit-learn", backend)}
