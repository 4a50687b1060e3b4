"""Sizes as people read them (the CLI's tables, the PMML budget's messages)."""

from __future__ import annotations


def human_size(n: float) -> str:
    """1536 -> '1.5 KB' (binary multiples, as `ls -h` and the memory figures in docs/ use)."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
