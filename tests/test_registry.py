"""Third-party targets plug in through the `modelport.converters` entry-point group."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import REPO

PLUGIN = '''
import numpy as np
from modelport.convert.base import NATIVE, Artifact, Finding


class WeightsNpz:
    """A toy target: the model's weights as one .npz (what a custom serving stack might read)."""

    target = "weights-npz"
    suffix = ".npz"
    description = "weights as numpy arrays"

    def check(self, spec):
        return [Finding(self.target, la.name, la.class_name, NATIVE) for la in spec.layers]

    def export(self, model, spec, dest, options):
        with open(dest, "wb") as f:
            np.savez(f, **{w.path.replace("/", "__"): np.asarray(w) for w in model.weights})
        return Artifact(path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs))


class Broken:
    target = "broken"
    suffix = ".x"
'''


def _install_plugin(root):
    (root / "toy_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = root / "toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[modelport.converters]\nweights-npz = toy_plugin:WeightsNpz\nbroken = toy_plugin:Broken\n")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO}", "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_entry_point_converter_is_a_target(tmp_path, fixture_file):
    import numpy as np

    env = _install_plugin(tmp_path)
    listed = subprocess.run([sys.executable, "-c", "import modelport.convert as r; print(r.available())"],
                            capture_output=True, text=True, env=env)
    assert "weights-npz" in listed.stdout, listed.stderr
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "modelport", "convert", str(fixture_file("mlp")), "--to",
                           "weights-npz,onnx", "-o", str(out), "--no-validate"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    arrays = np.load(out / "mlp.npz")
    assert arrays["hidden1__kernel"].shape == (8, 16)
    assert (out / "mlp.onnx").is_file()


def test_converter_without_the_interface_is_refused_by_name(tmp_path, fixture_file):
    env = _install_plugin(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "modelport", "convert", str(fixture_file("mlp")), "--to", "broken",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "broken" in proc.stderr and "lacks" in proc.stderr and "check" in proc.stderr
