"""What validation found: per artifact × runtime × output, and the report that holds them all.

Every result is truthy when it passes. A runtime that crashed or could not load is an *error*
(a failing artifact, never a passing one); a runtime that is not installed is *skipped* with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.validators.compare import OutputComparison

PASS, FAIL, ERROR, SKIPPED = "pass", "fail", "error", "skipped"
SCHEMA_VERSION = "1.0"


@dataclass
class ArtifactResult:
    artifact: str  # path as given / relative to the output directory
    format: str
    runtime: str
    sha256: str = ""
    outputs: list[OutputComparison] = field(default_factory=list)
    error: str | None = None  # runtime crashed / refused the artifact
    skipped: str | None = None  # why this runtime did not run
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    rows: int = 0
    divergence: dict[str, Any] | None = None  # first diverging Keras layer, when it failed
    method: str | None = None  # how the runtime ran it, when not as its default load would (frozen_feeds)

    @property
    def status(self) -> str:
        if self.skipped:
            return SKIPPED
        if self.error:
            return ERROR
        return PASS if self.outputs and all(self.outputs) else FAIL

    @property
    def passed(self) -> bool:
        return self.status in (PASS, SKIPPED)

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact, "format": self.format, "runtime": self.runtime,
            "sha256": self.sha256, "status": self.status, "passed": self.passed,
            "error": self.error, "skipped": self.skipped,
            "seconds": {"load": round(self.load_seconds, 6), "run": round(self.run_seconds, 6)},
            "rows": self.rows,
            "outputs": [o.to_dict() for o in self.outputs],
            "divergence": self.divergence,
            "method": self.method,
        }


@dataclass
class ParityReport:
    model: str
    results: list[ArtifactResult] = field(default_factory=list)
    tolerance: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # source, seed, cases
    keras_seconds: float = 0.0  # the reference's run time (Keras, or scikit-learn for its sources)
    reference_name: str = "keras"  # what computed the expected outputs, as the timings name it
    total_seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    kind: str = "validate"  # "validate" | "gate"
    problems: list[str] = field(default_factory=list)  # gate: hash changes, policy violations
    warnings: list[str] = field(default_factory=list)  # said, but not failing (gate: unlisted files without --strict)
    cases: list[Any] = field(default_factory=list, repr=False)  # inputs run (for the golden file)
    expected: list[dict[str, Any]] = field(default_factory=list, repr=False)  # Keras outputs per case
    golden_path: Any = None  # where validate_artifacts(golden_dir=...) wrote the golden file
    golden_sha256: str = ""
    reference: dict[str, Any] = field(default_factory=dict)  # degenerate.summary(): does Keras vary?

    @property
    def vacuous(self) -> bool:
        """The Keras outputs barely vary across the inputs: a pass proves little (``--strict`` fails it)."""
        return bool(self.reference.get("vacuous"))

    def strict_passed(self, strict: bool) -> bool:
        return self.passed and not (strict and self.vacuous)

    @property
    def passed(self) -> bool:
        return not self.problems and all(self.results) and any(r.status == PASS for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    def failures(self) -> list[ArtifactResult]:
        return [r for r in self.results if not r.passed]

    def runtime_seconds(self) -> dict[str, dict[str, float]]:
        """Time each runtime took (load + run), summed over its artifacts."""
        out: dict[str, dict[str, float]] = {}
        if self.keras_seconds:
            out[self.reference_name] = {"load": 0.0, "run": round(self.keras_seconds, 6), "total": round(self.keras_seconds, 6)}
        for r in self.results:
            t = out.setdefault(r.runtime, {"load": 0.0, "run": 0.0, "total": 0.0})
            t["load"] = round(t["load"] + r.load_seconds, 6)
            t["run"] = round(t["run"] + r.run_seconds, 6)
            t["total"] = round(t["load"] + t["run"], 6)
        return out

    def render(self, console: Any = None) -> None:
        """The rich terminal table."""
        from modelport.validators.reports.table import render_table

        render_table(self, console)

    def manifest_fields(self) -> dict[str, Any]:
        """``{"golden": {path, sha256}, "parity": {...}}`` for modelport.json (``manifest.build(extra=)``)."""
        out: dict[str, Any] = {"parity": self.to_manifest()}
        if self.golden_path is not None:
            out["golden"] = {"path": Path(self.golden_path).name, "sha256": self.golden_sha256}
        return out

    def to_manifest(self) -> dict[str, Any]:
        """The reproducible part, for modelport.json: no timings, versions or histograms."""
        d = self.to_dict()
        for key in ("timing", "versions", "kind"):
            d.pop(key, None)
        for r in d["results"]:
            r.pop("seconds", None)
            for o in r["outputs"]:
                o.pop("histogram", None)
        return d

    def to_dict(self) -> dict[str, Any]:
        counts = {s: sum(r.status == s for r in self.results) for s in ("pass", "fail", "error", "skipped")}
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "model": self.model,
            "passed": self.passed,
            "summary": counts,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "tolerance": self.tolerance,
            "inputs": self.inputs,
            "timing": {"total_seconds": round(self.total_seconds, 6), "runtimes": self.runtime_seconds()},
            "versions": self.versions,
            "results": [r.to_dict() for r in self.results],
            "reference": self.reference,
        }
