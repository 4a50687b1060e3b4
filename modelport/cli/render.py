"""Rendering helpers shared by the commands: tables for people, JSON for machines."""

from __future__ import annotations

import json
from typing import Any


def console(stderr: bool = False):
    """A rich console; in CI logs (not a terminal) 160 columns instead of squeezing tables into 80."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False)
    return out if out.is_terminal else Console(stderr=stderr, highlight=False, width=160)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def shape_text(shape: Any) -> str:
    if shape is None:
        return "(shape unknown)"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def signature_text(tensors: list[dict[str, Any]]) -> str:
    return ", ".join(" ".join(filter(None, (t["name"], shape_text(t["shape"]) if "shape" in t else "", t.get("dtype") or "")))
                     for t in tensors)


