"""Read the saved Keras version, backend and model config from a file, without TensorFlow.

HDF5 files keep them as root attributes (``keras_version``, ``backend``, ``model_config``);
``.keras`` zips keep them in ``metadata.json`` and ``config.json``. A member is read with a size
cap, so a zip bomb never gets decompressed just to read a config.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, NotAModelError
from modelport.loading.hdf5_probe import _text, probe
from modelport.loading.sniff import sniff

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # far above any real config; a bigger member is hostile


@dataclass
class SavedFile:
    path: Path
    container: str  # "hdf5" | "zip" | "json"
    keras_version: str | None
    backend: str | None
    model_config: dict[str, Any] | None  # None: the file holds weights only
    training_config: dict[str, Any] | None = None
    weight_layer_names: list[str] = field(default_factory=list)  # HDF5 weights, in saved order


def _json(value: Any, what: str, path: Path) -> dict[str, Any] | None:
    text = _text(value)
    if text is None:
        return None
    try:
        obj = json.loads(text)
        if isinstance(obj, str):  # a to_json() string written with json.dump(): decode once more
            obj = json.loads(obj)
    except ValueError:
        raise NotAModelError(f"{path}: the saved {what} is not valid JSON", "re-save the model") from None
    if not isinstance(obj, dict):
        raise NotAModelError(f"{path}: the saved {what} is not a JSON object", "re-save the model")
    return obj


def read_hdf5(path: Path) -> SavedFile:
    """The Keras attributes of an HDF5 file, read in a child process (see ``hdf5_probe``)."""
    found = probe(path, "meta")
    attrs, fallback = found["attrs"], found["weights_attrs"]
    return SavedFile(
        path=path,
        container="hdf5",
        keras_version=attrs["keras_version"] or fallback["keras_version"],
        backend=attrs["backend"] or fallback["backend"],
        model_config=_json(attrs["model_config"], "model config", path),
        training_config=_json(attrs["training_config"], "training config", path),
        weight_layer_names=found["layer_names"],
    )


def _read_member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_CONFIG_BYTES:
        raise NotAModelError(
            f"{path}: {name} claims {info.file_size} bytes unpacked, far more than any model config",
            "the archive is damaged or hostile; re-save the model",
        )
    chunks, size = [], 0
    with zf.open(info) as member:  # in small reads: a lying header never makes us inflate 64 MB at once
        while size <= MAX_CONFIG_BYTES and (chunk := member.read(1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    if len(data) > MAX_CONFIG_BYTES:
        raise NotAModelError(f"{path}: {name} is larger than its header says", "re-save the model")
    return data


def _refuse_escaping_members(zf: zipfile.ZipFile, path: Path) -> None:
    """A member named ``../x`` or ``/x`` would land outside any directory the archive is unpacked
    into (zip slip); Keras never writes one, so such a file is hostile whichever loader reads it."""
    for name in zf.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise NotAModelError(
                f"{path}: archive member '{name}' points outside the archive (zip slip)",
                "the file is damaged or hostile; do not unpack it, re-save the model",
            )


def read_zip(path: Path) -> SavedFile:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise NotAModelError(f"{path} is a damaged zip archive", "download or save the model again") from None
    with zf:
        _refuse_escaping_members(zf, path)
        try:
            config = _read_member(zf, "config.json", path)
            meta = _read_member(zf, "metadata.json", path)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise NotAModelError(f"{path}: cannot read the archive ({e})", "save the model again") from None
    if config is None:
        raise NotAModelError(
            f"{path} is a zip archive without config.json, not a Keras .keras file",
            "pass a file written by model.save('model.keras')",
        )
    metadata = _json(meta, "metadata.json", path) or {}
    return SavedFile(
        path=path,
        container="zip",
        keras_version=metadata.get("keras_version"),
        backend=metadata.get("backend") or "tensorflow",
        model_config=_json(config, "config.json", path),
    )


def read_json(path: Path) -> SavedFile:
    """An architecture file written by ``model.to_json()``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{path}: cannot read ({e.strerror})", "check the path") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise NotAModelError(f"{path}: {len(data)} bytes is too large for an architecture JSON")
    cfg = _json(data, "architecture", path)
    return SavedFile(
        path=path,
        container="json",
        keras_version=(cfg or {}).get("keras_version"),
        backend=(cfg or {}).get("backend"),
        model_config=cfg,
    )


def read_saved(path: str | Path) -> SavedFile:
    """Sniff the container and read what it says about itself."""
    p = Path(path)
    kind = sniff(p)
    return {"hdf5": read_hdf5, "zip": read_zip, "json": read_json}[kind](p)
