"""The CI gate: prove that the artifacts in a manifest are the ones validated, and still compute
what the Keras model computed, without the Keras file.

1. every artifact is re-hashed (a missing or changed artifact fails),
2. the policy is enforced (required formats, maximum sizes),
3. every artifact is re-run on the golden inputs against the golden Keras outputs.
Exit codes via the error family: 0 pass, 1 fail (ParityError), 2 bad input.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError
from modelport.validators.results import ParityReport


def gate(dir_or_manifest: str | Path, *, policy: str | Path | None = None, runtimes: list[str] | None = None,
         progress: Callable[[str, int, int], None] | None = None, strict: bool = False,
         require_runtimes: bool = False, model: str | Path | None = None) -> ParityReport:
    """Run the gate; the report is truthy when it passes (``report.problems`` lists integrity and
    policy failures, ``report.results`` the golden re-run).

    Artifact-like files in the folder that the manifest does not list are named in
    ``report.warnings``, and are problems with ``strict``. A runtime that cannot run here is skipped
    with its reason; ``require_runtimes`` makes each such skip a problem. With ``model`` (the Keras
    file), its stored weights must be the ones converted (digest in the manifest; read without TensorFlow)."""
    from modelport import manifest as mf
    from modelport.convert.base import Artifact
    from modelport.io import sha256_path
    from modelport.validators import golden
    from modelport.validators import policy as pol

    path = mf.manifest_path(dir_or_manifest)
    if not Path(dir_or_manifest).exists():
        raise BadInputError(f"{dir_or_manifest} does not exist", "pass the output directory of `modelport convert`")
    data = mf.read(path)
    base = path.parent
    rules = pol.read(policy) if policy else pol.discover(base)
    outputs = [o.get("name") for o in (data.get("model") or {}).get("outputs", [])]
    if outputs:  # a misspelt output or format in the policy would silently leave the default in force
        from modelport.validators.tolerance import check_names

        check_names(rules.tolerance, outputs, where=f"policy {rules.source}")
        unknown = [f for f in rules.required_formats if f not in ("savedmodel", "pb", "ckpt", "onnx", "pmml")]
        if unknown:
            raise BadInputError(f"policy {rules.source}: unknown required format {', '.join(map(repr, unknown))}",
                                "formats: savedmodel, pb, ckpt, onnx, pmml")
    try:
        artifacts = [Artifact.from_dict(a, base) for a in data.get("artifacts", [])]
    except (KeyError, TypeError) as e:
        raise BadInputError(f"{path}: malformed artifact entry ({e})", "re-run `modelport convert`") from None
    if not artifacts:
        raise BadInputError(f"{path} lists no artifacts", "run `modelport convert` with --to")

    problems: list[str] = []
    present = []
    for a in artifacts:
        rel = _rel(a.path, base)
        if not a.path.exists():
            problems.append(f"{rel}: artifact is missing")
            continue
        digest = sha256_path(a.path)
        if not a.sha256:
            problems.append(f"{rel}: manifest records no sha256")
        elif digest != a.sha256:
            problems.append(f"{rel}: artifact changed (sha256 {digest[:12]}… != manifest {a.sha256[:12]}…)")
        size = _size(a.path)
        limit = rules.max_size_per_format.get(a.format, rules.max_artifact_size)
        if limit is not None and size > limit:
            problems.append(f"{rel}: {size} bytes exceeds the policy's maximum of {limit} bytes")
        present.append(a)
    formats = {a.format for a in artifacts}
    for fmt in rules.required_formats:
        if fmt not in formats:
            problems.append(f"required format '{fmt}' is not in the manifest")

    golden_entry = data.get("golden") or {}
    golden_path = base / golden_entry.get("path", golden.GOLDEN_NAME)
    if not golden_path.is_file():
        raise BadInputError(f"golden file {golden_path} is missing",
                            "re-run `modelport convert` (with validation) to write it")
    if golden_entry.get("sha256") and sha256_path(golden_path) != golden_entry["sha256"]:
        problems.append(f"{_rel(golden_path, base)}: golden file changed since convert")
    if model is not None:
        from modelport.loading import weights_changed, weights_digest

        if not Path(model).is_file():
            raise BadInputError(f"{model} does not exist", "pass the Keras model file the artifacts came from")
        changed = weights_changed(data, weights_digest(model))
        if changed:
            problems.append(f"{Path(model).name}: {changed}")

    report = golden.check_golden(present, golden_path, tolerance=rules.tolerance,
                                 runtimes=_serving(runtimes, present) or rules.runtimes, classifiers=_classifiers(data),
                                 progress=progress, base=base)
    report.model = str(path)
    unlisted = [f"{name}: an artifact-like file the manifest does not list (not checked)"
                for name in unlisted_artifacts(base, [a.path for a in artifacts] + [golden_path])]
    problems += unlisted if strict else []
    report.warnings += [] if strict else unlisted
    if require_runtimes:
        problems += [f"{r.artifact} ({r.runtime}): runtime required but skipped: {r.skipped}"
                     for r in report.results if r.skipped]
    elif report.results and all(r.skipped for r in report.results):
        reasons = sorted({f"{r.runtime}: {r.skipped}" for r in report.results})
        problems.append(f"no artifact could be checked here, every runtime was skipped ({'; '.join(reasons)})")
    report.problems = problems
    report.inputs["policy"] = rules.to_dict()
    return report


ARTIFACT_SUFFIXES = (".onnx", ".pb", ".pmml")


def unlisted_artifacts(base: Path, listed: list[Path]) -> list[str]:
    """Names in ``base`` that look like modelport artifacts (.onnx, .pb, .pmml files; SavedModel,
    checkpoint and PMML folders) and are not in ``listed``: left by another run, or added by hand."""
    from modelport.io import TMP_PREFIX

    known = {Path(p).resolve() for p in listed}
    found = []
    for entry in sorted(base.iterdir()):
        if entry.name.startswith(TMP_PREFIX) or entry.resolve() in known:
            continue
        if entry.is_file() and entry.suffix.lower() in ARTIFACT_SUFFIXES:
            found.append(entry.name)
        elif entry.is_dir() and _artifact_folder(entry):
            found.append(entry.name + "/")
    return found


def _artifact_folder(path: Path) -> bool:
    names = {p.name for p in path.iterdir()}
    return ("saved_model.pb" in names or "checkpoint" in names or any(n.endswith((".index", ".meta")) for n in names)
            or any(n.endswith(".pmml") for n in names))


def _serving(runtimes: list[str] | None, artifacts: list[Any]) -> list[str] | None:
    """Runtimes given as a preference (``$MODELPORT_RUNTIMES``) that run none of the artifacts are
    dropped; ones given on the command line stay (naming a useless one is an error)."""
    if not runtimes or type(runtimes) is list:
        return runtimes
    from modelport.runtimes import RUNTIMES_FOR_FORMAT

    served = {r for a in artifacts for r in RUNTIMES_FOR_FORMAT.get(a.format, [])}
    return [r for r in runtimes if r in served] or None


def _classifiers(manifest: dict[str, Any]) -> set[str]:
    parity = manifest.get("parity") or {}
    return {o["output"] for r in parity.get("results", []) for o in r.get("outputs", [])
            if o.get("argmax_agreement") is not None}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def run_gate(dir_or_manifest: str | Path, **kwargs: Any) -> ParityReport:
    """``api.gate`` entry point: the same as ``gate``."""
    return gate(dir_or_manifest, **kwargs)


class _CallableModule(types.ModuleType):
    """``modelport.gate`` is both this module and the public ``gate()`` function: importing the module
    (``from modelport.gate import gate``, as the CLI does) binds its name on ``modelport``, shadowing
    the lazy attribute, so calling the module runs the gate."""

    def __call__(self, *args: Any, **kwargs: Any) -> ParityReport:
        return gate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
