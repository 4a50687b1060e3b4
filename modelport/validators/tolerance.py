"""Tolerances: a default atol/rtol, overridden per output and per format.

An element passes when ``|actual - expected| <= atol + rtol * |expected|`` (numpy.isclose's rule).
Precedence, most specific first: output-and-format, output, format, default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import BadInputError

DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-5


@dataclass(frozen=True)
class Bound:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL

    def to_dict(self) -> dict[str, float]:
        return {"atol": self.atol, "rtol": self.rtol}


@dataclass
class Tolerance:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    # name -> {"atol": x} / {"rtol": y} (partial overrides merge onto the less specific level)
    per_output: dict[str, dict[str, float]] = field(default_factory=dict)
    per_format: dict[str, dict[str, float]] = field(default_factory=dict)

    def bound(self, output: str, fmt: str | None = None) -> Bound:
        merged = {"atol": self.atol, "rtol": self.rtol}
        for level in (self.per_format.get(fmt or "", {}), self.per_output.get(output, {})):
            merged.update(level)
        if fmt is not None:
            merged.update(self.per_format.get(f"{fmt}:{output}", {}))
        return Bound(float(merged["atol"]), float(merged["rtol"]))

    def to_dict(self) -> dict[str, Any]:
        return {"atol": self.atol, "rtol": self.rtol,
                "per_output": self.per_output, "per_format": self.per_format}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tolerance:
        return cls(float(d.get("atol", DEFAULT_ATOL)), float(d.get("rtol", DEFAULT_RTOL)),
                   {k: dict(v) for k, v in d.get("per_output", {}).items()},
                   {k: dict(v) for k, v in d.get("per_format", {}).items()})


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadInputError(f"{what}: '{text}' is not a number", "write tolerances like 1e-5") from None
    if not value >= 0:
        raise BadInputError(f"{what}: {text} must be a non-negative number", "write tolerances like 1e-5")
    return value


def parse_overrides(values: Iterable[str] | None, kind: str) -> tuple[float | None, dict[str, float]]:
    """``["1e-4", "score=1e-3"]`` -> (default or None, {"score": 1e-3}) for ``--atol``/``--rtol``."""
    default: float | None = None
    named: dict[str, float] = {}
    for item in values or ():
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if "=" in part:
                name, _, num = part.partition("=")
                if not name.strip():
                    raise BadInputError(f"--{kind} {part}: no name before '='",
                                        f"write --{kind} 1e-4, or --{kind} OUTPUT=1e-4 / FORMAT=1e-4")
                named[name.strip()] = _number(num.strip(), f"--{kind} {name.strip()}")
            else:
                if default is not None:
                    raise BadInputError(f"--{kind} gives two default values ({default:g} and {part})",
                                        f"give one default, and name the others: --{kind} OUTPUT=1e-4")
                default = _number(part, f"--{kind}")
    return default, named


def from_cli(atol: Iterable[str] | None, rtol: Iterable[str] | None,
             formats: Iterable[str] = ()) -> Tolerance:
    """Build a Tolerance from repeated ``--atol``/``--rtol`` values.

    A name that is a format (``--atol onnx=1e-4``) sets that format's bound; ``onnx:score=1e-4``
    sets one output of one format; any other name is an output.
    """
    formats = set(formats) | {"savedmodel", "pb", "ckpt", "onnx", "pmml"}
    tol = Tolerance()
    for kind, values in (("atol", atol), ("rtol", rtol)):
        default, named = parse_overrides(values, kind)
        if default is not None:
            setattr(tol, kind, default)
        for name, value in named.items():
            table = tol.per_format if name in formats or ":" in name else tol.per_output
            table.setdefault(name, {})[kind] = value
    return tol


def check_names(tol: Tolerance, outputs: Iterable[str], where: str = "--atol/--rtol",
                formats: Iterable[str] = ("savedmodel", "pb", "ckpt", "onnx", "pmml")) -> None:
    """Every name in a tolerance is one of the model's outputs or a format (``onnx:score``: both);
    a typo would otherwise silently leave the default in force."""
    outputs, formats = list(outputs), list(formats)
    wrong = [name for name in tol.per_output if name not in outputs]
    for key in tol.per_format:
        fmt, _, out = key.partition(":")
        if fmt not in formats or (out and out not in outputs):
            wrong.append(key)
    if wrong:
        raise BadInputError(f"{where}: {', '.join(repr(w) for w in wrong)} names no output or format of this model",
                            f"outputs: {', '.join(outputs)}; formats: {', '.join(formats)}")


def from_options(options: dict[str, Any]) -> Tolerance:
    """The tolerance of a run's validate options: a built one as given, else from atol/rtol/per_*."""
    return options.get("tolerance") or build(options.get("atol", DEFAULT_ATOL), options.get("rtol", DEFAULT_RTOL),
                                             options.get("per_output"), options.get("per_format"))


def build(atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, per_output: dict | None = None,
          per_format: dict | None = None) -> Tolerance:
    """Accept per-output/per-format values as ``{"x": 1e-4}`` (atol) or ``{"x": {"atol":..,"rtol":..}}``."""
    def norm(table: dict | None) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for k, v in (table or {}).items():
            out[k] = dict(v) if isinstance(v, dict) else {"atol": float(v)}
        return out

    return Tolerance(float(atol), float(rtol), norm(per_output), norm(per_format))
