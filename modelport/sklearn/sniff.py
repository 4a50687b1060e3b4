"""Recognise a scikit-learn file by its bytes: a skops archive, or a pickle / joblib dump."""

from __future__ import annotations

import zipfile
from pathlib import Path

SKOPS, PICKLE = "skops", "pickle"
ZIP_MAGIC = b"PK\x03\x04"
# joblib's compressed dumps: zlib (x\x9c...), gzip, bz2, xz, lzma, lz4 in joblib's own container
_COMPRESSED = (b"ZF", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def sniff(path: str | Path) -> str | None:
    """"skops", "pickle" (pickle or joblib, which run code when loaded) or None for anything else."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(p) as z:
                return SKOPS if "schema.json" in z.namelist() else None
        except (zipfile.BadZipFile, OSError):
            return None
    # a pickle begins with PROTO (0x80) and a protocol number 2..5; joblib's compressed files with a codec magic
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return PICKLE
    zlib = len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0
    if (zlib or head.startswith(_COMPRESSED)) and p.suffix.lower() in (".joblib", ".pkl", ".pickle", ".gz", ".z"):
        return PICKLE
    return None
