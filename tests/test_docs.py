"""The docs are tested: every shell and Python example in README.md and docs/*.md runs, in order,
in a scratch folder per document, on fixture models. A doc that does not work fails CI.

The convention:

* run: fences ```bash, ```sh and ```python; in ```console blocks, the lines starting with ``$ ``;
* not run: every other fence (```text, ```yaml, ```toml, ```java, plain ```) — use ```text for a
  command that cannot run in a scratch folder (a clone, a remote cluster, a hook file);
* each document starts in a fresh folder holding ``model.h5`` and ``model.keras`` (the ``mlp``
  fixture, features → probs), ``weights.h5`` + ``model.json`` (a tf.keras weights-only file and its
  architecture) and ``layers.py`` (a custom-objects file); ``modelport`` and ``convert`` are on PATH;
* a shell block runs with ``bash -e -o pipefail`` (any failing command fails the doc);
* ``MODELPORT_RUNTIMES`` limits validation to the in-process runtimes (tensorflow, onnxruntime,
  jpmml): the examples' commands run as written, without the subprocess runtimes' minutes (the
  rest of the suite runs those).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.S | re.M)
LAYERS_PY = '''import keras


class Scale(keras.layers.Layer):
    """An example custom layer (the fixture model does not use it)."""

    def call(self, x):
        return 2.0 * x
'''


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """(kind, code) for every block the convention runs, in document order."""
    out = []
    for lang, body in FENCE.findall(text):
        if lang in ("bash", "sh"):
            out.append(("shell", body))
        elif lang == "console":
            commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
            if commands:
                out.append(("shell", "\n".join(commands) + "\n"))
        elif lang == "python":
            out.append(("python", body))
    return out


def _setup(folder: Path) -> None:
    """The files every document may use, built from the fixtures (one child process, no TF here):
    model.h5/model.keras (the mlp fixture), model.json + weights.h5, layers.py, data.parquet (rows for the mlp)."""
    script = f"""
import shutil, sys
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
from fixtures import save
folder = Path({str(folder)!r})
shutil.move(save("mlp", folder / "build", "h5"), folder / "model.h5")
shutil.move(save("mlp", folder / "build", "keras"), folder / "model.keras")
shutil.rmtree(folder / "build")
import tf_keras
inp = tf_keras.Input((4,), name="state")
out = tf_keras.layers.Dense(2, activation="tanh", name="action")(tf_keras.layers.Dense(6, activation="relu", name="h")(inp))
net = tf_keras.Model(inp, out)
(folder / "model.json").write_text(net.to_json())
net.save_weights(str(folder / "weights.h5"))
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows = np.random.default_rng(0).normal(size=(200, 8)).astype("float32")  # the mlp's input 'features'
pq.write_table(pa.table({{"id": np.arange(200), "features": list(rows)}}), folder / "data.parquet")
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, env=_env(), timeout=300)
    (folder / "layers.py").write_text(LAYERS_PY)


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO),
            "MODELPORT_RUNTIMES": "tensorflow,onnxruntime,jpmml",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_convention_picks_the_right_blocks():
    text = "```bash\na\n```\n```text\nb\n```\n```console\n$ c\noutput\n```\n```python\nd\n```\n```yaml\ne\n```\n"
    assert runnable_blocks(text) == [("shell", "a\n"), ("shell", "c\n"), ("python", "d\n")]


@pytest.mark.parametrize("doc", [d for d in DOCS if runnable_blocks(d.read_text())],
                         ids=lambda d: d.relative_to(REPO).as_posix())
def test_doc_examples_run(doc, tmp_path):
    _setup(tmp_path)
    for i, (kind, code) in enumerate(runnable_blocks(doc.read_text()), start=1):
        command = ["bash", "-e", "-o", "pipefail", "-c", code] if kind == "shell" else [sys.executable, "-c", code]
        proc = subprocess.run(command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (
            f"{doc.name} block {i} ({kind}) failed with exit {proc.returncode}:\n{code}\n--- stderr:\n{proc.stderr[-3000:]}")
