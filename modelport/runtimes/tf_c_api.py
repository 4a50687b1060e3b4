"""The TensorFlow C API, outside Python: a small C program (``modelport/_native/tf_run.c``) loads a SavedModel
(tag ``serve``) or a frozen pb and runs it, as TF Java and the other bindings would.

The program is compiled with ``gcc`` against the C API that the tensorflow wheel ships, at first
use, into a cache directory outside the repository keyed by the source and library hash. One
process per artifact runs every batch: inputs and outputs travel through small binary files (see the
C source). A large frozen graph gets its weight constants as a tensor file too (``frozen_feeds``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.runtimes import frozen_feeds

SOURCE = Path(__file__).resolve().parents[1] / "_native" / "tf_run.c"
FORMATS = ("savedmodel", "pb")
_TF_DTYPES = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "int64": 9,
              "bool": 10, "uint16": 17, "float16": 19, "uint32": 22, "uint64": 23}
_NP_DTYPES = {v: np.dtype(k) for k, v in _TF_DTYPES.items()}


def tensorflow_dir() -> Path | None:
    """The installed tensorflow package directory, found without importing TensorFlow."""
    spec = importlib.util.find_spec("tensorflow")
    return Path(spec.origin).parent if spec and spec.origin else None


def unavailable() -> str | None:
    """Why the C API runner cannot run here, or None."""
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        return "no C compiler (gcc) on PATH"
    if not SOURCE.is_file():
        return f"native source {SOURCE} is missing"
    tf = tensorflow_dir()
    if tf is None:
        return "tensorflow is not installed"
    if not (tf / "include" / "tensorflow" / "c" / "c_api.h").is_file():
        return "the tensorflow wheel ships no C API headers"
    if not (tf / "libtensorflow_cc.so.2").is_file():
        return "the tensorflow wheel ships no libtensorflow_cc.so.2"
    return None


def cache_dir() -> Path:
    root = os.environ.get("MODELPORT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "modelport")
    return Path(root) / "native"


def binary() -> Path:
    """The compiled runner, built on first use (atomically, so concurrent first uses are safe)."""
    reason = unavailable()
    if reason:
        from modelport.errors import BadInputError

        raise BadInputError(f"the TensorFlow C API runner cannot run: {reason}", "install gcc, or leave out tf_c_api")
    tf = tensorflow_dir()
    assert tf is not None
    lib = tf / "libtensorflow_cc.so.2"
    # compiled once per source and TensorFlow build (version, library path and size), then reused
    key = hashlib.sha256(SOURCE.read_bytes() + _tf_version().encode() + str(lib).encode()
                         + str(lib.stat().st_size).encode()).hexdigest()[:16]
    exe = cache_dir() / key / "tf_run"
    if exe.is_file():
        return exe
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp = exe.parent / f".tf_run.{os.getpid()}.tmp"
    cmd = [os.environ.get("CC", "gcc"), "-O2", "-std=c11", "-o", str(tmp), str(SOURCE), f"-I{tf / 'include'}",
           f"-L{tf}", "-l:libtensorflow_cc.so.2", "-l:libtensorflow_framework.so.2", f"-Wl,-rpath,{tf}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"compiling {SOURCE.name} failed: {done.stderr.strip()[-2000:]}")
    os.replace(tmp, exe)
    return exe


def _tf_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tensorflow")
    except PackageNotFoundError:
        return ""


def write_tensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        f.write(b"MPT1" + struct.pack("<I", len(tensors)))
        for name, value in tensors.items():
            value = np.ascontiguousarray(value)
            if value.dtype.name not in _TF_DTYPES:
                raise TypeError(f"dtype {value.dtype} is not supported by the C API runner")
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)) + raw)
            f.write(struct.pack("<II", _TF_DTYPES[value.dtype.name], value.ndim))
            f.write(struct.pack(f"<{value.ndim}q", *value.shape))
            data = np.ascontiguousarray(value.astype(value.dtype.newbyteorder("<"), copy=False))
            f.write(struct.pack("<Q", data.nbytes))
            f.write(data.reshape(-1).view(np.uint8))  # no bytes copy: a weight tensor may be 400 MB


def read_tensors(path: Path) -> dict[str, np.ndarray]:
    buf = Path(path).read_bytes()
    if buf[:4] != b"MPT1":
        raise RuntimeError("C API runner wrote no MPT1 output")
    (count,), pos, out = struct.unpack_from("<I", buf, 4), 8, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", buf, pos)
        name = buf[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dtype, rank = struct.unpack_from("<II", buf, pos)
        pos += 8
        dims = struct.unpack_from(f"<{rank}q", buf, pos)
        pos += 8 * rank
        (nbytes,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        out[name] = np.frombuffer(buf[pos:pos + nbytes], dtype=_NP_DTYPES[dtype].newbyteorder("<")).reshape(dims)
        pos += nbytes
    return out


class CApiSession:
    def __init__(self, artifact: Any):
        if artifact.format not in FORMATS:
            raise ValueError(f"the C API runner runs {' and '.join(FORMATS)}, not {artifact.format}")
        details = artifact.details or {}
        try:
            self._feeds = dict(zip([t.name for t in artifact.inputs], details["input_tensors"]))
            self._fetches = dict(zip([t.name for t in artifact.outputs], details["output_tensors"]))
        except KeyError:
            raise ValueError("the artifact records no graph tensor names (details.input_tensors)") from None
        self._exe = binary()
        self._kind = artifact.format
        self._path = str(artifact.path)
        # the program's third argument: a SavedModel's tag, or a frozen graph's fed constants ("-": none)
        self._tag = details.get("tag", "serve") if artifact.format == "savedmodel" else "-"
        self._dtypes = {t.name: t.dtype for t in artifact.inputs}
        self.method: str | None = None  # how it ran, when not as the plain C API load would
        self._tmp = tempfile.TemporaryDirectory(prefix="modelport-tfc-")
        if artifact.format == "pb" and frozen_feeds.feeds_constants(artifact.path):
            fed = frozen_feeds.split(artifact.path)  # the program gets the graph without, the constants as CONSTS
            self._path, self._tag = str(Path(self._tmp.name) / "graph.pb"), str(Path(self._tmp.name) / "constants.bin")
            Path(self._path).write_bytes(fed.graph_def)
            write_tensors(Path(self._tag), fed.constants)
            self.method = fed.method()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.run_many([inputs])[0]

    def run_many(self, batches: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
        """Every batch through one process: the library and the model load once, not per batch."""
        with tempfile.TemporaryDirectory(prefix="modelport-tfc-") as tmp:
            sources = [Path(tmp) / f"in{i}.bin" for i in range(len(batches))]
            targets = [Path(tmp) / f"out{i}.bin" for i in range(len(batches))]
            for src, inputs in zip(sources, batches):
                write_tensors(src, {self._feeds[k]: np.asarray(v, dtype=self._dtypes.get(k) or None)
                                    for k, v in inputs.items()})
            names = list(self._fetches)
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
            done = subprocess.run([str(self._exe), self._kind, self._path, self._tag, ",".join(map(str, sources)),
                                   ",".join(map(str, targets)), *[self._fetches[n] for n in names]],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                last = [line for line in done.stderr.strip().splitlines() if line.startswith("tf_run:")]
                raise RuntimeError((last or done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
            results = [read_tensors(dst) for dst in targets]
        return [{n: raw[self._fetches[n]].copy() for n in names} for raw in results]

    def close(self) -> None:
        self._tmp.cleanup()


def cannot_run(artifact: Any) -> str | None:
    """Why this runner cannot feed ``artifact``, or None: its tensor files carry numbers only."""
    strings = [t.name for t in artifact.inputs if t.dtype not in _TF_DTYPES]
    if strings:
        return f"the C API runner feeds numeric tensors only (input {', '.join(strings)} is not numeric)"
    return None


def load(artifact: Any) -> CApiSession:
    return CApiSession(artifact)
