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
    sources = ("keras",)  # the kinds of source it converts (modelport.convert.get picks by kind)
    suffix = ".pmml"
    description = "standard PMML 4.4 NeuralNetwork (JPMML-Evaluator, PMML4S)"

    uses_options = True  # check() takes ExportOptions: the size budget and --sequence-length

    def check(self, spec: ModelSpec, options: ExportOptions | None = None) -> list[Finding]:
        return self.check_and_estimate(spec, options)[0]

    def check_and_estimate(self, spec: ModelSpec, options: ExportOptions | None = None):
        """(findings, the size estimate as a dict or None): over budget, the costliest layer is
        unsupported with the estimate in its reason."""
        from modelport.convert.pmml import budget

        options = options or ExportOptions()
        return budget.judge(spec, rules.check(fixed_spec(spec, options.sequence_length)), options.sequence_length,
                            options.pmml_max_size)

    def check_loaded(self, model: Any, spec: ModelSpec) -> list[Finding]:
        """What only the loaded weights and shapes show (NaN weights, broadcasting merges...)."""
        from modelport.convert.pmml.loaded_checks import check_loaded

        return check_loaded(model, spec)

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        findings = [f for f in self.check(spec, options) if f.verdict == UNSUPPORTED] or self.check_loaded(model, spec)
        if findings:
            names = ", ".join(f"{f.layer} ({f.class_name})" for f in findings)
            raise UnsupportedTargetError(f"pmml cannot express {names}",
                                         findings[0].hint or rules.OTHER_TARGETS, findings)
        from modelport.convert.pmml import writer
        from modelport.convert.pmml.document import build_documents
        from modelport.io import sha256_path

        dest = Path(dest)
        spec = fixed_spec(spec, options.sequence_length)
        docs, details = build_documents(model, spec, options, application=("modelport", _version()))
        if options.sequence_length:
            details["sequence_length"] = int(options.sequence_length)  # rows must have exactly this many steps
        if len(docs) == 1:
            writer.write_file(next(iter(docs.values())), dest)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            for name, doc in docs.items():
                writer.write_file(doc, dest / name)
        return Artifact(
            path=dest, format="pmml", inputs=list(spec.inputs), outputs=list(spec.outputs),
            sha256=sha256_path(dest), details=details, producer={"modelport": _version()},
        )


def fixed_spec(spec: ModelSpec, sequence_length: int | None) -> ModelSpec:
    """The spec with a dynamic time axis fixed to ``sequence_length`` (the artifact's signature)."""
    from dataclasses import replace

    from modelport.spec import TensorSpec

    if not sequence_length:
        return spec
    inputs = [TensorSpec(t.name, (t.shape[0], int(sequence_length), *t.shape[2:]), t.dtype)
              if len(t.shape) >= 3 and t.shape[1] is None else t for t in spec.inputs]
    return replace(spec, inputs=inputs)

