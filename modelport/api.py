"""The functions the CLI calls — and the Python API. Each one is a short pipeline over the modules
that do the work (loading, analyze, convert, runtimes, validators, manifest)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport import convert as registry
from modelport import manifest as manifest_io
from modelport._memory import release
from modelport.analyze import Analysis
from modelport.analyze import analyze as analyze_spec
from modelport.convert.base import Artifact, ExportOptions
from modelport.errors import OutputError, UnsupportedTargetError
from modelport.io import Staging, sha256_path
from modelport.spec import ModelSpec


@dataclass
class LoadOptions:
    """How to read the model file; the trust flags are explicit opt-ins recorded in the manifest."""

    architecture: str | Path | None = None  # Keras to_json() file, for weights-only .h5 files
    trust_code: bool = False  # allow Lambda layers (runs their Python code)
    custom_objects: str | Path | None = None  # a .py file defining custom layer classes

    def as_kwargs(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "trust_code": self.trust_code,
                "custom_objects": self.custom_objects}


@dataclass
class ConversionResult:
    artifacts: list[Artifact]
    manifest_path: Path
    analysis: Analysis
    skipped: dict[str, list[str]] = field(default_factory=dict)  # target -> offending layers (with `all`)
    parity: Any = None  # validators.ParityReport when validated
    warnings: list[str] = field(default_factory=list)  # from loading, e.g. NaN weights in the file


def read_spec(model: str | Path, options: LoadOptions | None = None) -> ModelSpec:
    """The model's spec from the file alone (no TensorFlow)."""
    from modelport.loading import read_spec as _read_spec

    options = options or LoadOptions()
    return _read_spec(model, architecture=options.architecture)


def load(model: str | Path, options: LoadOptions | None = None, **kwargs: Any):
    """Load a Keras model file safely; returns ``LoadedModel(model, spec, saved)``."""
    from modelport.loading import load as _load

    options = options or LoadOptions(**kwargs)
    return _load(model, **options.as_kwargs())


def analyze(model: str | Path, to: str | Sequence[str] | None = None,
            options: LoadOptions | None = None) -> Analysis:
    """Every layer's verdict for every requested target (default: all), without TensorFlow.

    A model holding code (Lambda, custom classes) is refused as ``convert`` refuses it, unless the
    same opt-ins are given (``trust_code``, ``custom_objects``)."""
    from modelport.loading import check_safe

    options = options or LoadOptions()
    targets, _ = registry.parse_targets(to or "all")
    check_safe(model, **options.as_kwargs())  # a file holding code is refused here as in convert
    return analyze_spec(read_spec(model, options), targets)


def inspect(path: str | Path, options: LoadOptions | None = None) -> dict[str, Any]:
    """Signature and facts of a model file or an artifact (TensorFlow only for pb/ckpt/SavedModel)."""
    from modelport.inspecting import inspect_path

    return inspect_path(Path(path), options or LoadOptions())


def _artifact_name(stem: str, target: str, suffix: str) -> str:
    return f"{stem}{suffix}" if suffix else f"{stem}_{target}"


def _check_outputs(out_dir: Path, names: list[str], force: bool) -> None:
    """Fail before any work when an output exists (no --force) or the directory is unusable."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a directory", "choose another output directory with -o")
    # the directory itself is created by Staging, after the model loaded: bad input leaves nothing
    existing_dir = next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.exists())
    if not existing_dir.is_dir():
        raise OutputError(f"cannot create {out_dir} ({existing_dir} is not a directory)",
                          "choose a writable directory with -o")
    if not os.access(existing_dir, os.W_OK | os.X_OK):
        raise OutputError(f"{existing_dir} is not writable", "choose a writable directory with -o")
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not force:
        raise OutputError(f"{out_dir / existing[0]} already exists", "pass --force to overwrite it")


def _select_targets(analysis: Analysis, targets: list[str], is_all: bool) -> tuple[list[str], dict[str, list[str]]]:
    """With `all`, drop targets that cannot express the model; otherwise any such target stops the run."""
    bad = {t: [f"{f.layer} ({f.class_name}): {f.reason}" for f in analysis.unsupported(t)] for t in targets}
    bad = {t: layers for t, layers in bad.items() if layers}
    if bad and not is_all:
        detail = "; ".join(f"{t}: {', '.join(layers)}" for t, layers in bad.items())
        model_wide = [f.hint for t in bad for f in analysis.unsupported(t) if f.layer.startswith("(") and f.hint]
        raise UnsupportedTargetError(
            f"cannot convert to {', '.join(bad)}: {detail}",
            model_wide[0] if model_wide else "run `modelport analyze` for every layer's verdict, or choose another target",
            findings=[f for t in bad for f in analysis.unsupported(t)],
        )
    return [t for t in targets if t not in bad], bad


def convert(model: str | Path, to: str | Sequence[str] = "all", out_dir: str | Path | None = None, *,
            opset: int | None = None, force: bool = False, architecture: str | Path | None = None,
            trust_code: bool = False, custom_objects: str | Path | None = None, validate: bool = True,
            class_labels: Sequence[str] | None = None, feature_names: Sequence[str] | None = None,
            progress: Callable[[str, int, int], None] | None = None, **validate_options: Any) -> ConversionResult:
    """Convert a Keras model file to each target; write the manifest; validate parity (default on).

    Nothing is written when a requested target cannot express the model (exit 3) or an output
    exists without ``force``; artifacts are built in a staging directory and renamed into place.
    ``progress(step, done, total)`` is told what is happening; ``validate_options`` go to
    ``modelport.validators.validate_artifacts`` (data, tolerance, runtimes, ...).
    """
    started = time.time()

    def say(step: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(step, done, total)

    options = LoadOptions(architecture, trust_code, custom_objects)
    model_path = Path(model)
    targets, is_all = registry.parse_targets(to)
    spec = read_spec(model_path, options)
    analysis = analyze_spec(spec, targets)
    targets, skipped = _select_targets(analysis, targets, is_all)
    out = Path(out_dir) if out_dir is not None else Path(f"{model_path.stem}-modelport")
    converters = {t: registry.get(t) for t in targets}
    names = {t: _artifact_name(model_path.stem, t, c.suffix) for t, c in converters.items()}
    _check_outputs(out, list(names.values()), force)

    steps = len(converters) + 1  # loading, then each target; validation reports its own steps
    say(f"loading {model_path.name}", 0, steps)
    loaded = load(model_path, options)
    export_options = ExportOptions(opset=opset, class_labels=list(class_labels) if class_labels else None,
                                   feature_names=list(feature_names) if feature_names else None)
    artifacts: list[Artifact] = []
    parity = None
    with Staging(out) as staging:
        for i, (target, converter) in enumerate(converters.items(), start=1):
            say(f"converting to {target}", i, steps)
            artifact = converter.export(loaded.model, loaded.spec, staging.path(names[target]), export_options)
            artifact.sha256 = sha256_path(artifact.path)
            artifacts.append(artifact)
            release()  # what a converter freed goes back to the OS before the next one allocates
        _forget_traces(loaded.model)  # the frozen graphs hold a copy of every weight: not needed to validate
        release()
        if validate and artifacts:
            say("validating parity")
            parity = _validate_staged(loaded, artifacts, staging.root, {"progress": progress, **validate_options})
        for artifact in artifacts:
            artifact.path = staging.commit(names[artifact.format], force=force)
            if artifact.details.get("external_data"):  # ONNX weights beyond protobuf's 2 GB
                staging.commit(artifact.details["external_data"], force=force)
        if parity is not None and parity.golden_path is not None:
            staging.commit(Path(parity.golden_path).name, force=True)  # golden inputs/outputs for the gate
    extra = parity.manifest_fields() if parity is not None else {}
    document = manifest_io.build(
        source={"path": model_path.name, "sha256": sha256_path(model_path),
                "keras_version": loaded.spec.keras_version, "backend": loaded.spec.backend,
                "loader": loaded.spec.loader, "repairs": list(loaded.spec.repairs),
                "trust": loaded.spec.trust, "warnings": list(loaded.warnings)},
        model=loaded.spec.summary(), analysis=_portable(analysis.to_dict(), model_path), artifacts=artifacts, out_dir=out,
        previous=_previous_manifest(out), extra=extra,
        run={"created_unix": round(started), "seconds": round(time.time() - started, 3)},
    )
    path = manifest_io.write(document, out)
    return ConversionResult(artifacts, path, analysis, skipped, parity, list(loaded.warnings))


def _forget_traces(model: Any) -> None:
    import sys

    if "modelport.convert.tf_graph" in sys.modules:  # no TensorFlow target ran: nothing to forget
        sys.modules["modelport.convert.tf_graph"].forget(model)


def _portable(analysis: dict[str, Any], model_path: Path) -> dict[str, Any]:
    """The manifest names the source by file name: an absolute path would differ between runs."""
    return {**analysis, "model": model_path.name} if "model" in analysis else analysis


def _previous_manifest(out: Path) -> dict[str, Any] | None:
    try:
        return manifest_io.read(out)
    except Exception:  # no or unreadable earlier manifest: start afresh
        return None


def _validate_staged(loaded: Any, artifacts: list[Artifact], staging_root: Path, options: dict[str, Any]) -> Any:
    """Parity of the staged artifacts against the Keras model (modelport.validators)."""
    from modelport import validators

    return validators.validate_artifacts(loaded.model, loaded.spec, artifacts, golden_dir=staging_root, **options)


def validate(model: str | Path, artifacts: str | Path | Sequence[str | Path], **kwargs: Any) -> Any:
    from modelport import validators

    return validators.validate_paths(model, artifacts, **kwargs)


def gate(dir_or_manifest: str | Path, **kwargs: Any) -> Any:
    from modelport import gate as gate_module

    return gate_module.run_gate(dir_or_manifest, **kwargs)
