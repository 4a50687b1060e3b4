"""Golden inputs and Keras outputs, stored beside the manifest so the gate needs no Keras file.

``modelport.golden.npz`` holds, per validation case ``i``: ``{i}/in/{input}`` and ``{i}/out/{output}``,
plus ``__labels__`` (case labels). No pickles: it loads with ``allow_pickle=False``, so a text array
(a scikit-learn category column, class labels) is stored as unicode with its missing entries (None)
in ``{key}#missing``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import BadInputError
from modelport.io import sha256_path, write_bytes_atomic
from modelport.validators import degenerate
from modelport.validators.inputs import DEFAULT_BATCH, Case, make_cases

GOLDEN_NAME = "modelport.golden.npz"


def save(path: Path, cases: list[Case], expected: list[dict[str, np.ndarray]]) -> Path:
    arrays: dict[str, np.ndarray] = {"__labels__": np.array([c.label for c in cases])}
    for i, (case, outs) in enumerate(zip(cases, expected)):
        for key, value in [*((f"{i}/in/{k}", v) for k, v in case.inputs.items()),
                           *((f"{i}/out/{k}", v) for k, v in outs.items())]:
            arrays.update(_storable(key, np.asarray(value)))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(Path(path), buf.getvalue())
    return Path(path)


MISSING = "#missing"


def _storable(key: str, value: np.ndarray) -> dict[str, np.ndarray]:
    if value.dtype.kind != "O":
        return {key: value}
    missing = np.array([v is None for v in value.ravel()], dtype=bool).reshape(value.shape)
    text = np.array(["" if v is None else str(v) for v in value.ravel()], dtype=str).reshape(value.shape)
    return {key: text, key + MISSING: missing} if missing.any() else {key: text}


def load(path: Path) -> tuple[list[Case], list[dict[str, np.ndarray]]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            labels = [str(s) for s in z["__labels__"]]
            cases = [Case(label, {}) for label in labels]
            expected: list[dict[str, np.ndarray]] = [{} for _ in labels]
            for key in z.files:
                if key == "__labels__" or key.endswith(MISSING):
                    continue
                index, kind, name = key.split("/", 2)
                target = cases[int(index)].inputs if kind == "in" else expected[int(index)]
                target[name] = z[key]
                if key + MISSING in z.files:
                    text = target[name].astype(object)
                    text[z[key + MISSING]] = None
                    target[name] = text
    except FileNotFoundError:
        raise BadInputError(f"golden file {path} is missing", "re-run `modelport convert` to write it") from None
    except (ValueError, KeyError, OSError) as e:
        raise BadInputError(f"golden file {path} is unreadable ({e})", "re-run `modelport convert`") from None
    return cases, expected


def write_golden(out_dir: str | Path, report: Any = None, *, model: Any = None, spec: Any = None,
                 data: Any = None, batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH), seed: int = 0) -> Path:
    """Write ``out_dir/modelport.golden.npz``: the inputs of ``report`` (from ``validate_artifacts``)
    and the Keras outputs, or, without a report, fresh inputs run through ``model``."""
    if report is not None and report.cases:
        cases, expected = report.cases, report.expected
    else:
        if model is None or spec is None:
            raise TypeError("write_golden needs a ParityReport or model and spec")
        from modelport.validators.running import reference_outputs

        cases = make_cases(spec, data, tuple(batch_sizes), seed, model=model)
        expected, _ = reference_outputs(model, spec, cases)
    return save(Path(out_dir) / GOLDEN_NAME, cases, expected)


def manifest_entries(out_dir: str | Path, report: Any = None) -> dict[str, Any]:
    """``{"golden": {...}, "parity": {...}}`` to merge into modelport.json (``manifest.build(extra=)``)."""
    path = Path(out_dir) / GOLDEN_NAME
    entries: dict[str, Any] = {"golden": {"path": GOLDEN_NAME, "sha256": sha256_path(path)}}
    if report is not None:
        entries["parity"] = report.to_manifest()
    return entries


def check_golden(artifacts: list[Any], golden_path: str | Path, *, tolerance: Any = None,
                 runtimes: list[str] | None = None, classifiers: set[str] = frozenset(),
                 progress: Callable[[str, int, int], None] | None = None, base: Path | None = None) -> Any:
    """Run every artifact on the golden inputs and compare with the golden Keras outputs."""
    import time

    from modelport.validators import runtimes as rt
    from modelport.validators.results import ParityReport
    from modelport.validators.running import _label, run_artifact
    from modelport.validators.tolerance import Tolerance

    started = time.perf_counter()
    tol = tolerance or Tolerance()
    cases, expected = load(Path(golden_path))
    plan = rt.plan(list(artifacts), runtimes)
    report = ParityReport(model=str(golden_path), tolerance=tol.to_dict(), kind="gate",
                          inputs={"source": str(golden_path), "cases": [c.to_dict() for c in cases]})
    for i, planned in enumerate(plan, start=1):
        if progress:
            progress(f"{planned.artifact.format} in {planned.runtime}", i - 1, len(plan))
        report.results.append(run_artifact(planned, cases, expected, tol, set(classifiers),
                                           _label(planned.artifact, base)))
    if progress:
        progress("done", len(plan), len(plan))
    report.reference = degenerate.summary(degenerate.reference_spreads(expected, tol))
    report.total_seconds = time.perf_counter() - started
    return report
