"""Which runtimes validate which artifact, and whether each one can run on this machine.

``modelport.runtimes.RUNTIMES_FOR_FORMAT`` names them; two run outside Python and join only when
the machine has what they need: the TensorFlow C API program (``tf_c_api``, needs gcc) for
SavedModel and pb, and a plain JVM (``java``) for PMML. When one cannot run, the report says so and
why; when the user asked for it by name, that is an error.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from modelport.errors import BadInputError
from modelport.runtimes import RUNTIME_MODULES, RUNTIMES_FOR_FORMAT, RUNTIMES_ON_REQUEST


def module_for(runtime: str) -> str | None:
    return RUNTIME_MODULES.get(runtime)


def all_runtimes() -> list[str]:
    return [r for r in RUNTIME_MODULES if r != "keras"]


def runtimes_for(fmt: str, requested: list[str] | None = None) -> list[str]:
    """The format's runtimes, plus the on-request ones (spark) when ``requested`` names them."""
    extra = [r for r in requested or [] if fmt in RUNTIMES_ON_REQUEST.get(r, ())]
    return list(RUNTIMES_FOR_FORMAT.get(fmt, [])) + extra


def unavailable(runtime: str) -> str | None:
    """Why ``runtime`` cannot run here, or None. Cheap: never imports the engine itself."""
    name = module_for(runtime)
    if name is None:
        return f"unknown runtime '{runtime}'"
    if importlib.util.find_spec(name) is None:
        return f"runtime module {name} is not installed"
    module = importlib.import_module(name)
    check = getattr(module, "unavailable", None)
    return check() if callable(check) else None


def cannot_run(runtime: str, artifact: Any) -> str | None:
    """Why an available runtime cannot run this artifact (e.g. string inputs), or None."""
    check = getattr(importlib.import_module(module_for(runtime)), "cannot_run", None)  # type: ignore[arg-type]
    return check(artifact) if callable(check) else None


def load(runtime: str, artifact: Any) -> Any:
    return importlib.import_module(module_for(runtime)).load(artifact)  # type: ignore[arg-type]


@dataclass
class Planned:
    artifact: Any
    runtime: str
    skipped: str | None = None


def plan(artifacts: list[Any], requested: list[str] | None = None) -> list[Planned]:
    """(artifact, runtime) pairs to run. ``requested`` limits the runtimes; each must exist and run."""
    if requested:
        known = all_runtimes()
        unknown = [r for r in requested if r not in known]
        if unknown:
            raise BadInputError(f"unknown runtime {', '.join(repr(u) for u in unknown)}",
                                f"choose from {', '.join(known)}")
        for runtime in requested:
            reason = unavailable(runtime)
            if reason:
                raise BadInputError(f"runtime '{runtime}' is not available: {reason}",
                                    "install it or leave it out of --runtimes")
        served = {r for a in artifacts for r in runtimes_for(a.format, requested)}
        useless = [r for r in requested if r not in served]
        if useless:
            raise BadInputError(f"runtime {', '.join(repr(u) for u in useless)} runs none of the artifacts given",
                                f"formats given: {', '.join(sorted({a.format for a in artifacts}))}")
    reasons: dict[str, str | None] = {}
    out = []
    for artifact in artifacts:
        candidates = runtimes_for(artifact.format, requested)
        if not candidates:
            raise BadInputError(f"no runtime can run format '{artifact.format}' ({artifact.path})",
                                "validate savedmodel, pb, ckpt, onnx or pmml artifacts")
        for runtime in candidates:
            if requested and runtime not in requested:
                continue
            if runtime not in reasons:
                reasons[runtime] = unavailable(runtime)
            out.append(Planned(artifact, runtime, reasons[runtime] or cannot_run(runtime, artifact)))
    return out
