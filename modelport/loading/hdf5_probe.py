"""Read an untrusted HDF5 file's metadata (and, for loading, every dataset) in a child process.

libhdf5 can spin forever or allocate without bound on a crafted file (fuzzing found an attribute
read that never returns), and Python cannot interrupt a C call. So the first reads of a file run
here, in a separate process with a time and memory limit: a hostile file costs a bounded wait and
a one-line error, never a hung CI job. Once a file passed, the parent reads the same structures.

Run as a script (it imports only h5py and the standard library, so it starts fast):
    python hdf5_probe.py PATH {meta|data}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

META_TIMEOUT_S = 30.0
DATA_TIMEOUT_S = 60.0
DATA_BYTES_PER_S = 50e6  # reading weights is disk-bound; big files get proportionally longer
MEMORY_LIMIT = 4 << 30  # address space of the child; a crafted size field cannot take the machine
ATTRS = ("keras_version", "backend", "model_config", "training_config")
_PROBED: dict[tuple, dict[str, Any]] = {}  # (file identity, mode) -> what the child read


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _read(path: str, mode: str) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as f:
        weights = f["model_weights"] if "model_weights" in f else f
        out = {
            "attrs": {key: _text(f.attrs.get(key)) for key in ATTRS},
            "weights_attrs": {key: _text(weights.attrs.get(key)) for key in ("keras_version", "backend")},
            "layer_names": [_text(n) or "" for n in weights.attrs.get("layer_names", [])],
        }
        if mode == "data":  # touch every dataset the loaders will read
            f.visititems(lambda _name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
    return out


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def probe(path: str | Path, mode: str = "meta") -> dict[str, Any]:
    """The file's Keras attributes, read in a child process; raises NotAModelError if the child
    fails, runs out of memory or time (MODELPORT_HDF5_TIMEOUT overrides the limit, in seconds).

    One child per file version and mode: convert reads a file's config several times."""
    return start(path, mode)()


def start(path: str | Path, mode: str = "meta") -> Callable[[], dict[str, Any]]:
    """``probe`` begun now, its result (or error) when the returned function is called: loading
    imports TensorFlow on the other core while the child reads the weights."""
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, mode)
    if key in _PROBED:
        return lambda: json.loads(json.dumps(_PROBED[key]))  # a fresh copy: callers may edit what they get
    limit = META_TIMEOUT_S if mode == "meta" else DATA_TIMEOUT_S + st.st_size / DATA_BYTES_PER_S
    limit = float(os.environ.get("MODELPORT_HDF5_TIMEOUT", limit))
    child = subprocess.Popen([sys.executable, __file__, str(path), mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=_limit_memory if os.name == "posix" else None)

    def result() -> dict[str, Any]:
        if key not in _PROBED:
            found = _finish(child, path, limit)
            if len(_PROBED) >= 8:  # only the few files at hand are worth remembering
                _PROBED.clear()
            _PROBED[key] = found
        return json.loads(json.dumps(_PROBED[key]))

    return result


def _finish(child: subprocess.Popen, path: Path, limit: float) -> dict[str, Any]:
    from modelport.errors import NotAModelError

    damaged = "download or save the model again"
    try:
        out, err = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise NotAModelError(
            f"{path}: reading the HDF5 file did not finish within {limit:.0f} s; it is damaged or crafted",
            damaged) from None
    if child.returncode != 0:
        reason = (err.decode("utf-8", "replace").strip().splitlines() or ["it crashed"])[-1]
        raise NotAModelError(f"{path} is a damaged or truncated HDF5 file ({reason[:160]})", damaged)
    return json.loads(out)


if __name__ == "__main__":
    try:
        result = _read(sys.argv[1], sys.argv[2])
    except MemoryError:
        sys.exit("MemoryError: the file asks for more memory than any model file needs")
    except Exception as e:  # noqa: BLE001  (every failure of a hostile file is reported the same way)
        sys.exit(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    json.dump(result, sys.stdout)
