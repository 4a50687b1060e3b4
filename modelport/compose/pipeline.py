"""``convert --preprocess``: the Keras model with its scikit-learn preprocessing, as one artifact per
target, validated on raw columns against ``model.predict(prep.transform(X))``.

The steps mirror ``modelport.api.convert`` (which hands over to ``convert`` here when given a
preprocessing file): read and check both files, analyse (the Keras layers and each preprocessing
step, per target), stop before writing anything when a requested target cannot hold the pair, load,
export the plain Keras artifact into the staging folder, compose it with the preprocessing, validate
the composed artifacts in their runtimes, commit, write the manifest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import modelport.convert as registry
from modelport import manifest as manifest_io
from modelport.compose.columns import Preprocessing
from modelport.compose.source import check_fits, composed_signature, read_preprocessing
from modelport.convert.base import Artifact, ExportOptions
from modelport.errors import (
    EXIT_PARITY,
    EXIT_UNSUPPORTED,
    BadInputError,
    ModelportError,
    OutputError,
    UnsupportedTargetError,
    stage,
)
from modelport.io import Staging, check_outputs, remove_path, sha256_path
from modelport.spec import ModelSpec

COMPOSABLE = ("onnx", "pmml")


@dataclass
class ComposedResult:
    """What ``api.convert`` returns, for a model converted with its preprocessing."""

    artifacts: list[Artifact]
    manifest_path: Path
    analysis: Any
    skipped: dict[str, list[str]] = field(default_factory=dict)
    parity: Any = None
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    preprocessing: Preprocessing | None = None


def analyze(spec: ModelSpec, prep: Preprocessing, targets: list[str], options: ExportOptions | None = None) -> Any:
    from modelport.analyze import analyze as analyze_spec
    from modelport.compose.analysis import add_findings

    check_fits(prep, spec)
    analysis = analyze_spec(spec, targets, options)
    add_findings(analysis, prep, targets)
    return analysis


def _select(analysis: Any, targets: list[str], is_all: bool) -> tuple[list[str], dict[str, list[str]]]:
    bad = {t: [f"cannot express {f.layer} ({f.class_name}): {f.reason}" for f in analysis.unsupported(t)]
           for t in targets}
    bad = {t: reasons for t, reasons in bad.items() if reasons}
    if bad and not is_all:
        findings = [f for t in bad for f in analysis.unsupported(t)]
        raise UnsupportedTargetError(
            f"cannot convert to {', '.join(bad)}: " + "; ".join(f"{t}: {', '.join(r)}" for t, r in bad.items()),
            findings[0].hint or "run `modelport analyze --preprocess` for every verdict", findings=findings)
    return [t for t in targets if t not in bad], bad


def convert(model: str | Path, preprocess: str | Path, to: str | Sequence[str] = "onnx,pmml",
            out_dir: str | Path | None = None, *, opset: int | None = None, force: bool = False,
            architecture: str | Path | None = None, trust_code: bool = False,
            custom_objects: str | Path | None = None, validate: bool = True, trust_types: Sequence[str] = (),
            class_labels: Sequence[str] | None = None, feature_names: Sequence[str] | None = None,
            pmml_max_size: str | int | None = None, sequence_length: int | None = None,
            progress: Callable[[str, int, int], None] | None = None, **validate_options: Any) -> ComposedResult:
    """Convert ``model`` with the preprocessing in ``preprocess`` in front (see the module doc)."""
    from modelport.convert.pmml.budget import parse_size
    from modelport.loading import load, read_spec
    from modelport.validators.tolerance import from_options

    started = time.time()

    def say(step: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(step, done, total)

    model_path = Path(model)
    targets, is_all = registry.parse_targets(to)
    if feature_names:
        raise BadInputError("--feature-names does not apply with --preprocess: the raw columns keep the names "
                            "the transformer was fitted with", "leave --feature-names out")
    with stage("load", model_path.name):
        spec = read_spec(model_path, architecture=architecture)
    prep = read_preprocessing(preprocess, trust_code, tuple(trust_types))
    if validate and validate_options.get("data") is not None:  # a bad data file stops the run before any work
        from modelport.compose.inputs import read_rows

        read_rows(validate_options["data"], prep)
    options = ExportOptions(opset=opset, class_labels=list(class_labels) if class_labels else None,
                            pmml_max_size=parse_size(pmml_max_size), sequence_length=sequence_length)
    analysis = analyze(spec, prep, targets, options)
    targets, skipped = _select(analysis, targets, is_all)
    out = Path(out_dir) if out_dir is not None else Path(f"{model_path.stem}-modelport")
    names = {t: f"{model_path.stem}{registry.get(t).suffix}" for t in targets}
    model_sha256 = sha256_path(model_path)
    previous = _previous(out, model_sha256, prep, force)
    check_outputs(out, list(names.values()), force)
    if opset is not None and "onnx" in targets:
        from modelport.convert.onnx import check_opset

        check_opset(opset)

    say(f"loading {model_path.name}", 0, len(targets) + 1)
    with stage("load", model_path.name):
        loaded = load(model_path, architecture=architecture, trust_code=trust_code, custom_objects=custom_objects)
    tolerance = from_options(validate_options)
    if validate:
        from modelport.loading import reference

        reference.check(loaded, data=None, seed=validate_options.get("seed", 0), tolerance=tolerance)
    artifacts: list[Artifact] = []
    plain: dict[str, Artifact] = {}
    parity = None
    with Staging(out) as staging:
        for i, target in enumerate(targets, start=1):
            say(f"converting to {target} with the preprocessing", i, len(targets) + 1)
            try:
                plain[target], artifact = _export(target, loaded, prep, staging, names[target], options)
            except ModelportError as e:
                if not is_all or e.exit_code != EXIT_UNSUPPORTED:
                    raise
                skipped[target] = [e.message]
                continue
            artifacts.append(artifact)
        if validate and artifacts:
            from modelport.compose.validate import validate_composed

            say("validating parity")
            with stage("validate", ", ".join(a.path.name for a in artifacts), exit_code=EXIT_PARITY):
                parity = validate_composed(loaded.model, loaded.spec, prep, artifacts, plain, tolerance=tolerance,
                                           runtimes=validate_options.get("runtimes"), progress=progress,
                                           seed=validate_options.get("seed", 0), base=staging.root,
                                           golden_dir=staging.root, data=validate_options.get("data"))
        for p in plain.values():
            remove_path(p.path)
        for artifact in artifacts:
            artifact.path = staging.commit(names[artifact.format], force=force)
        if previous is False:  # --force onto another set: its artifacts go, the folder holds this run's
            _remove_listed(out, keep=[a.path for a in artifacts], golden_written=parity is not None)
            previous = None
        if parity is not None and parity.golden_path is not None:
            staging.commit(Path(parity.golden_path).name, force=True)  # raw rows and outputs for the gate
    weights = loaded.audit.to_dict() if loaded.audit is not None else {"status": "no stored weights"}
    document = manifest_io.build(
        source={"path": model_path.name, "sha256": model_sha256,
                "keras_version": loaded.spec.keras_version, "backend": loaded.spec.backend,
                "loader": loaded.spec.loader, "repairs": list(loaded.spec.repairs), "trust": loaded.spec.trust,
                "warnings": list(loaded.warnings), "weights": weights,
                "references": [r.to_dict() for r in loaded.references] if validate else "not checked (--no-validate)",
                "preprocessing": preprocessing_entry(prep)},
        model=loaded.spec.summary(), analysis={**analysis.to_dict(), "model": model_path.name},
        artifacts=artifacts, out_dir=out, previous=previous or None,
        extra=parity.manifest_fields() if parity is not None else _kept(previous),
        run={"created_unix": round(started), "seconds": round(time.time() - started, 3)})
    path = manifest_io.write(document, out)
    return ComposedResult(artifacts, path, analysis, skipped, parity, list(loaded.warnings),
                          list(loaded.spec.repairs), prep)


def preprocessing_entry(prep: Preprocessing) -> dict[str, Any]:
    """The manifest's record of the preprocessing: the file, and what it reads and does."""
    return {"path": prep.path, "sha256": prep.sha256, "class": type(prep.transformer).__name__,
            "columns": [{"name": c.name, "kind": c.kind, **({"categories": list(c.categories)} if c.categories else {}),
                         **({"imputed": True} if c.imputed else {})} for c in prep.columns],
            "steps": [{"name": s.name, "columns": list(s.columns), "transformers": s.class_names()} for s in prep.steps],
            "width": prep.width}


def _previous(out: Path, model_sha256: str, prep: Preprocessing, force: bool) -> dict[str, Any] | bool | None:
    """The folder's manifest when it holds this model with this preprocessing (more targets add to
    it); None when there is none; False when it holds another set and ``force`` replaces it (else
    that is refused: one folder, one model)."""
    try:
        previous = manifest_io.read(out)
    except ModelportError:
        return None
    source = previous.get("source") or {}
    recorded = source.get("preprocessing") or {}
    if source.get("sha256") == model_sha256 and recorded.get("sha256") == prep.sha256:
        return previous
    if not force:
        what = f"{source.get('path')}" + (f" with {recorded.get('path')}" if recorded else " without a preprocessing")
        raise OutputError(f"{out} holds the artifacts of another conversion ({what})",
                          "pass --force to replace that whole set, or choose another output directory with -o")
    return False


def _remove_listed(out: Path, keep: list[Path], golden_written: bool) -> None:
    """The artifacts (and golden file) the folder's earlier manifest lists, except those this run wrote."""
    from modelport.validators.golden import GOLDEN_NAME

    try:
        previous = manifest_io.read(out)
    except ModelportError:
        return
    kept = {Path(p).resolve() for p in keep}
    listed = [a.get("path") for a in previous.get("artifacts", []) if a.get("path")]
    if not golden_written:
        listed.append(GOLDEN_NAME)
    for rel in listed:
        path = (out / rel).resolve()
        if path.parent == out.resolve() and path not in kept:
            remove_path(path)


def _kept(previous: Any) -> dict[str, Any]:
    """Without validation in this run, the same set's earlier golden file and parity still hold."""
    return {k: previous[k] for k in ("golden", "parity") if isinstance(previous, dict) and k in previous}


def _export(target: str, loaded: Any, prep: Preprocessing, staging: Staging, name: str,
            options: ExportOptions) -> tuple[Artifact, Artifact]:
    """(the plain Keras artifact, the composed one), both in the staging folder."""
    converter = registry.get(target)
    plain_path = staging.path(f"keras-only-{name}")
    with stage("convert", name, exit_code=EXIT_UNSUPPORTED,
               hint=f"convert to another target, or run with --debug and report it if {target} should work"):
        plain = converter.export(loaded.model, loaded.spec, plain_path, options)
        dest = staging.path(name)
        if target == "onnx":
            from modelport.compose.onnx import compose

            details = {**plain.details, **compose(prep, plain_path, dest)}
        else:
            from modelport.compose.inputs import frame, raw_rows
            from modelport.compose.pmml import compose
            from modelport.convert.pmml.fields import VERIFY_ROWS, VERIFY_SEED
            from modelport.runtimes.keras import session_for

            rows = raw_rows(prep, VERIFY_ROWS, np.random.default_rng(VERIFY_SEED), gaps=False)
            x = prep.transform(frame(prep, rows)).astype(np.float32)
            expected = session_for(loaded.model, loaded.spec).run({loaded.spec.inputs[0].name: x})
            details = compose(prep, plain_path, plain.details, dest, (rows, expected))
    artifact = Artifact(dest, target, composed_signature(prep), list(plain.outputs), sha256_path(dest),
                        {**details, "preprocessing": prep.path},
                        {**plain.producer, **_versions("scikit-learn", "skl2onnx" if target == "onnx" else "lxml")})
    return plain, artifact


def _versions(*libraries: str) -> dict[str, str]:
    from importlib.metadata import version

    return {lib: version(lib) for lib in libraries}
