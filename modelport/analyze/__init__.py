"""Compatibility analysis: every layer's verdict for every requested target, before converting.

Pure: reads a ModelSpec (from the file's config) and asks each target's converter ``check``; no
TensorFlow. ``convert`` runs the same analysis and stops before writing anything when a requested
target cannot express the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import modelport.convert as registry  # not `from modelport import convert`: the package maps that name to api.convert
from modelport.convert.base import CHECK_LOADED, NATIVE, REWRITE, UNSUPPORTED, Finding
from modelport.spec import ModelSpec

SCHEMA = "modelport.analysis/1"  # the JSON form, documented in docs/analyze-schema.json


@dataclass
class Analysis:
    spec: ModelSpec
    findings: dict[str, list[Finding]] = field(default_factory=dict)  # target -> one per layer
    estimates: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> its size estimate

    def ok_for(self, target: str) -> bool:
        return all(f.ok for f in self.findings.get(target, []))

    @property
    def ok(self) -> bool:
        return all(self.ok_for(t) for t in self.findings)

    def unsupported(self, target: str) -> list[Finding]:
        return [f for f in self.findings.get(target, []) if not f.ok]

    def counts(self, target: str) -> dict[str, int]:
        found = self.findings.get(target, [])
        return {v: sum(f.verdict == v for f in found) for v in (NATIVE, REWRITE, UNSUPPORTED)}

    @property
    def exit_code(self) -> int:
        """0 when every requested target can express the model, 3 when one cannot."""
        from modelport.errors import EXIT_OK, EXIT_UNSUPPORTED

        return EXIT_OK if self.ok else EXIT_UNSUPPORTED

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema ``modelport.analysis/1``, docs/analyze-schema.json)."""
        return {
            "schema": SCHEMA,
            "model": self.spec.source,
            "ok": self.ok,
            "targets": {
                t: {
                    "ok": self.ok_for(t),
                    "counts": self.counts(t),
                    "layers": [{k: v for k, v in f.to_dict().items() if k != "target"} for f in fs],
                    **({"estimate": self.estimates[t]} if t in self.estimates else {}),
                }
                for t, fs in self.findings.items()
            },
        }


def analyze(spec: ModelSpec, targets: list[str], options: Any = None) -> Analysis:
    """``options`` (ExportOptions) reach the converters that take them (PMML: the size budget)."""
    analysis = Analysis(spec)
    for t in targets:
        converter = registry.get(t, spec.kind)
        if getattr(converter, "uses_options", False):
            analysis.findings[t], estimate = converter.check_and_estimate(spec, options)
            if estimate is not None:
                analysis.estimates[t] = estimate
        else:
            analysis.findings[t] = converter.check(spec)
    return analysis


def add_loaded_findings(analysis: Analysis, model: Any, spec: ModelSpec, targets: list[str]) -> None:
    """Judge what only the loaded model shows (non-finite weights, tensor shapes, sizes): each
    target's ``check_loaded`` findings replace that layer's verdict (``convert`` calls this right
    after loading, before anything is written)."""
    for target in targets:
        hook = getattr(registry.get(target, spec.kind), CHECK_LOADED, None)
        found = {f.layer: f for f in hook(model, spec)} if callable(hook) else {}
        if found:
            kept = [found.pop(f.layer, f) for f in analysis.findings.get(target, [])]
            analysis.findings[target] = kept + list(found.values())
