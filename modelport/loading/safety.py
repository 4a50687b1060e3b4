"""Safe mode: find everything in a saved config that would run code, before any loader sees it.

Walks the whole config recursively (nested models, wrappers, initializers...) and reports:
Lambda layers (marshalled bytecode or a named function), class names Keras does not ship, ``module``
keys outside Keras, ``registered_name`` with a package prefix, and custom classes whose name collides
with a built-in. No TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modelport.errors import UnsafeModelError
from modelport.loading.builtin_classes import BUILTIN_CLASSES
from modelport.loading.keras1 import KERAS1_CLASSES

LAMBDA, CUSTOM, COLLISION, FOREIGN_MODULE = "lambda", "custom-class", "name-collision", "foreign-module"
SAFE_MODULE_ROOTS = ("keras", "tf_keras", "builtins")
# classes that name a TensorFlow op by string (tf.keras functional models); no user bytecode
TF_OP_CLASSES = {"TFOpLambda", "SlicingOpLambda"}


@dataclass(frozen=True)
class Problem:
    kind: str  # LAMBDA | CUSTOM | COLLISION | FOREIGN_MODULE
    class_name: str
    where: str  # layer name, or a config path
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "class_name": self.class_name, "where": self.where, "detail": self.detail}


def _module_is_safe(module: Any) -> bool:
    if not isinstance(module, str) or not module:
        return True
    return module.split(".")[0] in SAFE_MODULE_ROOTS


def _where(obj: dict[str, Any], path: str) -> str:
    cfg = obj.get("config")
    name = obj.get("name") or (cfg.get("name") if isinstance(cfg, dict) else None)
    return str(name) if name else path


def find_problems(config: Any, custom_names: Iterable[str] = ()) -> list[Problem]:
    """Every code-running construct in ``config``. ``custom_names`` are classes the user supplies."""
    supplied = set(custom_names)
    problems: list[Problem] = []

    def visit(obj: Any, path: str) -> None:
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                visit(v, f"{path}[{i}]")
            return
        if not isinstance(obj, dict):
            return
        cls = obj.get("class_name")
        if isinstance(cls, str):
            where = _where(obj, path)
            module, registered = obj.get("module"), obj.get("registered_name")
            prefixed = isinstance(registered, str) and ">" in registered
            foreign = not _module_is_safe(module)
            found = None
            if cls == "Lambda" or (
                cls == "Merge"
                and isinstance(obj.get("config"), dict)
                and obj["config"].get("mode_type") in ("lambda", "closure")
            ):
                found = Problem(LAMBDA, cls, where, "holds Python code")
            elif cls in BUILTIN_CLASSES and (foreign or prefixed):
                origin = registered if prefixed else module
                found = Problem(COLLISION, cls, where, f"a custom class from '{origin}' with a built-in's name")
            elif foreign or prefixed:
                found = Problem(FOREIGN_MODULE, cls, where, f"from '{registered if prefixed else module}'")
            elif cls not in BUILTIN_CLASSES and cls not in KERAS1_CLASSES and cls not in TF_OP_CLASSES:
                found = Problem(CUSTOM, cls, where)
            # a user-supplied class is explicit opt-in; collisions stay on record for the manifest
            if found and not (cls in supplied and found.kind in (CUSTOM, FOREIGN_MODULE)):
                problems.append(found)
        for key, value in obj.items():
            if key in ("inbound_nodes", "input_layers", "output_layers"):
                continue
            visit(value, f"{path}.{key}" if path else key)

    visit(config, "")
    return problems


def check(config: Any, *, trust_code: bool = False, custom_names: Iterable[str] = ()) -> list[Problem]:
    """Raise ``UnsafeModelError`` for the first blocking problem; return the accepted ones (for the
    manifest): Lambdas under ``trust_code``, collisions resolved by user-supplied classes."""
    supplied = set(custom_names)
    accepted = []
    for p in find_problems(config, supplied):
        if p.kind == LAMBDA:
            if trust_code:
                accepted.append(p)
                continue
            raise UnsafeModelError(
                f"layer '{p.where}' is a {p.class_name} layer holding Python code; refused in safe mode",
                "if you trust this file, pass --trust-code (trust_code=True) to run it",
            )
        if p.kind == COLLISION:
            if p.class_name in supplied:
                accepted.append(p)
                continue
            raise UnsafeModelError(
                f"layer '{p.where}' is {p.detail} ('{p.class_name}'), not the built-in Keras {p.class_name}",
                f"supply its class with --custom-objects module.py (defining {p.class_name}); "
                "modelport will not silently swap in the built-in",
            )
        raise UnsafeModelError(
            f"layer '{p.where}' needs custom class '{p.class_name}'"
            + (f" ({p.detail})" if p.detail else "")
            + ", which is not part of Keras",
            f"supply it with --custom-objects module.py (a file defining class {p.class_name}); "
            "its code runs only with that explicit opt-in",
        )
    return accepted
