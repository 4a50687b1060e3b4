"""The weight audit: prove the loaded model holds exactly the arrays stored in the file.

Every stored array is assigned to exactly one variable and reads back equal; no variable of the
model is left at its initializer (except the exempt kinds below); nothing stored is left over.
A mismatch is a ``WeightAuditError`` (exit 2) naming the layer and weight.

The digest (``stored_digest``) is a sha256 over the stored arrays in a canonical order (sorted
dataset path, then dtype, shape and little-endian C-order bytes), so it does not depend on HDF5
chunking, compression or group order: the manifest keeps it and ``validate``/``gate`` compare it.
Arrays are read one at a time: memory stays at about one array beyond what the loader holds.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError
from modelport.loading.config_walk import iter_dicts

# Variables no file stores, and why they need not come from one.
EXEMPT = {
    "seed_generator_state": "random-number state of a dropout/noise layer's seed generator: Keras never "
                            "saves it and inference does not read it",
}
# training state some archives keep beside the layers' weights: never part of the model
OPTIMIZER_GROUPS = ("optimizer_weights", "optimizer", "metrics", "compiled_metrics", "compiled_loss")


class WeightAuditError(BadInputError):
    """The loaded model's variables are not the file's arrays."""


@dataclass
class Digest:
    arrays: int
    values: int
    sha256: str
    paths: list[str] = field(default_factory=list, repr=False)


@dataclass
class Audit:
    arrays: int  # stored arrays, each assigned to one variable and read back equal
    values: int  # scalars in them
    sha256: str  # digest of the stored arrays (see the module docstring)
    method: str  # how the assignment was proven
    exempt: dict[str, int] = field(default_factory=dict)  # kind (see EXEMPT) -> variables not fed from the file
    tables: int = 0  # adapted lookup tables (vocabularies) checked against the saved config

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok", "arrays": self.arrays, "values": self.values, "sha256": self.sha256,
                "method": self.method, "lookup_tables": self.tables,
                "exempt": {kind: {"variables": n, "why": EXEMPT[kind]} for kind, n in sorted(self.exempt.items())}}

    def summary(self) -> str:
        return f"weights audit ok ({self.arrays} arrays, {self.values:,} values)"


def _canonical(array: Any) -> tuple[str, Any]:
    import numpy as np

    a = np.ascontiguousarray(array)
    if a.dtype.kind in "biufc" and a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    if a.dtype.kind in "OSU":  # strings (vocabularies): their text, not the HDF5 storage
        return "str", "\n".join(str(v) for v in a.ravel().tolist()).encode()
    # a byte view, not a copy: the digest of a large kernel must not double its memory
    return a.dtype.newbyteorder("<").str if a.dtype.byteorder != "|" else a.dtype.str, a.reshape(-1).view(np.uint8)


def hash_array(h: Any, path: str, array: Any) -> None:
    dtype, data = _canonical(array)
    h.update(f"{path}\0{dtype}\0{tuple(array.shape)}\0".encode())
    h.update(data)


def _dataset_paths(group: Any) -> list[str]:
    import h5py

    paths: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and name.split("/")[0] not in OPTIMIZER_GROUPS:
            paths.append(name)

    group.visititems(visit)
    return sorted(paths)


@contextmanager
def weights_h5(path: Path, container: str) -> Iterator[Path | None]:
    """The HDF5 file holding the weights: the file itself, or a ``.keras`` zip's model.weights.h5
    (copied to a temporary file in chunks, never held in memory)."""
    if container == "hdf5":
        yield path
        return
    if container != "zip":
        yield None
        return
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="modelport-audit-") as tmp:
            out = Path(tmp) / "model.weights.h5"
            with archive.open("model.weights.h5") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield out


def _root(f: Any) -> Any:
    return f["model_weights"] if "model_weights" in f else f


def digest_h5(path: Path) -> Digest:
    import h5py

    h, arrays, values = hashlib.sha256(), 0, 0
    with h5py.File(path, "r") as f:
        root = _root(f)
        paths = _dataset_paths(root)
        for p in paths:
            a = root[p][()]
            hash_array(h, p, a)
            arrays += 1
            values += int(getattr(a, "size", 1))
    return Digest(arrays, values, h.hexdigest(), paths)


def stored_digest(path: str | Path, container: str) -> Digest | None:
    """The digest of the weights stored in a model file (None: the file stores no weights). For a
    ``.keras`` archive it also covers the assets (lookup vocabularies), in name order."""
    with weights_h5(Path(path), container) as h5:
        digest = digest_h5(h5) if h5 is not None else None
    if digest is not None and container == "zip":
        add_assets(digest, Path(path))
    return digest


def add_assets(digest: Digest, archive_path: Path) -> None:
    """Fold a ``.keras`` archive's assets (lookup vocabularies) into the digest, in name order."""
    h = hashlib.sha256(digest.sha256.encode())
    with zipfile.ZipFile(archive_path) as archive:
        for name in sorted(n for n in archive.namelist() if n.startswith("assets/")):
            h.update(f"{name}\0".encode())
            with archive.open(name) as member:
                while chunk := member.read(1 << 20):
                    h.update(chunk)
    digest.sha256 = h.hexdigest()


LOOKUP_CLASSES = ("StringLookup", "IntegerLookup", "TextVectorization")


def _declared_vocabularies(config: Any) -> dict[str, tuple[str, int]]:
    """Layer name -> (class, vocabulary size) for adapted lookup layers in the saved config (a
    vocabulary given in the config itself needs no table from the file)."""
    found: dict[str, tuple[str, int]] = {}
    for obj in iter_dicts(config):
        c = obj.get("config")
        if obj.get("class_name") in LOOKUP_CLASSES and isinstance(c, dict) and c.get("vocabulary") is None \
                and isinstance(c.get("vocabulary_size"), int) and isinstance(c.get("name"), str):
            found[c["name"]] = (obj["class_name"], c["vocabulary_size"])
    return found


def audit_lookups(model: Any, config: Any, container: str) -> int:
    """Every adapted lookup table the saved config declares holds that many entries once loaded
    (Keras keeps them in a ``.keras`` archive's assets, and writes none to ``.h5``)."""
    declared = _declared_vocabularies(config)
    checked = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if layer.name not in declared:
            continue
        cls, want = declared[layer.name]
        try:
            got = int(layer.vocabulary_size())
        except Exception:  # an uninitialised table: it holds nothing
            got = 0
        if got != want:
            where = " (Keras writes adapted lookup tables to .keras archives only, not to .h5)" \
                if container == "hdf5" else ""
            raise WeightAuditError(
                f"layer '{layer.name}' ({cls}): the saved config declares a vocabulary of {want} entries, "
                f"the file gives it {got}{where}",
                "re-save the model as .keras (model.save('model.keras'))")
        checked += 1
    return checked


def _equal(a: Any, b: Any) -> bool:
    """Equal values (NaN equals NaN; a float16 file value equals the same float32 variable value),
    compared a slice at a time: a float64 copy of a 400 MB kernel cost VGG16's load 4 GB and a minute."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    floats = a.dtype.kind in "fc" or b.dtype.kind in "fc"
    widen = floats and a.dtype != b.dtype  # same dtype: compare as is (float32 -> float64 is exact anyway)
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    step = 1 << 20
    for start in range(0, flat_a.size, step):
        x, y = flat_a[start:start + step], flat_b[start:start + step]
        if widen:
            x, y = x.astype(np.float64), y.astype(np.float64)
        if not np.array_equal(x, y, equal_nan=floats):
            return False
    return True


def _var_name(var: Any) -> str:
    return str(getattr(var, "path", None) or getattr(var, "name", "?"))


def _exempt_kind(var: Any) -> str | None:
    name = _var_name(var)
    return next((kind for kind in EXEMPT if kind in name), None)


def _read(var: Any) -> Any:
    import numpy as np

    return np.asarray(var.numpy() if hasattr(var, "numpy") else var)


def _unfed(model: Any, fed: set[int]) -> tuple[list[str], dict[str, int]]:
    """Variables of the model not fed from the file: (errors, exempt kinds counted)."""
    errors: list[str] = []
    exempt: dict[str, int] = {}
    for var in model.variables:
        if id(var) in fed:
            continue
        kind = _exempt_kind(var)
        if kind:
            exempt[kind] = exempt.get(kind, 0) + 1
        else:
            errors.append(_var_name(var))
    return errors, exempt


def audit_assignments(model: Any, assignments: list[Any], digest: Digest) -> Audit:
    """Legacy HDF5 (every era, whole models and ``save_weights`` files): ``weights.assign_by_name``
    recorded which stored array went to which variable, after the era conversions."""
    fed: set[int] = set()
    for a in assignments:
        if id(a.variable) in fed:
            raise WeightAuditError(f"layer '{a.layer}': variable {_var_name(a.variable)} is fed twice "
                                   f"(again by {a.stored_name})", "report the file to modelport")
        fed.add(id(a.variable))
        if not _equal(_read(a.variable), a.value):
            raise WeightAuditError(
                f"layer '{a.layer}': weight {a.stored_name} does not read back equal from variable "
                f"{_var_name(a.variable)} after loading", "report the file to modelport")
    # a merged layer (Keras 1 LSTM gates, cuDNN layouts) consumed every stored array it was built from
    assigned = {n for a in assignments for n in (a.sources or (a.stored_name,))}
    left = [p for p in digest.paths if p not in assigned]
    if left:
        raise WeightAuditError(f"the file stores {len(left)} array(s) no variable received: {', '.join(left[:5])}",
                               "the architecture and the weights do not belong together")
    errors, exempt = _unfed(model, fed)
    if errors:
        raise WeightAuditError(f"{len(errors)} variable(s) got no value from the file and stay at their "
                               f"initializer: {', '.join(errors[:5])}",
                               "the architecture and the weights do not belong together")
    return Audit(digest.arrays, digest.values, digest.sha256, "assigned by layer name, read back equal", exempt)


def audit_resaved(model: Any, stored_h5: Path, digest: Digest) -> Audit:
    """Keras-format weights (``.keras`` archives, Keras 3 ``save_weights``): the library loaded
    them itself, so save the loaded model's weights again with the same library and compare,
    array by array, with what the file stores: same paths, equal values, nothing more or less."""
    import h5py

    with tempfile.TemporaryDirectory(prefix="modelport-audit-") as tmp:
        again = Path(tmp) / "loaded.weights.h5"
        model.save_weights(str(again))
        with h5py.File(stored_h5, "r") as f, h5py.File(again, "r") as g:
            stored, loaded = _root(f), _root(g)
            loaded_paths = _dataset_paths(loaded)
            missing = [p for p in digest.paths if p not in loaded]
            extra = [p for p in loaded_paths if p not in stored]
            names = _archive_names(model)
            if missing or extra:
                _match_by_value(stored, missing, loaded, extra, names)
            for p in digest.paths:
                if p in loaded and not _equal(stored[p][()], loaded[p][()]):
                    raise WeightAuditError(f"layer weight {_layer_path(p, names)} of the loaded model differs from the file's",
                                           "the file's weights did not load: report the file to modelport")
    errors, exempt = _unsaved(model, len(loaded_paths))
    if errors:
        raise WeightAuditError(errors, "the architecture and the weights do not belong together")
    return Audit(digest.arrays, digest.values, digest.sha256, "re-saved by the loader, compared array by array",
                 exempt)


def _archive_names(model: Any) -> dict[str, str]:
    """Keras 3 archives address top-level layers by class (``layers/conv2d_1``), not by name:
    replay its naming over ``model.layers`` so messages name the layer the user knows."""
    import re

    used: dict[str, int] = {}
    out: dict[str, str] = {}
    for layer in getattr(model, "layers", []):
        base = re.sub(r"\W+", "", type(layer).__name__)  # keras.src.utils.naming.to_snake_case
        base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", base)
        base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        out[key] = layer.name
    return out


def _layer_path(path: str, names: dict[str, str] | None = None) -> str:
    """``layers/dense_1/vars/0`` -> ``layer 'score' var 0`` (the layer and weight a user recognises)."""
    parts = path.split("/")
    if len(parts) > 1 and parts[0] == "layers" and names and parts[1] in names:
        parts = [names[parts[1]], *parts[2:]]
    else:
        parts = [p for p in parts if p not in ("layers", "_layer_checkpoint_dependencies")]
    if len(parts) >= 2 and parts[-2] == "vars":
        return f"'{'/'.join(parts[:-2])}' var {parts[-1]}"
    return "'" + "/".join(parts) + "'"


def _match_by_value(stored: Any, missing: list[str], loaded: Any, extra: list[str], names: dict[str, str]) -> None:
    """Paths that differ between writers (another Keras version): each stored array must still
    equal exactly one loaded array of its own (matched by content hash)."""
    def key(group: Any, p: str) -> str:
        h = hashlib.sha256()
        hash_array(h, "", group[p][()])
        return h.hexdigest()

    pool: dict[str, list[str]] = {}
    for p in extra:
        pool.setdefault(key(loaded, p), []).append(p)
    for p in missing:
        candidates = pool.get(key(stored, p))
        if not candidates:
            raise WeightAuditError(f"layer weight {_layer_path(p, names)} stored in the file is in no variable of the loaded model",
                                   "the architecture and the weights do not belong together")
        candidates.pop()
    left = [p for ps in pool.values() for p in ps]
    if left:
        raise WeightAuditError(f"layer weight {_layer_path(left[0], names)} of the loaded model got no value from the file",
                               "the architecture and the weights do not belong together")


def _unsaved(model: Any, saved_count: int) -> tuple[str | None, dict[str, int]]:
    """Every variable the library does not save must be exempt (else it came from nowhere)."""
    others = _unfed(model, set())[0]
    exempt = _unfed(model, set())[1]
    if len(others) != saved_count:
        return (f"the loaded model has {len(others)} variables, {saved_count} of them hold the file's arrays",
                exempt)
    return None, exempt
