"""Recognise a model container by its first bytes, never by its extension."""

from __future__ import annotations

from pathlib import Path

from modelport.errors import BadInputError, NotAModelError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"


def describe_bytes(head: bytes) -> str:
    """A short human description of what a non-model file looks like."""
    if not head:
        return "an empty file"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:512]:
        return "an HTML page (a web page saved instead of the file itself?)"
    if text.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer (run `git lfs pull` to fetch the real file)"
    if text.startswith((b"{", b"[")):
        return "a JSON document"
    if head.startswith(b"PK"):
        return "a damaged zip archive"
    if head[:4] == HDF5_MAGIC[:4]:
        return "a truncated HDF5 file"
    if all(32 <= c < 127 or c in b"\r\n\t" for c in head[:256]):
        return "a text file"
    return "binary data of an unknown format"


def sniff(path: str | Path) -> str:
    """Return "hdf5", "zip" or "json"; raise a one-line error for anything else."""
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{p}: no such file", "check the path")
    if p.is_dir():
        if (p / "saved_model.pb").exists():
            raise NotAModelError(
                f"{p} is a SavedModel directory, not a Keras model file",
                "modelport converts Keras .h5/.keras files; `modelport inspect` reads SavedModels",
            )
        raise NotAModelError(f"{p} is a directory, not a model file", "pass a .h5 or .keras file")
    if not p.is_file():  # a FIFO or device would block the read below, or never end
        raise NotAModelError(f"{p} is not a regular file", "pass a .h5 or .keras file")
    try:
        with open(p, "rb") as f:
            head = f.read(1024)
    except OSError as e:
        raise BadInputError(f"{p}: cannot read ({e.strerror})", "check the file's permissions") from None
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.lstrip().startswith((b"{", b'"{')):  # some to_json() files were json.dump()ed once more
        return "json"
    raise NotAModelError(
        f"{p} is not an HDF5 or .keras file: it looks like {describe_bytes(head)}",
        "pass a model saved with model.save() (.h5 or .keras)",
    )
