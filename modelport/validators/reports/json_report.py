"""The JSON report: ``ParityReport.to_dict()``; its schema is ``docs/report-schema.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from modelport.io import write_bytes_atomic


def _finite(obj: Any) -> Any:
    """JSON has no NaN/Infinity: write them as strings so every parser reads the file."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def to_json(report: Any) -> str:
    return json.dumps(_finite(report.to_dict()), indent=2, allow_nan=False) + "\n"


def write_json(report: Any, path: str | Path) -> Path:
    write_bytes_atomic(Path(path), to_json(report).encode())
    return Path(path)
