"""Running the reference and one artifact over validation cases: shared by ``parity`` (validation
against the Keras model) and ``golden`` (the gate, against stored outputs), which therefore do not
import each other."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from modelport._memory import release
from modelport.errors import stage
from modelport.validators import runtimes as rt
from modelport.validators.compare import compare
from modelport.validators.inputs import Case
from modelport.validators.results import ArtifactResult
from modelport.validators.tolerance import Tolerance


def reference_outputs(model: Any, spec: Any, cases: list[Case]) -> tuple[list[dict[str, np.ndarray]], float]:
    from modelport.runtimes.keras import session_for

    session = session_for(model, spec)
    start = time.perf_counter()
    # the model rejecting the inputs (ids outside a vocabulary, strings where numbers go) is bad input
    with stage("validate", "the Keras reference", layers=[(la.name, la.class_name) for la in getattr(spec, "layers", [])],
               hint="pass --data with inputs the model accepts"):
        outs = [{k: np.asarray(v) for k, v in session.run(c.inputs).items()} for c in cases]
    return outs, time.perf_counter() - start


def _fits(artifact: Any, case: Case) -> bool:
    """Whether the case's arrays have the artifact's fixed dimensions (None fits anything)."""
    for t in getattr(artifact, "inputs", None) or []:
        a = case.inputs.get(t.name)
        if a is not None and (a.ndim != len(t.shape) or any(
                d is not None and d != g for d, g in zip(t.shape[1:], a.shape[1:], strict=False))):
            return False
    return True


def run_artifact(planned: rt.Planned, cases: list[Case], expected: list[dict[str, np.ndarray]],
                 tolerance: Tolerance, classifiers: set[str], label: str | None = None) -> ArtifactResult:
    """One artifact in one runtime over every case; errors become a failing result."""
    artifact = planned.artifact
    result = ArtifactResult(label or str(artifact.path), artifact.format, planned.runtime,
                            sha256=getattr(artifact, "sha256", "") or "", skipped=planned.skipped)
    if planned.skipped:
        return result
    fitting = [k for k, c in enumerate(cases) if _fits(artifact, c)]  # a PMML unrolled to a fixed length
    cases, expected = [cases[k] for k in fitting], [expected[k] for k in fitting]
    if not cases:
        result.error = "no validation case has the artifact's fixed input shape"
        return result
    result.rows = int(sum(next(iter(c.inputs.values())).shape[0] for c in cases))
    start = time.perf_counter()
    try:
        session = rt.load(planned.runtime, artifact)
    except Exception as e:  # a corrupt artifact or a crashing runtime: a failure, not a pass
        result.load_seconds = time.perf_counter() - start
        result.error = f"{planned.runtime} could not load the artifact: {_one_line(e)}"
        return result
    result.load_seconds = time.perf_counter() - start
    result.method = getattr(session, "method", None)
    verdict = session.verify() if callable(getattr(session, "verify", None)) else None
    if verdict is not None and verdict.passed is False:  # the PMML's own ModelVerification block
        result.error = f"{planned.runtime}: the embedded ModelVerification failed: {verdict.message}"
        return result
    actual: list[dict[str, np.ndarray]] = []
    start = time.perf_counter()
    try:
        run_many = getattr(session, "run_many", None)  # runtimes outside Python: one launch for all cases
        every = run_many([c.inputs for c in cases]) if callable(run_many) else (session.run(c.inputs) for c in cases)
        for outs in every:
            missing = [t.name for t in artifact.outputs if t.name not in outs] or \
                      [k for k in expected[0] if k not in outs]
            if missing:
                raise RuntimeError(f"no output named {', '.join(missing)}")
            actual.append({k: np.asarray(v) for k, v in outs.items()})
    except Exception as e:
        result.run_seconds = time.perf_counter() - start
        result.error = f"{planned.runtime} failed while running: {_one_line(e)}"
        return result
    finally:
        close = getattr(session, "close", None)
        if callable(close):
            close()
        del session
        release()  # this runtime's memory goes back before the next runtime loads
    result.run_seconds = time.perf_counter() - start
    for name in expected[0]:
        bound = tolerance.bound(name, artifact.format)
        result.outputs.append(compare(name, [a[name] for a in actual], [e[name] for e in expected],
                                      bound, classifier=name in classifiers))
    return result


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


def _label(artifact: Any, base: Path | None) -> str:
    path = Path(artifact.path)
    if base is not None:
        try:
            return path.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)
