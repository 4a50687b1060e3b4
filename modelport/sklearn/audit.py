"""Proof that the loaded estimator is the file's: every array a ``.skops`` archive stores, read raw
from the zip (``numpy.load``, no pickles, not through skops), is found with equal values in the
loaded estimator. skops rebuilds objects from those arrays; a loader that dropped, converted or
mixed up one would show here. A pickle cannot be read without running it, so it is not audited.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import BadInputError


@dataclass
class SkopsAudit:
    status: str  # "ok" | "not audited: ..."
    arrays: int = 0
    values: int = 0
    sha256: str = ""  # over the stored arrays' values, in archive order

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "arrays": self.arrays, "values": self.values, "sha256": self.sha256}


def _digest(a: np.ndarray) -> str:
    """Values and shape, not memory layout or integer width (skops may store an int64 that loads as intp)."""
    if a.dtype.names:  # a structured array (a tree's nodes): field by field
        parts = [np.ascontiguousarray(a[n], dtype=np.float64).tobytes() for n in sorted(a.dtype.names)]
    elif a.dtype.kind in "biuf":
        parts = [np.ascontiguousarray(a, dtype=np.float64).tobytes()]
    else:  # strings (categories, class labels)
        parts = [repr(a.tolist()).encode()]
    return hashlib.sha256(str(a.shape).encode() + b"".join(parts)).hexdigest()


def stored_arrays(path: Path) -> dict[str, np.ndarray]:
    """The archive's ``.npy`` members, read without pickles."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                out[name] = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
    return out


def reachable_arrays(obj: Any) -> list[np.ndarray]:
    """Every numpy array and scalar the estimator holds: attributes, nested estimators, containers,
    and what a Cython type (a tree) gives ``__reduce__``, as skops saved it."""
    seen: set[int] = set()
    alive: list[Any] = []  # temporaries stay referenced, so their ids are not reused while walking
    out: list[np.ndarray] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        alive.append(item)
        if isinstance(item, np.generic):
            out.append(np.asarray(item))
        elif isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel().tolist())
            else:
                out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (str, bytes, int, float, bool, type(None), type)):
            continue
        elif not hasattr(item, "__dict__") and hasattr(item, "__reduce__"):
            try:
                stack.extend(item.__reduce__()[1:])
            except TypeError:  # not reducible: holds nothing skops stored
                continue
        else:
            try:
                stack.append(item.__getstate__())
            except Exception:  # an object without the protocol: its attributes
                stack.append(getattr(item, "__dict__", None))
    return out


def audit(path: str | Path, estimator: Any, loader: str) -> SkopsAudit:
    """Raises when a stored array is nowhere in the loaded estimator; the counts for the manifest."""
    if loader != "skops":
        return SkopsAudit("not audited: a pickle's arrays cannot be read without running it")
    path = Path(path)
    stored = stored_arrays(path)
    held = {_digest(a) for a in reachable_arrays(estimator)}
    digests = {name: _digest(a) for name, a in stored.items()}
    missing = [name for name, a in stored.items() if a.size and digests[name] not in held]
    if missing:
        raise BadInputError(
            f"{len(missing)} of the {len(stored)} arrays {path.name} stores are not in the loaded estimator "
            f"(first: {missing[0]}, {stored[missing[0]].dtype} {stored[missing[0]].shape})",
            "the file and the installed scikit-learn/skops disagree: load it with the versions that saved it")
    whole = hashlib.sha256("".join(digests[n] for n in sorted(stored)).encode()).hexdigest()
    return SkopsAudit("ok", len(stored), int(sum(a.size for a in stored.values())), whole)
