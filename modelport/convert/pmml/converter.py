"""``PmmlConverter``: the pmml target (check from config; export from the loaded Keras model).

The artifact layout (``details``) is documented at the top of ``modelport/convert/pmml/__init__.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import UNSUPPORTED, Artifact, ExportOptions, Finding
from modelport.convert.pmml import rules
from modelport.convert.pmml.fields import VERIFY_ROWS, VERIFY_SEED, input_field_names  # noqa: F401  (re-exported)
from modelport.errors import UnsupportedTargetError
from modelport.spec import ModelSpec


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("modelport")
    except Exception:  # not installed as a distribution (a source checkout)
        return "dev"


class PmmlConverter:
    target = "pmml"
    suffix = ".pmml"
    description = "standard PMML 4.4 NeuralNetwork (JPMML-Evaluator, PMML4S)"

    def check(self, spec: ModelSpec) -> list[Finding]:
        return rules.check(spec)

    def check_loaded(self, model: Any, spec: ModelSpec) -> list[Finding]:
        """What only the loaded weights and shapes show (NaN weights, broadcasting merges...)."""
        from modelport.convert.pmml.loaded_checks import check_loaded

        return check_loaded(model, spec)

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        findings = [f for f in self.check(spec) if f.verdict == UNSUPPORTED] or self.check_loaded(model, spec)
        if findings:
            names = ", ".join(f"{f.layer} ({f.class_name})" for f in findings)
            raise UnsupportedTargetError(f"pmml cannot express {names}",
                                         findings[0].hint or rules.OTHER_TARGETS, findings)
        from modelport.convert.pmml.document import build_documents
        from modelport.io import sha256_path

        dest = Path(dest)
        docs, details = build_documents(model, spec, options, application=("modelport", _version()))
        if len(docs) == 1:
            dest.write_bytes(next(iter(docs.values())))
        else:
            dest.mkdir(parents=True, exist_ok=True)
            for name, data in docs.items():
                (dest / name).write_bytes(data)
        return Artifact(
            path=dest, format="pmml", inputs=list(spec.inputs), outputs=list(spec.outputs),
            sha256=sha256_path(dest), details=details, producer={"modelport": _version()},
        )
