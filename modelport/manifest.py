"""``modelport.json``: what was converted, from what, by which libraries, and how well it matched.

Fields under ``run`` (creation time, durations, host) are run-specific and documented as such;
everything else is identical when the same model is converted twice with the same libraries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact
from modelport.errors import BadInputError
from modelport.io import write_bytes_atomic

MANIFEST_NAME = "modelport.json"
FORMAT_VERSION = 1
RUN_SPECIFIC_FIELDS = ("run",)  # keys whose values differ between otherwise identical runs


def manifest_path(dir_or_file: str | Path) -> Path:
    p = Path(dir_or_file)
    return p / MANIFEST_NAME if p.is_dir() else p


def read(dir_or_file: str | Path) -> dict[str, Any]:
    path = manifest_path(dir_or_file)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInputError(f"{path}: no manifest here", "run `modelport convert` first, or pass the output directory") from None
    except (ValueError, UnicodeDecodeError):
        raise BadInputError(f"{path} is not a valid modelport manifest (bad JSON)", "re-run `modelport convert`") from None
    if not isinstance(data, dict) or "artifacts" not in data:
        raise BadInputError(f"{path} is not a modelport manifest", "pass the modelport.json written by `convert`")
    return data


def source_mismatch(model: str | Path, paths: list[str | Path]) -> str | None:
    """When ``model`` is not the file the manifest among ``paths`` was written for, say so."""
    from modelport.io import sha256_path

    for raw in paths:
        path = manifest_path(raw)
        if path.name != MANIFEST_NAME or not path.is_file() or not Path(model).is_file():
            continue
        try:
            source = read(path).get("source") or {}
        except BadInputError:
            return None  # validation itself reports an unreadable manifest
        digest = sha256_path(Path(model))
        if source.get("sha256") and source["sha256"] != digest:
            return (f"{Path(model).name} (sha256 {digest[:12]}…) is not the file {path.parent} was converted from "
                    f"({source.get('path')}, sha256 {source['sha256'][:12]}…): differences below may be that")
    return None


def artifacts(manifest: dict[str, Any], base: Path) -> list[Artifact]:
    return [Artifact.from_dict(a, base) for a in manifest.get("artifacts", [])]


def build(*, source: dict[str, Any], model: dict[str, Any], analysis: dict[str, Any] | None,
          artifacts: list[Artifact], out_dir: Path, previous: dict[str, Any] | None = None,
          extra: dict[str, Any] | None = None, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """A manifest for this run; artifacts of other formats from an earlier run of the same source stay."""
    from modelport._version import __version__

    entries = {a.format: a.to_dict(relative_to=out_dir) for a in artifacts}
    if previous and previous.get("source", {}).get("sha256") == source.get("sha256"):
        for old in previous.get("artifacts", []):
            entries.setdefault(old["format"], old)
    data = {
        "format_version": FORMAT_VERSION,
        "modelport_version": __version__,
        "source": source,
        "model": model,
        "analysis": analysis,
        "artifacts": sorted(entries.values(), key=lambda a: a["format"]),
    }
    data.update(extra or {})
    data["run"] = run or {}
    return data


def write(manifest: dict[str, Any], out_dir: Path) -> Path:
    path = Path(out_dir) / MANIFEST_NAME
    write_bytes_atomic(path, (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode())
    return path
