"""The functions the CLI calls — and the Python API. Each one is a short pipeline over the modules
that do the work (loading, analyze, convert, runtimes, validators, manifest)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport import convert as registry
from modelport import manifest as manifest_io
from modelport._memory import release
from modelport.analyze import Analysis, add_loaded_findings
from modelport.analyze import analyze as analyze_spec
from modelport.convert.base import Artifact, ExportOptions
from modelport.errors import EXIT_PARITY, EXIT_UNSUPPORTED, ModelportError, OutputError, UnsupportedTargetError, stage
from modelport.io import Staging, check_outputs, remove_path, sha256_path
from modelport.spec import ModelSpec


@dataclass
class LoadOptions:
    """How to read the model file; the trust flags are explicit opt-ins recorded in the manifest."""

    architecture: str | Path | None = None  # Keras to_json() file, for weights-only .h5 files
    trust_code: bool = False  # allow Lambda layers (runs their Python code)
    custom_objects: str | Path | None = None  # a .py file defining custom layer classes
    trust_types: tuple[str, ...] = ()  # types a .skops file may build beyond scikit-learn's and numpy's

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
    repairs: list[str] = field(default_factory=list)  # names of the config repair rules loading applied


def source(model: str | Path, options: LoadOptions | None = None) -> Any:
    """The file as a ``modelport.sources.Source`` (a Keras file or a scikit-learn pipeline, by its bytes)."""
    from modelport.sources import open_source

    return open_source(model, options or LoadOptions())


def read_spec(model: str | Path, options: LoadOptions | None = None) -> ModelSpec:
    """The model's spec from the file alone (no TensorFlow, no code from the file)."""
    return source(model, options).read_spec()


def load(model: str | Path, options: LoadOptions | None = None, **kwargs: Any):
    """Load a model file safely; returns a loaded model with ``.model``, ``.spec`` and ``.warnings``."""
    return source(model, options or LoadOptions(**kwargs)).load()


def analyze(model: str | Path, to: str | Sequence[str] | None = None,
            options: LoadOptions | None = None, *, pmml_max_size: str | int | None = None,
            sequence_length: int | None = None, pmml_backend: str | None = None,
            preprocess: str | Path | None = None) -> Analysis:
    """Every layer's verdict for every requested target (default: all), without TensorFlow.

    Only the config is read and no code in the file runs, so a model with Lambda layers is analysed
    too (``safety_note`` says what ``convert`` would need for it); a class Keras does not ship
    cannot be analysed and is refused as ``convert`` refuses it, unless supplied. With ``preprocess``
    (a fitted scikit-learn transformer in front of a Keras model), each target also says whether it can hold it."""
    targets, _ = registry.parse_targets(to or "all")
    origin = source(model, options)
    origin.check_analysable()
    export_options = _export_options(pmml_max_size, sequence_length, pmml_backend=pmml_backend)
    if preprocess is not None:
        from modelport.compose.pipeline import analyze as analyze_composed
        from modelport.compose.source import read_preprocessing

        opts = options or LoadOptions()
        prep = read_preprocessing(preprocess, opts.trust_code, opts.trust_types)
        return analyze_composed(origin.read_spec(), prep, targets, export_options)
    return analyze_spec(origin.read_spec(), targets, export_options)


def _export_options(pmml_max_size: str | int | None, sequence_length: int | None, **kwargs: Any) -> ExportOptions:
    from modelport.convert.pmml.budget import parse_size

    return ExportOptions(pmml_max_size=parse_size(pmml_max_size), sequence_length=sequence_length, **kwargs)


def check_analysable(model: str | Path, options: LoadOptions | None = None) -> None:
    """Refuse a file that cannot be read safely even for analysis (Keras: classes Keras does not ship;
    a Lambda is fine, its code runs only when the model is built. scikit-learn: untrusted types, pickles)."""
    source(model, options).check_analysable()


def safety_note(model: str | Path, options: LoadOptions | None = None) -> str | None:
    """Why ``convert`` would refuse this file without an opt-in (Lambda, custom classes), or None."""
    return source(model, options).safety_note()


def inspect(path: str | Path, options: LoadOptions | None = None) -> dict[str, Any]:
    """Signature and facts of a model file or an artifact (TensorFlow only for pb/ckpt/SavedModel)."""
    from modelport.inspecting import inspect_path

    with stage("inspect", Path(path).name):
        return inspect_path(Path(path), options or LoadOptions())


def _artifact_name(stem: str, target: str, suffix: str) -> str:
    return f"{stem}{suffix}" if suffix else f"{stem}_{target}"


def _check_values(spec: ModelSpec, targets: list[str], opset: int | None, class_labels: Any, feature_names: Any,
                  validate_options: dict[str, Any]) -> None:
    """Options that cannot apply are refused before any work, rather than silently ignored."""
    from modelport.errors import BadInputError

    if opset is not None:
        from modelport.convert.onnx import onnxruntime_max_opset

        if "onnx" not in targets:
            raise BadInputError(f"--opset applies to onnx, which is not among the targets ({', '.join(targets)})",
                                "add onnx to --to, or leave --opset out")
        if not 7 <= opset <= onnxruntime_max_opset():
            raise BadInputError(f"ONNX opset {opset} is not supported here",
                                f"choose an opset from 7 to {onnxruntime_max_opset()} (onnxruntime's highest)")
    for given, flag in ((class_labels, "--class-labels"), (feature_names, "--feature-names")):
        if given and spec.kind == "sklearn":  # the pipeline's own classes_ and feature_names_in_ name them
            raise BadInputError(f"{flag} applies to Keras models: a scikit-learn pipeline's PMML takes its names "
                                "from the fitted estimator (classes_, feature_names_in_)", f"leave {flag} out")
        if given and "pmml" not in targets:
            raise BadInputError(f"{flag} applies to pmml, which is not among the targets ({', '.join(targets)})",
                                f"add pmml to --to, or leave {flag} out")
    tolerance = validate_options.get("tolerance")
    if tolerance is not None:
        from modelport.validators.tolerance import check_names

        check_names(tolerance, [t.name for t in spec.outputs])


def _select_targets(analysis: Analysis, targets: list[str], is_all: bool) -> tuple[list[str], dict[str, list[str]]]:
    """With `all`, drop targets that cannot express the model; otherwise any such target stops the run."""
    bad = {t: [f"cannot express {f.layer} ({f.class_name}): {f.reason}" for f in analysis.unsupported(t)]
           for t in targets}
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
            trust_types: Sequence[str] = (), pmml_backend: str | None = None,
            class_labels: Sequence[str] | None = None, feature_names: Sequence[str] | None = None,
            pmml_max_size: str | int | None = None, sequence_length: int | None = None,
            preprocess: str | Path | None = None,
            progress: Callable[[str, int, int], None] | None = None, **validate_options: Any) -> ConversionResult:
    """Convert a model file (Keras, or a scikit-learn pipeline) to each target; write the manifest; validate
    parity (default on).

    Nothing is written when a requested target cannot express the model (exit 3) or an output
    exists without ``force``; artifacts are built in a staging directory and renamed into place.
    ``progress(step, done, total)`` is told what is happening; ``validate_options`` go to
    ``modelport.validators.validate_artifacts`` (data, tolerance, runtimes, ...).
    ``preprocess``: a fitted scikit-learn transformer (.skops) to put in front of the model: onnx and
    pmml then take its raw columns (``modelport.compose``, docs/preprocessing.md).
    """
    if preprocess is not None:
        from modelport.compose.pipeline import convert as convert_composed

        return convert_composed(model, preprocess, to, out_dir, opset=opset, force=force, architecture=architecture,
                                trust_code=trust_code, custom_objects=custom_objects, validate=validate,
                                trust_types=trust_types, class_labels=class_labels, feature_names=feature_names,
                                pmml_max_size=pmml_max_size, sequence_length=sequence_length, progress=progress, **validate_options)
    started = time.time()

    def say(step: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(step, done, total)

    options = LoadOptions(architecture, trust_code, custom_objects, tuple(trust_types))
    model_path = Path(model)
    targets, is_all = registry.parse_targets(to)
    origin = source(model_path, options)
    spec = origin.read_spec()
    _check_values(spec, targets, opset, class_labels, feature_names, validate_options if validate else {})
    export_options = _export_options(pmml_max_size, sequence_length, opset=opset, pmml_backend=pmml_backend,
                                     class_labels=list(class_labels) if class_labels else None,
                                     feature_names=list(feature_names) if feature_names else None)
    analysis = analyze_spec(spec, targets, export_options)
    targets, skipped = _select_targets(analysis, targets, is_all)
    out = Path(out_dir) if out_dir is not None else Path(f"{model_path.stem}-modelport")
    converters = {t: registry.get(t, spec.kind) for t in targets}
    names = {t: _artifact_name(model_path.stem, t, c.suffix) for t, c in converters.items()}
    source_sha256 = sha256_path(model_path)
    previous = _previous_manifest(out)
    replacing = _check_source(out, previous, model_path.name, source_sha256, force)
    check_outputs(out, list(names.values()), force)

    if opset is not None and "onnx" in converters:  # an impossible --opset stops the run before any work
        from modelport.convert.onnx import check_opset

        check_opset(opset)
    steps = len(converters) + 1  # loading, then each target; validation reports its own steps
    say(f"loading {model_path.name}", 0, steps)
    loaded = origin.load()
    if validate:  # a second reading of the file must compute what the loaded model computes
        say("checking the loaded model against a second reader", 0, steps)
        origin.check_references(loaded, validate_options)
    # what only the weights show (non-finite values, shapes, sizes): judged before anything is written
    add_loaded_findings(analysis, loaded.model, loaded.spec, list(converters))
    targets, skipped_after_load = _select_targets(analysis, list(converters), is_all)
    skipped.update(skipped_after_load)
    converters = {t: converters[t] for t in targets}
    artifacts: list[Artifact] = []
    parity = None
    with Staging(out) as staging:
        for i, (target, converter) in enumerate(converters.items(), start=1):
            say(f"converting to {target}", i, steps)
            try:
                artifacts.append(_export(converter, loaded, staging.path(names[target]), export_options))
            except ModelportError as e:  # with `all`, a target that cannot be produced is skipped, not fatal
                if not is_all or e.exit_code != EXIT_UNSUPPORTED:
                    raise
                remove_path(staging.path(names[target]))
                skipped[target] = [e.message]
            release()  # what a converter freed goes back to the OS before the next one allocates
        origin.after_export(loaded)  # e.g. the frozen graphs hold a copy of every weight: not needed to validate
        release()
        if validate and artifacts:
            say("validating parity")
            run_options = {"progress": progress, **validate_options}
            if run_options.get("runtimes"):  # one --runtimes list for every target: ignore those for others
                run_options["runtimes"] = _serving(run_options["runtimes"], artifacts)
            with stage("validate", ", ".join(a.path.name for a in artifacts), exit_code=EXIT_PARITY):
                parity = _validate_staged(loaded, artifacts, staging.root, run_options)
            parity.inputs["references"] = origin.reference_summary(loaded)
        for artifact in artifacts:
            artifact.path = staging.commit(names[artifact.format], force=force)
            if artifact.details.get("external_data"):  # ONNX weights beyond protobuf's 2 GB
                staging.commit(artifact.details["external_data"], force=force)
        if parity is not None and parity.golden_path is not None:
            staging.commit(Path(parity.golden_path).name, force=True)  # golden inputs/outputs for the gate
        if replacing:  # --force onto another model's folder: its artifacts go, the set is this run's
            _remove_previous(out, previous, keep=[a.path for a in artifacts], golden_written=parity is not None)
            previous = None
    extra = parity.manifest_fields() if parity is not None else _kept_golden(previous)
    document = manifest_io.build(
        source={"path": model_path.name, "sha256": source_sha256, **origin.manifest_fields(loaded, validate)},
        model=loaded.spec.summary(), analysis=_portable(analysis.to_dict(), model_path), artifacts=artifacts, out_dir=out,
        previous=previous, extra=extra,
        run={"created_unix": round(started), "seconds": round(time.time() - started, 3)},
    )
    path = manifest_io.write(document, out)
    return ConversionResult(artifacts, path, analysis, skipped, parity, list(loaded.warnings), list(loaded.spec.repairs))


def _serving(runtimes: Sequence[str], artifacts: list[Artifact]) -> list[str]:
    """The requested runtimes that run one of the artifacts (all of them if none does: that error stays)."""
    from modelport.runtimes import RUNTIMES_FOR_FORMAT

    served = {r for a in artifacts for r in RUNTIMES_FOR_FORMAT.get(a.format, [])}
    return [r for r in runtimes if r in served] or list(runtimes)


def _export(converter: Any, loaded: Any, dest: Path, options: ExportOptions) -> Artifact:
    """One target; a dependency failing here means the target cannot express the model as modelport
    produces it (exit 3; skipped under `all`)."""
    with stage("convert", dest.name, exit_code=EXIT_UNSUPPORTED, layers=[(la.name, la.class_name) for la in loaded.spec.layers],
               hint=f"convert to another target, or run with --debug and report it if {converter.target} should work"):
        artifact = converter.export(loaded.model, loaded.spec, dest, options)
        artifact.sha256 = sha256_path(artifact.path)
    return artifact


def check_references(loaded: Any, validate_options: dict[str, Any]) -> None:
    """Run the second readers on the validation inputs; raises on disagreement."""
    from modelport.sources import for_loaded

    for_loaded(loaded).check_references(loaded, validate_options)


def reference_summary(loaded: Any) -> str:
    from modelport.sources import for_loaded

    return for_loaded(loaded).reference_summary(loaded)


def _portable(analysis: dict[str, Any], model_path: Path) -> dict[str, Any]:
    """The manifest names the source by file name: an absolute path would differ between runs."""
    return {**analysis, "model": model_path.name} if "model" in analysis else analysis


def _check_source(out: Path, previous: dict[str, Any] | None, name: str, sha256: str, force: bool) -> bool:
    """The manifest describes the whole folder, so one folder holds one model's artifacts. Another
    model's set is refused (exit 2) unless ``force``, which replaces it; returns whether it will."""
    source = (previous or {}).get("source") or {}
    if not previous or not source.get("sha256") or (source["sha256"] == sha256 and not source.get("preprocessing")):
        return False  # empty folder, or the same model (without a preprocessing): more targets merge into its set
    if not force:
        other = f"with the preprocessing {source['preprocessing'].get('path')}" if source.get("preprocessing") else ""
        raise OutputError(
            f"{out} holds the artifacts of another model ({source.get('path')}{' ' + other if other else ''}, "
            f"sha256 {source['sha256'][:12]}…), not of {name}{' alone' if other and source['sha256'] == sha256 else ''} "
            f"(sha256 {sha256[:12]}…)",
            "pass --force to replace that whole set, or choose another output directory with -o")
    return True


def _remove_previous(out: Path, previous: dict[str, Any] | None, keep: list[Path], golden_written: bool) -> None:
    """Remove the artifacts the previous manifest lists (and its golden file, unless this run wrote
    a new one) that this run did not replace."""
    from modelport.validators.golden import GOLDEN_NAME

    kept = {Path(p).resolve() for p in keep}
    listed = [a.get("path") for a in (previous or {}).get("artifacts", []) if a.get("path")]
    if not golden_written:
        listed.append(((previous or {}).get("golden") or {}).get("path", GOLDEN_NAME))
    for rel in listed:
        path = (out / rel).resolve()
        if path.parent == out.resolve() and path not in kept:  # only names directly in the folder
            remove_path(path)


def _kept_golden(previous: dict[str, Any] | None) -> dict[str, Any]:
    """Without validation in this run, the same model's earlier golden file and parity still hold."""
    return {k: previous[k] for k in ("golden", "parity") if previous and k in previous}


def _previous_manifest(out: Path) -> dict[str, Any] | None:
    try:
        return manifest_io.read(out)
    except Exception:  # no or unreadable earlier manifest: start afresh
        return None


def _validate_staged(loaded: Any, artifacts: list[Artifact], staging_root: Path, options: dict[str, Any]) -> Any:
    """Parity of the staged artifacts against the Keras model (modelport.validators)."""
    from modelport import validators

    return validators.validate_artifacts(loaded.model, loaded.spec, artifacts, golden_dir=staging_root, **options)


def validate(model: str | Path, artifacts: str | Path | Sequence[str | Path], *,
             preprocess: str | Path | None = None, **kwargs: Any) -> Any:
    """``preprocess``: the transformer the artifacts were converted with (``convert(preprocess=)``)."""
    if preprocess is not None:
        from modelport.compose.validate import validate_paths as validate_composed

        paths = [artifacts] if isinstance(artifacts, (str, Path)) else list(artifacts)
        return validate_composed(model, paths, preprocess, **kwargs)
    from modelport import validators

    return validators.validate_paths(model, artifacts, **kwargs)


def gate(dir_or_manifest: str | Path, **kwargs: Any) -> Any:
    from modelport.gate import run_gate

    return run_gate(dir_or_manifest, **kwargs)
