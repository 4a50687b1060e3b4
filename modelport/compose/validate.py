"""Parity of composed artifacts on raw columns, against two references.

The reference is ``model.predict(prep.transform(X))``: scikit-learn's transformer, then the Keras
model. The second, independent reading runs the same transformer and then the plain Keras artifact
(without the preprocessing, exported in the same run) in its own runtime — ONNX Runtime for the
ONNX graph, else JPMML for the PMML document — so neither Keras nor the composed graph is in it; every composed
artifact must match both. Validation rows are raw: numbers around what each scaler learned, strings
from the encoder's categories, gaps where an imputer fills them (``compose.inputs``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from modelport.compose.columns import Preprocessing
from modelport.compose.inputs import frame, raw_rows
from modelport.validators import degenerate
from modelport.validators import runtimes as rt
from modelport.validators.inputs import DEFAULT_BATCH, Case
from modelport.validators.parity import _library_versions, classifier_outputs
from modelport.validators.results import ParityReport
from modelport.validators.running import _label, run_artifact

INDEPENDENT = {"onnx": "onnxruntime", "pmml": "jpmml"}


def raw_cases(prep: Preprocessing, batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH), seed: int = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [Case(f"batch={n}", raw_rows(prep, n, rng)) for n in batch_sizes]


def keras_reference(model: Any, spec: Any, prep: Preprocessing, cases: list[Case]) -> list[dict[str, np.ndarray]]:
    """``model.predict(prep.transform(X))`` per case."""
    from modelport.runtimes.keras import session_for

    session = session_for(model, spec)
    return [session.run({spec.inputs[0].name: transformed(prep, c)}) for c in cases]


def transformed(prep: Preprocessing, case: Case) -> np.ndarray:
    return prep.transform(frame(prep, case.inputs)).astype(np.float32)


def independent_reference(spec: Any, prep: Preprocessing, plain: Any, cases: list[Case]) -> list[dict[str, np.ndarray]]:
    """The transformer, then the plain Keras artifact in its runtime (no Keras, no composed graph)."""
    session = rt.load(INDEPENDENT[plain.format], plain)
    return [{k: np.asarray(v) for k, v in session.run({spec.inputs[0].name: transformed(prep, c)}).items()}
            for c in cases]


def validate_composed(model: Any, spec: Any, prep: Preprocessing, artifacts: list[Any], plain: dict[str, Any], *,
                      tolerance: Any, runtimes: list[str] | None = None, progress: Any = None, seed: int = 0,
                      base: Path | None = None) -> ParityReport:
    started = time.perf_counter()
    plan = rt.plan(list(artifacts), list(runtimes) if runtimes else None)
    cases = raw_cases(prep, seed=seed)
    t0 = time.perf_counter()
    expected = keras_reference(model, spec, prep, cases)
    keras_seconds = time.perf_counter() - t0
    second_format = "onnx" if "onnx" in plain else next(iter(plain))
    second = independent_reference(spec, prep, plain[second_format], cases)
    second_name = f"scikit-learn transform + the Keras-only {second_format} in {INDEPENDENT[second_format]}"
    classifiers = classifier_outputs(spec)
    report = ParityReport(
        model=str(getattr(spec, "source", "")), tolerance=tolerance.to_dict(), keras_seconds=keras_seconds,
        inputs={"source": "synthetic raw columns", "seed": seed, "cases": [c.to_dict() for c in cases],
                "reference": "Keras model on scikit-learn's transform of the raw columns",
                "independent": {"path": second_name, "results": []}},
        versions={**_library_versions(), **_sklearn_versions()},
    )
    total = len(plan) + 1
    for i, planned in enumerate(plan, start=1):
        if progress:
            progress(f"{planned.artifact.format} in {planned.runtime}", i, total)
        label = _label(planned.artifact, base)
        result = run_artifact(planned, cases, expected, tolerance, classifiers, label)
        report.results.append(result)
        if planned.skipped or result.error or planned.runtime != rt.runtimes_for(planned.artifact.format)[0]:
            continue
        check = run_artifact(planned, cases, second, tolerance, classifiers, label)  # the independent reading
        worst = max((o.max_abs for o in check.outputs), default=float("nan"))
        report.inputs["independent"]["results"].append(
            {"artifact": label, "runtime": planned.runtime, "passed": check.passed, "max_abs": worst})
        if not check.passed:
            report.problems.append(f"{label} in {planned.runtime} disagrees with {second_name} "
                                   f"(max abs {worst:.3g}){': ' + check.error if check.error else ''}")
    if progress:
        progress("done", total, total)
    report.reference = degenerate.summary(degenerate.reference_spreads(expected, tolerance))
    report.total_seconds = time.perf_counter() - started
    return report


def _sklearn_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"scikit-learn": version("scikit-learn"), "skl2onnx": version("skl2onnx")}
