"""Compatibility analysis: every layer's verdict for every requested target, before converting.

Pure: reads a ModelSpec (from the file's config) and asks each target's converter ``check``; no
TensorFlow. ``convert`` runs the same analysis and stops before writing anything when a requested
target cannot express the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelport import convert as registry
from modelport.convert.base import Finding
from modelport.spec import ModelSpec


@dataclass
class Analysis:
    spec: ModelSpec
    findings: dict[str, list[Finding]] = field(default_factory=dict)  # target -> one per layer

    def ok_for(self, target: str) -> bool:
        return all(f.ok for f in self.findings.get(target, []))

    @property
    def ok(self) -> bool:
        return all(self.ok_for(t) for t in self.findings)

    def unsupported(self, target: str) -> list[Finding]:
        return [f for f in self.findings.get(target, []) if not f.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.spec.source,
            "ok": self.ok,
            "targets": {
                t: {"ok": self.ok_for(t), "layers": [f.to_dict() for f in fs]}
                for t, fs in self.findings.items()
            },
        }


def analyze(spec: ModelSpec, targets: list[str]) -> Analysis:
    return Analysis(spec, {t: registry.get(t).check(spec) for t in targets})
