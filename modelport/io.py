"""Atomic output: write under a temporary name beside the destination, rename at the end.

An interrupted or failed run leaves nothing under the final name; the temporary name starts with
``.modelport-tmp-`` so a later run (or a person) can recognise and remove leftovers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TMP_PREFIX = ".modelport-tmp-"


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree, if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(dest: Path, *, is_dir: bool = False, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success move it to ``dest``.

    For files the final step is one ``os.replace``. A directory cannot replace a non-empty one
    atomically, so an existing directory is first renamed aside and removed after the swap.
    """
    dest = Path(dest)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=dest.parent))
    work = tmp / dest.name
    try:
        if is_dir:
            work.mkdir()
        yield work
        _install(work, dest, force=force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(work: Path, dest: Path, *, force: bool) -> None:
    """Move ``work`` to ``dest``. Without ``force`` this never replaces anything, even in a race:
    a file is hard-linked (fails if ``dest`` appeared meanwhile), a directory renamed (fails onto
    a non-empty directory)."""
    from modelport.errors import OutputError

    exists = OutputError(f"{dest} already exists", "pass --force to overwrite it")
    if not force:
        try:
            if work.is_dir():
                if dest.exists() or dest.is_symlink():
                    raise exists
                os.rename(work, dest)
            else:
                os.link(work, dest)
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            raise exists from None
        except OSError as e:
            if dest.exists():
                raise exists from None
            raise OutputError(f"cannot write {dest} ({e.strerror})", "check the output directory") from None
        return
    if dest.is_dir() and not dest.is_symlink():
        aside = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=dest.parent)) / "old"
        os.replace(dest, aside)
        os.replace(work, dest)
        shutil.rmtree(aside.parent, ignore_errors=True)
        return
    os.replace(work, dest)


def write_bytes_atomic(dest: Path, data: bytes, *, force: bool = True) -> None:
    with atomic_path(dest, force=force) as tmp:
        tmp.write_bytes(data)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, in sorted order)."""
    h = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        for sub in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(sub.relative_to(path).as_posix().encode() + b"\0")
            h.update(_file_digest(sub).encode())
        return h.hexdigest()
    return _file_digest(path)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Staging:
    """A private directory inside the output directory where a run builds all its artifacts.

    ``commit`` moves each finished artifact to its final name (one rename each); whatever is not
    committed disappears with the staging directory, so a failed or killed run leaves nothing
    under a final name.
    """

    def __init__(self, out_dir: Path):
        from modelport.errors import OutputError

        self.out_dir = Path(out_dir)
        self.created = not self.out_dir.exists()  # removed again if the run fails before committing
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.root = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=self.out_dir))
        except OSError as e:
            raise OutputError(f"cannot write to {self.out_dir} ({e.strerror})", "choose a writable directory with -o") from None
        remove_stale(self.out_dir)

    def path(self, name: str) -> Path:
        return self.root / name

    def commit(self, name: str, *, force: bool) -> Path:
        from modelport.errors import check_interrupted

        check_interrupted()  # after Ctrl-C / SIGTERM nothing reaches a final name
        dest = self.out_dir / name
        _install(self.root / name, dest, force=force)
        return dest

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.cleanup()
        if exc_type is not None and self.created:
            with contextlib.suppress(OSError):
                self.out_dir.rmdir()  # only when empty: nothing of ours, nothing of anyone else's


STALE_SECONDS = 6 * 3600  # far longer than any conversion; a younger one may belong to a running process


def remove_stale(out_dir: Path, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove ``.modelport-tmp-*`` leftovers of killed runs (SIGKILL leaves them; nothing under a
    final name) that nobody has touched for ``max_age`` seconds. They are always safe to delete."""
    import time

    removed = []
    for leftover in Path(out_dir).glob(TMP_PREFIX + "*"):
        try:
            if time.time() - leftover.stat().st_mtime > max_age:
                remove_path(leftover)
                removed.append(leftover)
        except OSError:  # another run removed it first
            continue
    return removed


def check_outputs(out_dir: Path, names: list[str], force: bool) -> None:
    """Fail before any work when an output exists (no --force) or the directory is unusable."""
    from modelport.errors import OutputError

    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a directory", "choose another output directory with -o")
    # the directory itself is created by Staging, after the model loaded: bad input leaves nothing
    existing_dir = next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.exists())
    if not existing_dir.is_dir():
        raise OutputError(f"cannot create {out_dir} ({existing_dir} is not a directory)",
                          "choose a writable directory with -o")
    if not os.access(existing_dir, os.W_OK | os.X_OK):
        raise OutputError(f"{existing_dir} is not writable", "choose a writable directory with -o")
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not force:
        raise OutputError(f"{out_dir / existing[0]} already exists", "pass --force to overwrite it")
