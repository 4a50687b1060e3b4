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


def independent_runtime(fmt: str) -> str:
    """The first runtime of the plain artifact's format that runs here (ONNX Runtime; JPMML, else PMML4S)."""
    candidates = rt.runtimes_for(fmt)
    return next((r for r in candidates if rt.unavailable(r) is None), candidates[0])


def raw_cases(prep: Preprocessing, batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH), seed: int = 0,
              data: Any = None) -> list[Case]:
    """Seeded raw rows (batch 1 and batch N), or the user's rows from ``data`` (its first row, then all)."""
    if data is not None:
        from modelport.compose.inputs import read_rows

        rows = read_rows(data, prep)
        n = len(next(iter(rows.values())))
        return [Case("batch=1", {k: v[:1] for k, v in rows.items()})] + ([Case(f"batch={n}", rows)] if n > 1 else [])
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
    session = rt.load(independent_runtime(plain.format), plain)
    return [{k: np.asarray(v) for k, v in session.run({spec.inputs[0].name: transformed(prep, c)}).items()}
            for c in cases]


def validate_composed(model: Any, spec: Any, prep: Preprocessing, artifacts: list[Any], plain: dict[str, Any], *,
                      tolerance: Any, runtimes: list[str] | None = None, progress: Any = None, seed: int = 0,
                      base: Path | None = None, golden_dir: Path | None = None, data: Any = None) -> ParityReport:
    started = time.perf_counter()
    plan = rt.plan(list(artifacts), list(runtimes) if runtimes else None)
    cases = raw_cases(prep, seed=seed, data=data)
    t0 = time.perf_counter()
    expected = keras_reference(model, spec, prep, cases)
    keras_seconds = time.perf_counter() - t0
    second, second_name = None, "none (no Keras-only artifact to run)"
    if plain:
        second_format = "onnx" if "onnx" in plain else next(iter(plain))
        second = independent_reference(spec, prep, plain[second_format], cases)
        second_name = f"scikit-learn transform + the Keras-only {second_format} in {independent_runtime(second_format)}"
    classifiers = classifier_outputs(spec)
    report = ParityReport(
        model=str(getattr(spec, "source", "")), tolerance=tolerance.to_dict(), keras_seconds=keras_seconds,
        inputs={"source": "synthetic raw columns" if data is None else str(data), "seed": seed, "cases": [c.to_dict() for c in cases],
                "reference": "Keras model on scikit-learn's transform of the raw columns",
                "independent": {"path": second_name, "results": []}},
        versions={**_library_versions(), **_sklearn_versions()},
    )
    total = len(plan) + 1
    checked: set[str] = set()
    for i, planned in enumerate(plan, start=1):
        if progress:
            progress(f"{planned.artifact.format} in {planned.runtime}", i, total)
        label = _label(planned.artifact, base)
        result = run_artifact(planned, cases, expected, tolerance, classifiers, label)
        report.results.append(result)
        if second is None or planned.skipped or result.error or label in checked:
            continue
        checked.add(label)  # each artifact once, in the first runtime that ran it
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
    report.cases, report.expected = cases, expected  # for the golden file: the gate re-runs the raw rows
    if golden_dir is not None:
        from modelport.io import sha256_path
        from modelport.validators.golden import write_golden

        report.golden_path = write_golden(golden_dir, report)
        report.golden_sha256 = sha256_path(report.golden_path)
    report.total_seconds = time.perf_counter() - started
    return report


def _sklearn_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"scikit-learn": version("scikit-learn"), "skl2onnx": version("skl2onnx")}


def validate_paths(model: str | Path, paths: list[str | Path], preprocess: str | Path, *,
                   architecture: str | Path | None = None, trust_code: bool = False,
                   custom_objects: str | Path | None = None, tolerance: Any = None,
                   runtimes: list[str] | None = None, seed: int = 0, progress: Any = None,
                   data: Any = None, load_options: Any = None, trust_types: tuple[str, ...] = (),
                   **_ignored: Any) -> ParityReport:
    """``modelport validate MODEL OUT_DIR --preprocess prep.skops``: the composed artifacts listed by
    the manifests in ``paths``, on raw rows, against the Keras model behind the transformer (and,
    as the independent reading, the transformer then a Keras-only ONNX exported for the check)."""
    import tempfile

    if load_options is not None:  # api.LoadOptions, as validators.validate_paths takes it
        architecture, trust_code, custom_objects, trust_types = (
            load_options.architecture, load_options.trust_code, load_options.custom_objects,
            tuple(getattr(load_options, "trust_types", ())))

    from modelport import manifest as mf
    from modelport.compose.source import check_fits, read_preprocessing
    from modelport.errors import BadInputError, stage
    from modelport.loading import load
    from modelport.validators.tolerance import Tolerance

    if not Path(model).is_file():
        raise BadInputError(f"{model} does not exist", "pass the Keras model file the artifacts came from")
    prep = read_preprocessing(preprocess, trust_code, trust_types)
    if data is not None:  # a bad data file is refused before the model loads
        from modelport.compose.inputs import read_rows

        read_rows(data, prep)
    artifacts, problems, base = [], [], None
    for raw in paths:
        manifest = mf.manifest_path(raw)
        if manifest.name != mf.MANIFEST_NAME or not manifest.is_file():
            raise BadInputError(f"{raw}: --preprocess validates the output directory of `convert --preprocess`",
                                "pass that directory (it holds modelport.json)")
        data_ = mf.read(manifest)
        base = base or manifest.parent
        recorded = (data_.get("source") or {}).get("preprocessing") or {}
        if not recorded:
            raise BadInputError(f"{manifest.parent} was converted without a preprocessing",
                                "validate it without --preprocess")
        if recorded.get("sha256") != prep.sha256:
            problems.append(f"{prep.path} (sha256 {prep.sha256[:12]}…) is not the preprocessing {manifest.parent} "
                            f"was converted with ({recorded.get('path')}, sha256 {str(recorded.get('sha256'))[:12]}…)")
        artifacts += mf.artifacts(data_, manifest.parent)
    with stage("load", Path(model).name):
        loaded = load(model, architecture=architecture, trust_code=trust_code, custom_objects=custom_objects)
    check_fits(prep, loaded.spec)
    with tempfile.TemporaryDirectory(prefix="modelport-keras-only-") as tmp:
        plain = {}
        try:
            plain["onnx"] = _plain_onnx(loaded, Path(tmp) / "keras-only.onnx")
        except Exception:  # a model ONNX cannot express: the composed artifacts are still checked against Keras
            pass
        report = validate_composed(loaded.model, loaded.spec, prep, artifacts, plain,
                                   tolerance=tolerance or Tolerance(), runtimes=runtimes, progress=progress,
                                   seed=seed, base=base, data=data)
    report.problems += problems
    return report


def _plain_onnx(loaded: Any, dest: Path) -> Any:
    import modelport.convert as registry
    from modelport.convert.base import ExportOptions

    return registry.get("onnx").export(loaded.model, loaded.spec, dest, ExportOptions())
