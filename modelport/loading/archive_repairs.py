"""Repairs of a ``.keras`` archive's members other than its config, for the copy a loader reads.

- ``keras2-archive-weight-paths``: tf.keras 2.13-2.15 weight paths (``keras2_archive.py``);
- ``windows-vocabulary-encoding``: Keras wrote lookup vocabularies (``TextVectorization``,
  ``StringLookup``) with ``open(path, "w")``, so on Windows in the locale's code page (cp1252) with
  CRLF line ends. Reading them as UTF-8 fails and Keras reports only "2 objects could not be
  loaded". A vocabulary that is not UTF-8 but is valid cp1252 is re-encoded as UTF-8 with LF ends.

No TensorFlow.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import NotAModelError
from modelport.loading import keras2_archive

VOCABULARY_RULE = "windows-vocabulary-encoding"
MAX_VOCABULARY = 256 << 20  # bytes read at most per vocabulary (a zip member may claim anything)


@dataclass
class ArchiveRepair:
    members: dict[str, bytes] = field(default_factory=dict)  # archive member -> replacement bytes
    moved: keras2_archive.Moved | None = None  # set when the weights were moved (to audit after loading)
    applied: list[str] = field(default_factory=list)


def windows_vocabulary(data: bytes) -> bytes | None:
    """A vocabulary file's bytes as UTF-8 with LF line ends, when they were written in cp1252;
    None when they already are UTF-8 (CRLF alone is read correctly) or are not cp1252 either."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n").encode("utf-8")


def repair_archive(path: Path, config: dict[str, Any], keras_version: str | None) -> ArchiveRepair:
    try:
        return _repair_archive(path, config, keras_version)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, KeyError, ValueError, TypeError) as e:  # h5py's too
        raise NotAModelError(f"{path}: the archive is damaged ({type(e).__name__}: {str(e)[:120]})",
                             "download or save the model again") from None


def _repair_archive(path: Path, config: dict[str, Any], keras_version: str | None) -> ArchiveRepair:
    repair = ArchiveRepair()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        for info in zf.infolist():
            name = info.filename
            if name.startswith("assets/") and name.endswith("vocabulary.txt") and info.file_size <= MAX_VOCABULARY:
                with zf.open(info) as member:
                    data = member.read(MAX_VOCABULARY + 1)
                fixed = windows_vocabulary(data) if len(data) <= MAX_VOCABULARY else None
                if fixed is not None:
                    repair.members[name] = fixed
        weights = zf.read("model.weights.h5") if "model.weights.h5" in names else None
    if repair.members:
        repair.applied.append(VOCABULARY_RULE)
    if weights is not None and keras2_archive.needs_move(weights):
        repair.members["model.weights.h5"], repair.moved = keras2_archive.move(weights, config, keras_version)
        repair.applied.append(keras2_archive.RULE)
    return repair
