"""From what a user types (``modelport validate MODEL OUT_DIR_OR_ARTIFACTS...``) to Artifacts.

An output directory or a ``modelport.json`` gives every artifact it lists, with the signature and
graph tensor names the converter recorded. A single artifact is looked up in the manifest beside
it; ONNX, PMML and SavedModel files without a manifest are described from the file itself (a pb or
checkpoint needs its manifest: its tensor names are not guessed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.errors import BadInputError

MANIFEST_NAME = "modelport.json"


def _from_manifest(path: Path) -> list[Any]:
    from modelport import manifest as mf

    data = mf.read(path)
    return mf.artifacts(data, mf.manifest_path(path).parent)


def _beside(path: Path) -> Any | None:
    manifest = path.parent / MANIFEST_NAME
    if not manifest.is_file():
        return None
    for artifact in _from_manifest(manifest):
        if Path(artifact.path).resolve() == path.resolve():
            return artifact
    return None


def _onnx_signature(path: Path, spec: Any) -> tuple[list, list]:
    import onnx

    from modelport.spec import TensorSpec

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as e:  # a protobuf DecodeError or an OSError
        raise BadInputError(f"{path} is not a readable ONNX model ({type(e).__name__})", "pass a .onnx file") from None
    initializers = {i.name for i in graph.initializer}

    def specs(values):
        out = []
        for v in values:
            if v.name in initializers:
                continue
            dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim)
            out.append(TensorSpec(v.name, dims))
        return out

    return specs(graph.input), specs(graph.output)


def describe_file(path: Path, spec: Any) -> Any:
    from modelport.convert.base import Artifact
    from modelport.io import sha256_path

    found = _beside(path)
    if found is not None:
        return found
    if path.suffix == ".onnx":
        inputs, outputs = _onnx_signature(path, spec)
        fmt, details = "onnx", {}
    elif path.suffix in (".pmml", ".xml"):
        inputs, outputs, fmt, details = list(spec.inputs), list(spec.outputs), "pmml", {}
    elif path.is_dir() and (path / "saved_model.pb").is_file():
        inputs, outputs, fmt = list(spec.inputs), list(spec.outputs), "savedmodel"
        details = {"signature": "serving_default", "tag": "serve"}
    else:
        raise BadInputError(f"cannot tell which artifact {path} is without its {MANIFEST_NAME}",
                            "pass the output directory of `modelport convert` (it holds the manifest)")
    return Artifact(path=path, format=fmt, inputs=inputs, outputs=outputs, sha256=sha256_path(path), details=details)


def artifacts_from_paths(paths: list[str | Path], spec: Any) -> tuple[list[Any], Path | None]:
    """Artifacts named by ``paths`` and the directory report paths are relative to."""
    out: list[Any] = []
    bases: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise BadInputError(f"{path} does not exist", "pass an output directory, a modelport.json or artifact files")
        if path.is_dir() and (path / MANIFEST_NAME).is_file():
            out += _from_manifest(path)
            bases.append(path)
        elif path.name == MANIFEST_NAME or (path.suffix == ".json" and path.is_file()):
            out += _from_manifest(path)
            bases.append(path.parent)
        else:
            out.append(describe_file(path, spec))
            bases.append(path.parent)
    if not out:
        raise BadInputError("no artifacts to validate", "run `modelport convert` first")
    base = bases[0] if bases and all(b.resolve() == bases[0].resolve() for b in bases) else None
    return out, base


def validate_paths(model: str | Path, artifacts: str | Path | list[str | Path], *, load_options: Any = None,
                   formats: list[str] | None = None, **kwargs: Any) -> Any:
    """Load the Keras ``model`` file and validate the artifacts named by ``artifacts``."""
    from modelport.validators.parity import validate_artifacts

    paths = [artifacts] if isinstance(artifacts, (str, Path)) else list(artifacts)
    if not Path(model).exists():
        raise BadInputError(f"{model} does not exist", "pass the Keras model file the artifacts came from")
    from modelport import api

    loaded = api.load(model, load_options) if load_options is not None else api.load(model)
    found, base = artifacts_from_paths(paths, loaded.spec)
    if formats:
        found = [a for a in found if a.format in formats]
        if not found:
            raise BadInputError(f"no artifact of format {', '.join(formats)} given", "check --format")
    api.check_references(loaded, kwargs)
    kwargs.setdefault("base", base)
    report = validate_artifacts(loaded.model, loaded.spec, found, **kwargs)
    report.inputs["references"] = api.reference_summary(loaded)
    report.problems += _weights_changed(paths, loaded)
    return report


def _weights_changed(paths: list[str | Path], loaded: Any) -> list[str]:
    """Artifacts named through a manifest: the model file's weights must be those converted."""
    from modelport import manifest as mf
    from modelport.loading import weights_changed

    problems = []
    for raw in paths:
        path = Path(raw)
        if (path.is_dir() and (path / MANIFEST_NAME).is_file()) or path.name == MANIFEST_NAME:
            problem = weights_changed(mf.read(path), loaded.audit, require=False)  # older manifests: no digest
            if problem:
                problems.append(problem)
    return problems
