"""``--custom-objects module.py``: the user's explicit opt-in to run their own classes.

The file is imported (that runs it: this is the opt-in), and every class and function it defines is
offered to the loader by name. A module may instead define a ``custom_objects`` dict to choose names.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError


def load_custom_objects(spec: str | Path | dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(objects, record)``: the name -> object mapping and what the manifest records."""
    if spec is None:
        return {}, {}
    if isinstance(spec, dict):
        return dict(spec), {"custom_objects": sorted(spec)}
    path = Path(spec)
    if not path.is_file() or path.suffix != ".py":
        raise BadInputError(f"--custom-objects {path}: not a Python file", "pass a .py file defining your classes")
    data = path.read_bytes()
    name = f"modelport_custom_{hashlib.sha256(data).hexdigest()[:12]}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise BadInputError(f"--custom-objects {path}: cannot be imported", "pass a plain .py module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # some frameworks look classes up through their module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # the user's code: report its failure as their input problem
        sys.modules.pop(name, None)
        raise BadInputError(
            f"--custom-objects {path}: importing it failed: {type(e).__name__}: {e}", "fix that module"
        ) from None
    explicit = getattr(module, "custom_objects", None)
    if isinstance(explicit, dict):
        objects = dict(explicit)
    else:
        objects = {
            n: o
            for n, o in vars(module).items()
            if not n.startswith("_")
            and (inspect.isclass(o) or inspect.isfunction(o))
            and getattr(o, "__module__", None) == name
        }
    record = {
        "custom_objects": sorted(objects),
        "custom_objects_file": str(path),
        "custom_objects_sha256": hashlib.sha256(data).hexdigest(),
    }
    return objects, record
