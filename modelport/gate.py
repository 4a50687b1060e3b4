"""The CI gate: prove that the artifacts in a manifest are the ones validated, and still compute
what the Keras model computed, without the Keras file.

1. every artifact is re-hashed (a missing or changed artifact fails),
2. the policy is enforced (required formats, maximum sizes),
3. every artifact is re-run on the golden inputs against the golden Keras outputs.
Exit codes via the error family: 0 pass, 1 fail (ParityError), 2 bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError
from modelport.validators.results import ParityReport


def gate(dir_or_manifest: str | Path, *, policy: str | Path | None = None, runtimes: list[str] | None = None,
         progress: Callable[[str, int, int], None] | None = None, model: str | Path | None = None) -> ParityReport:
    """Run the gate; the report is truthy when it passes (``report.problems`` lists integrity and
    policy failures, ``report.results`` the golden re-run). With ``model`` (the Keras file), its
    stored weights must be the ones converted (digest in the manifest; read without TensorFlow)."""
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
                                 runtimes=runtimes or rules.runtimes, classifiers=_classifiers(data),
                                 progress=progress, base=base)
    report.model = str(path)
    report.problems = problems
    report.inputs["policy"] = rules.to_dict()
    return report


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
