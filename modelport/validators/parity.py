"""Run Keras and every artifact, each in the runtime that serves it, on the same inputs.

The entry point ``validate_artifacts`` is what ``api.convert(validate=True)`` and
``modelport validate`` call. Sessions are loaded once per artifact × runtime and fed whole batches
(never row by row); a runtime that crashes or returns something unusable makes its artifact fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport._memory import release
from modelport.errors import BadInputError, ModelportError
from modelport.validators import degenerate
from modelport.validators import runtimes as rt
from modelport.validators.inputs import DEFAULT_BATCH, Case, make_cases
from modelport.validators.results import ParityReport
from modelport.validators.running import _label, _one_line, reference_outputs, run_artifact
from modelport.validators.tolerance import Tolerance, build

Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in total)
LOCALISABLE = ("onnx", "pb", "savedmodel", "ckpt")


def classifier_outputs(spec: Any) -> set[str]:
    """Outputs produced by a softmax/sigmoid layer: their argmax agreement is reported."""
    out = set()
    for t in spec.outputs:
        try:
            layer = spec.layer(t.name)
        except KeyError:
            continue
        act = layer.config.get("activation")
        if layer.class_name == "Softmax" or act in ("softmax", "sigmoid"):
            out.add(t.name)
    return out


def check_signature(spec: Any, artifact: Any) -> None:
    """An artifact converted from another model has other inputs/outputs: say so (exit 2)."""
    def sig(tensors):
        return [(t.name, tuple(d for d in t.shape[1:])) for t in tensors]

    def fixed_equal(a, b):
        return len(a) == len(b) and all(
            na == nb and len(sa) == len(sb) and all(x is None or y is None or x == y for x, y in zip(sa, sb))
            for (na, sa), (nb, sb) in zip(a, b))

    if artifact.inputs and not fixed_equal(sig(spec.inputs), sig(artifact.inputs)) or \
            artifact.outputs and not fixed_equal(sig(spec.outputs), sig(artifact.outputs)):
        raise BadInputError(
            f"{artifact.path} was not converted from this model "
            f"(its signature {[t.name for t in artifact.inputs]} -> {[t.name for t in artifact.outputs]} "
            f"differs from the model's {[t.name for t in spec.inputs]} -> {[t.name for t in spec.outputs]})",
            f"pass --preprocess {artifact.details['preprocessing']}, the transformer it was converted with"
            if (getattr(artifact, "details", None) or {}).get("preprocessing")
            else "validate each artifact against the model it was converted from")


def _reference_name(spec: Any) -> str:
    return "scikit-learn" if getattr(spec, "kind", "keras") == "sklearn" else "keras"


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib in ("numpy", "tensorflow", "keras", "scikit-learn", "onnxruntime", "jpmml_evaluator", "pypmml"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            pass
    return out


def fixed_length_cases(spec: Any, artifacts: list[Any], batch_sizes: tuple[int, ...], seed: int) -> list[Case]:
    """Synthetic cases at the time length an artifact fixed for a dynamic time axis (PMML's
    --sequence-length), so it is validated at the one length it accepts."""
    from dataclasses import replace

    from modelport.spec import TensorSpec
    from modelport.validators.inputs import synthetic_cases

    lengths = set()
    for a in artifacts:
        for t, fixed in zip(spec.inputs, getattr(a, "inputs", None) or [], strict=False):
            if len(t.shape) >= 3 and t.shape[1] is None and len(fixed.shape) >= 3 and fixed.shape[1] is not None:
                lengths.add(int(fixed.shape[1]))
    cases = []
    for n in sorted(lengths):
        inputs = [TensorSpec(t.name, (t.shape[0], n, *t.shape[2:]), t.dtype)
                  if len(t.shape) >= 3 and t.shape[1] is None else t for t in spec.inputs]
        cases += [Case(f"{c.label} len={n}", c.inputs) for c in synthetic_cases(replace(spec, inputs=inputs),
                                                                                 batch_sizes, seed)]
    return cases


def validate_artifacts(model: Any, spec: Any, artifacts: list[Any], *, data: Any = None,
                       atol: float = 1e-5, rtol: float = 1e-5, per_output: dict | None = None,
                       per_format: dict | None = None, runtimes: list[str] | None = None,
                       batch_sizes: tuple[int, ...] = (1, DEFAULT_BATCH), seed: int = 0,
                       progress: Progress | None = None, tolerance: Tolerance | None = None,
                       localize: bool = True, base: Path | None = None,
                       golden_dir: str | Path | None = None) -> ParityReport:
    """Validate every artifact against the Keras ``model`` in each of its runtimes.

    ``data``: None (seeded synthetic), a path (.npz/.npy/.csv/.parquet), a dict of arrays or one
    array. ``per_output``/``per_format``: ``{"name": atol}`` or ``{"name": {"atol":..,"rtol":..}}``.
    ``runtimes``: restrict to these runtime names (each must be available, else BadInputError).
    ``localize``: when an ONNX/TensorFlow artifact fails, name the first diverging Keras layer.
    ``base``: artifact paths in the report are written relative to it (default: ``golden_dir``).
    ``golden_dir``: write ``modelport.golden.npz`` (inputs + Keras outputs) there for the gate;
    ``report.manifest_fields()`` then gives the ``golden`` and ``parity`` manifest entries.
    """
    started = time.perf_counter()
    base = base if base is not None else (Path(golden_dir) if golden_dir is not None else None)
    tol = tolerance or build(atol, rtol, per_output, per_format)
    for name in getattr(model, "exact_outputs", ()):  # predicted labels must be equal, not close
        tol.per_output.setdefault(name, {"atol": 0.0, "rtol": 0.0})
    for artifact in artifacts:
        check_signature(spec, artifact)
    plan = rt.plan(list(artifacts), list(runtimes) if runtimes else None)
    own_cases = getattr(model, "validation_cases", None)  # a non-Keras source draws its own (sources.sklearn)
    cases = own_cases(spec, data, tuple(batch_sizes), seed) if own_cases else \
        make_cases(spec, data, tuple(batch_sizes), seed, model=model)
    if data is None and not own_cases:
        cases += fixed_length_cases(spec, list(artifacts), tuple(batch_sizes), seed)
    total = len(plan) + 1
    if progress:
        progress(_reference_name(spec), 0, total)
    own_reference = getattr(model, "reference_outputs", None)
    expected, keras_seconds = own_reference(spec, cases) if own_reference else reference_outputs(model, spec, cases)
    release()  # the reference's activations go back before the first runtime loads
    classifiers = set(getattr(model, "classifier_outputs", ())) or classifier_outputs(spec)
    report = ParityReport(
        model=str(getattr(spec, "source", "")), tolerance=tol.to_dict(), keras_seconds=keras_seconds,
        reference_name=_reference_name(spec),
        inputs={"source": "synthetic" if data is None else (str(data) if isinstance(data, (str, Path)) else "arrays"),
                "seed": seed, "cases": [c.to_dict() for c in cases]},
        versions=_library_versions(),
    )
    for i, planned in enumerate(plan, start=1):
        if progress:
            progress(f"{planned.artifact.format} in {planned.runtime}", i, total)
        result = run_artifact(planned, cases, expected, tol, classifiers, _label(planned.artifact, base))
        if localize and result.status == "fail" and planned.artifact.format in LOCALISABLE and not own_reference:
            result.divergence = _localize(model, spec, planned, cases, tol)
        report.results.append(result)
    if progress:
        progress("done", total, total)
    report.reference = degenerate.summary(degenerate.reference_spreads(expected, tol))
    report.cases, report.expected = cases, expected  # kept for the golden file, not serialised
    if golden_dir is not None:
        from modelport.io import sha256_path
        from modelport.validators.golden import write_golden

        report.golden_path = write_golden(golden_dir, report)
        report.golden_sha256 = sha256_path(report.golden_path)
    report.total_seconds = time.perf_counter() - started
    return report


def _localize(model: Any, spec: Any, planned: rt.Planned, cases: list[Case], tol: Tolerance) -> dict[str, Any]:
    from modelport.validators.divergence import locate

    case = max(cases, key=lambda c: next(iter(c.inputs.values())).shape[0])
    try:
        return locate(model, spec, planned.artifact, planned.runtime, case.inputs, tol)
    except ModelportError as e:
        return {"layer": None, "method": None, "note": str(e)}
    except Exception as e:  # localisation is a diagnostic: its failure must not hide the verdict
        return {"layer": None, "method": None, "note": f"localisation failed: {_one_line(e)}"}
