"""TensorFlow: SavedModel through its serving signature, frozen pb and checkpoint through a v1 Session.

Artifacts of ``CHILD_FROM_BYTES`` or more run in a child process (``_tf_child``): TensorFlow keeps
what a session over a frozen graph allocated until the process exits, several times the weights.
Below that, starting a child (importing TensorFlow again, ~3 s) costs more than the memory it saves.
``MODELPORT_TF_CHILD=1`` (``0``) forces the child (in-process) way; both run the same code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.runtimes import frozen_feeds
from modelport.tfimport import import_tensorflow

CHILD_FROM_BYTES = 32 * 2**20


class SignatureSession:
    def __init__(self, artifact: Any):
        tf = import_tensorflow()

        self._tf = tf
        self._loaded = tf.saved_model.load(str(artifact.path))
        self._fn = self._loaded.signatures[artifact.details.get("signature", "serving_default")]
        keys = artifact.details.get("signature_inputs") or [t.name for t in artifact.inputs]
        self._keys = dict(zip([t.name for t in artifact.inputs], keys))
        self._outputs = [t.name for t in artifact.outputs]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {self._keys[name]: self._tf.constant(value) for name, value in inputs.items()}
        result = self._fn(**feed)
        return {name: result[name].numpy() for name in self._outputs}


class GraphSession:
    """A tf.compat.v1 Session over a frozen GraphDef or a restored checkpoint."""

    def __init__(self, artifact: Any):
        tf = import_tensorflow()

        self._graph = tf.Graph()
        self._constants: dict[str, np.ndarray] = {}
        self.method: str | None = None  # how it ran, when not as a user's default session would
        with self._graph.as_default():
            self._session = tf.compat.v1.Session(graph=self._graph)
            if artifact.format == "pb":
                graph_def = tf.compat.v1.GraphDef()
                if frozen_feeds.feeds_constants(artifact.path):  # a large graph: its weights as feeds
                    fed = frozen_feeds.split(artifact.path)
                    graph_def.ParseFromString(fed.graph_def)
                    self._constants, self.method = fed.constants, fed.method()
                else:
                    graph_def.ParseFromString(artifact.path.read_bytes())
                tf.compat.v1.import_graph_def(graph_def, name="")
            else:
                prefix = artifact.path / artifact.details.get("checkpoint_prefix", "model")
                saver = tf.compat.v1.train.import_meta_graph(f"{prefix}.meta")
                saver.restore(self._session, str(prefix))
        self._feeds = dict(zip([t.name for t in artifact.inputs], artifact.details["input_tensors"]))
        self._fetches = dict(zip([t.name for t in artifact.outputs], artifact.details["output_tensors"]))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {**self._constants, **{self._feeds[name]: value for name, value in inputs.items()}}
        names = list(self._fetches)
        values = self._session.run([self._fetches[n] for n in names], feed)
        return dict(zip(names, values))


class ChildSession:
    """The same sessions, in ``python -m modelport.runtimes._tf_child``; its memory is the OS's again at ``close``."""

    def __init__(self, artifact: Any):
        self._artifact = artifact
        self._tmp = tempfile.TemporaryDirectory(prefix="modelport-tf-")
        self._err = open(Path(self._tmp.name) / "stderr", "w+b")  # TensorFlow's logs: read only on failure
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
                   PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen([sys.executable, "-m", "modelport.runtimes._tf_child"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._err, text=True, env=env)
        spec = Path(self._tmp.name) / "artifact.json"
        spec.write_text(json.dumps({**artifact.to_dict(), "path": str(Path(artifact.path).resolve())}))
        try:
            self.method = self._ask(f"load {spec}") or None
        except BaseException:  # Ctrl-C too: the child ends with the load
            self.close()
            raise

    def _ask(self, line: str) -> str:
        """The child's answer after ``ok`` (usually empty)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died: its exit is reported below
        answer = self._proc.stdout.readline().rstrip("\n")
        if answer == "ok" or answer.startswith("ok "):
            return answer[3:]
        if answer.startswith("error "):
            raise RuntimeError(answer[len("error "):])
        self._proc.wait()
        if self._proc.returncode in (-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM):
            from modelport.errors import Interrupted  # the run was interrupted, the artifact did not fail

            raise Interrupted(abs(self._proc.returncode) % 128)
        self._err.seek(0)
        last = self._err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"the TensorFlow child process died (exit {self._proc.returncode}): {last[0][:300]}")

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.run_many([inputs])[0]

    def run_many(self, batches: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
        """Every batch in one request; arrays travel as .npz (no pickles), exact to the bit."""
        names = [t.name for t in self._artifact.inputs]
        arrays = {f"b{b}_{j}": np.asarray(batch[n]) for b, batch in enumerate(batches)
                  for j, n in enumerate(names) if n in batch}
        src, dst = Path(self._tmp.name) / "inputs.npz", Path(self._tmp.name) / "outputs.npz"
        np.savez(src, batches=np.array(len(batches)), **arrays)
        self._ask(f"run {src} {dst}")
        with np.load(dst, allow_pickle=False) as got:
            return [{t.name: got[f"b{b}_{k}"] for k, t in enumerate(self._artifact.outputs)}
                    for b in range(len(batches))]

    def __del__(self) -> None:  # a caller that never closes still ends the child (its stdin closes)
        if getattr(self, "_proc", None) is not None:
            try:
                self.close()
            except Exception:  # at interpreter exit the modules close needs may be gone; the child sees EOF
                pass

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._err):
            if stream is not None:
                stream.close()
        self._tmp.cleanup()


def artifact_bytes(artifact: Any) -> int:
    path = Path(artifact.path)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def in_child(artifact: Any) -> bool:
    """Whether ``artifact`` runs in the child: forced by MODELPORT_TF_CHILD, else by its size. Inputs
    must be numbers (they travel as .npz without pickles)."""
    if not all(_numeric(t.dtype) for t in artifact.inputs):
        return False
    forced = os.environ.get("MODELPORT_TF_CHILD", "")
    if forced in ("0", "1"):
        return forced == "1"
    return artifact_bytes(artifact) >= CHILD_FROM_BYTES


def _numeric(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "biuf"
    except TypeError:  # "string" and other TensorFlow-only names
        return False


def load(artifact: Any):
    if artifact.format not in ("savedmodel", "pb", "ckpt"):
        raise ValueError(f"TensorFlow runtime cannot run format {artifact.format!r}")
    return ChildSession(artifact) if in_child(artifact) else load_in_process(artifact)


def load_in_process(artifact: Any):
    import_tensorflow()
    if artifact.format == "savedmodel":
        return SignatureSession(artifact)
    if artifact.format in ("pb", "ckpt"):
        return GraphSession(artifact)
    raise ValueError(f"TensorFlow runtime cannot run format {artifact.format!r}")
