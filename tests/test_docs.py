"""The docs are tested: every shell and Python example in README.md and docs/*.md runs, in order,
in a scratch folder per document, on fixture models. A doc that does not work fails CI.

The convention:

* run: fences ```bash, ```sh and ```python; in ```console blocks, the lines starting with ``$ ``;
* not run: every other fence (```text, ```yaml, ```toml, ```java, plain ```) — use ```text for a
  command that cannot run in a scratch folder (a clone, a remote cluster, a hook file);
* each document starts in a fresh folder holding ``model.h5`` and ``model.keras`` (the ``mlp``
  fixture, features → probs), ``weights.h5`` + ``model.json`` (a tf.keras weights-only file and its
  architecture), ``layers.py`` (a custom-objects file) and ``data.parquet`` (rows for the mlp);
  ``modelport`` and ``convert`` are on PATH;
* a shell block runs with ``bash -e -o pipefail`` semantics (any failing command fails the doc); a
  block of plain ``modelport``/``convert`` command lines runs each through the console scripts' entry
  point (``modelport.cli.run``) in-process — see tests/doc_runner.py; anything else runs in bash;
* a document whose examples use Spark (``score``, ``spark``) runs in one child process of its own,
  started in its folder: Spark resolves relative paths against its JVM's working directory, which
  a chdir cannot move, and that child's one Spark start serves all the document's commands;
* ``MODELPORT_RUNTIMES`` limits validation to the in-process runtimes (tensorflow, onnxruntime,
  jpmml): the examples' commands run as written, without the subprocess runtimes' minutes (the
  rest of the suite runs those).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from tests.doc_runner import plain_commands, run_blocks, runnable_blocks

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUNTIMES = "tensorflow,onnxruntime,jpmml"
OWN_PROCESS = re.compile(r"\b(score|spark)\b")  # Spark: a JVM whose working directory is the doc's folder
LAYERS_PY = '''import keras


class Scale(keras.layers.Layer):
    """An example custom layer (the fixture model does not use it)."""

    def call(self, x):
        return 2.0 * x
'''


@pytest.fixture(scope="session")
def doc_files(tmp_path_factory) -> Path:
    """The files every document starts with, built once: model.h5/model.keras (the mlp fixture),
    model.json + weights.h5, layers.py, data.parquet (rows for the mlp)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tf_keras

    from fixtures import save

    folder = tmp_path_factory.mktemp("doc-files")
    shutil.move(save("mlp", folder / "build", "h5"), folder / "model.h5")
    shutil.move(save("mlp", folder / "build", "keras"), folder / "model.keras")
    shutil.rmtree(folder / "build")
    inp = tf_keras.Input((4,), name="state")
    hidden = tf_keras.layers.Dense(6, activation="relu", name="h")(inp)
    net = tf_keras.Model(inp, tf_keras.layers.Dense(2, activation="tanh", name="action")(hidden), name="policy")
    (folder / "model.json").write_text(net.to_json())
    net.save_weights(str(folder / "weights.h5"))
    rows = np.random.default_rng(0).normal(size=(200, 8)).astype("float32")  # the mlp's input 'features'
    pq.write_table(pa.table({"id": np.arange(200), "features": list(rows)}), folder / "data.parquet")
    (folder / "layers.py").write_text(LAYERS_PY)
    return folder


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO), "MODELPORT_RUNTIMES": RUNTIMES,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_convention_picks_the_right_blocks():
    text = "```bash\na\n```\n```text\nb\n```\n```console\n$ c\noutput\n```\n```python\nd\n```\n```yaml\ne\n```\n"
    assert runnable_blocks(text) == [("shell", "a\n"), ("shell", "c\n"), ("python", "d\n")]


def test_only_plain_command_lines_run_in_process():
    assert plain_commands("modelport convert m.h5 --to pb   # a comment\n\nconvert m.h5 -o 'a b'\n") == [
        ["modelport", "convert", "m.h5", "--to", "pb"], ["convert", "m.h5", "-o", "a b"]]
    for shell in ("modelport inspect m.h5 | head", "modelport gate out > log", "cd out", "X=1 modelport gate out",
                  "modelport gate $OUT", "modelport gate out && echo ok", "modelport inspect *.h5",
                  "modelport convert m.h5 \\\n  --to pb", "modelport gate 'out"):
        assert plain_commands(shell) is None, shell


def test_console_scripts_are_on_path(tmp_path):
    """The docs type `modelport` and `convert`: both console scripts run (the in-process runs above
    go through the same entry point)."""
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", "modelport --version && convert --help"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("modelport ") and "Usage: convert" in proc.stdout


@pytest.mark.parametrize("doc", [d for d in DOCS if runnable_blocks(d.read_text())],
                         ids=lambda d: d.relative_to(REPO).as_posix())
def test_doc_examples_run(doc, doc_files, tmp_path, monkeypatch):
    folder = tmp_path / "doc"
    shutil.copytree(doc_files, folder)
    blocks = runnable_blocks(doc.read_text())
    if any(OWN_PROCESS.search(code) for _, code in blocks):
        proc = subprocess.run([sys.executable, "-m", "tests.doc_runner", str(doc)], cwd=folder, env=_env(),
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-5000:]
        return
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "path", list(sys.path))  # a block's sys.path edits stay in its document
    run_blocks(doc.name, blocks, folder)
