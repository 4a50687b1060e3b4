"""The gate's policy: ``modelport.toml`` or ``[tool.modelport]`` in ``pyproject.toml``.

    required_formats = ["onnx", "pmml"]     # each must be in the manifest
    atol = 1e-5                             # default tolerances for the golden re-run
    rtol = 1e-5
    max_artifact_size = "50MB"              # or bytes; per format: [max_artifact_size_per_format]
    runtimes = ["onnxruntime", "jpmml"]     # optional: limit the runtimes the gate runs

    [per_output]            # score = 1e-4  or  score = {atol = 1e-4, rtol = 0}
    [per_format]            # onnx = 1e-4   or  "onnx:score" = {atol = 1e-3}

In ``modelport.toml`` the keys may sit at the top level or under ``[tool.modelport]`` / ``[gate]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from modelport.errors import BadInputError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from modelport.validators.tolerance import DEFAULT_ATOL, DEFAULT_RTOL, Tolerance, build

KNOWN_KEYS = {"required_formats", "atol", "rtol", "per_output", "per_format", "max_artifact_size",
              "max_artifact_size_per_format", "runtimes"}
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


@dataclass
class Policy:
    required_formats: list[str] = field(default_factory=list)
    tolerance: Tolerance = field(default_factory=Tolerance)
    max_artifact_size: int | None = None
    max_size_per_format: dict[str, int] = field(default_factory=dict)
    runtimes: list[str] | None = None
    source: str | None = None  # where it was read from

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "required_formats": self.required_formats,
                "tolerance": self.tolerance.to_dict(), "max_artifact_size": self.max_artifact_size,
                "max_artifact_size_per_format": self.max_size_per_format, "runtimes": self.runtimes}


def parse_size(value: Any, where: str) -> int:
    if isinstance(value, int) and value >= 0:
        return value
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise BadInputError(f"{where}: cannot read size {value!r}", "write sizes like 50MB, 2GiB or 1048576")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def from_table(table: dict[str, Any], source: str) -> Policy:
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise BadInputError(f"{source}: unknown policy key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                            f"known keys: {', '.join(sorted(KNOWN_KEYS))}")
    try:
        tol = build(table.get("atol", DEFAULT_ATOL), table.get("rtol", DEFAULT_RTOL),
                    table.get("per_output"), table.get("per_format"))
    except (TypeError, ValueError, AttributeError) as e:
        raise BadInputError(f"{source}: bad tolerance ({e})", "tolerances are numbers like 1e-5") from None
    formats = table.get("required_formats", [])
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    size = table.get("max_artifact_size")
    return Policy(
        required_formats=[str(f).lower() for f in formats], tolerance=tol,
        max_artifact_size=parse_size(size, source) if size is not None else None,
        max_size_per_format={k: parse_size(v, source) for k, v in table.get("max_artifact_size_per_format", {}).items()},
        runtimes=list(table["runtimes"]) if table.get("runtimes") else None, source=source,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BadInputError(f"policy file {path} not found", "pass an existing modelport.toml or pyproject.toml") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path} is not valid TOML ({e})", "fix the TOML syntax") from None


def read(path: str | Path) -> Policy:
    path = Path(path)
    data = _read_toml(path)
    table = data.get("tool", {}).get("modelport")
    if table is None and path.name != "pyproject.toml":
        table = data.get("gate", {k: v for k, v in data.items() if k not in ("tool", "gate")})
    if table is None:
        raise BadInputError(f"{path} has no [tool.modelport] table", "add one, or pass a modelport.toml")
    return from_table(table, str(path))


def discover(start: str | Path) -> Policy:
    """``modelport.toml`` beside the manifest or above it, else ``[tool.modelport]`` in the nearest
    ``pyproject.toml``; no policy file means the defaults."""
    here = Path(start).resolve()
    here = here if here.is_dir() else here.parent
    for d in (here, *here.parents):
        if (d / "modelport.toml").is_file():
            return read(d / "modelport.toml")
        pyproject = d / "pyproject.toml"
        if pyproject.is_file() and "modelport" in _read_toml(pyproject).get("tool", {}):
            return read(pyproject)
    return Policy(source=None)
