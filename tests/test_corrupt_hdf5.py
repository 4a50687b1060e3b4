"""Corrupted HDF5 model files only ever give the documented error family.

Fuzzing (fuzz/fuzz_model_file.py) found h5py reporting a corrupt object header as KeyError; this
replays the same kind of damage deterministically: seeded byte flips all over a small model file.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from modelport import api
from modelport.errors import ModelportError

CONFIG = {
    "class_name": "Sequential",
    "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "x"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "softmax"}},
    ]},
}


def _model_file(path):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(CONFIG)
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"d"]
        layer = group.create_group("d")
        layer.attrs["weight_names"] = [b"d/kernel:0", b"d/bias:0"]
        layer.create_dataset("d/kernel:0", data=np.ones((4, 3), "float32"))
        layer.create_dataset("d/bias:0", data=np.zeros(3, "float32"))
    return path


def test_byte_flips_never_escape_the_error_family(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELPORT_HDF5_TIMEOUT", "10")  # a flip that makes libhdf5 spin costs 10 s, not 30
    original = _model_file(tmp_path / "m.h5").read_bytes()
    assert api.analyze(tmp_path / "m.h5", to="onnx").ok  # the intact file is fine
    rng = np.random.default_rng(7)
    outcomes = {"ok": 0, "error": 0}
    for i in range(80):
        data = bytearray(original)
        for offset in rng.integers(8, len(data), size=int(rng.integers(1, 4))):  # keep the magic bytes
            data[offset] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{i}.h5"
        path.write_bytes(bytes(data))
        try:
            api.analyze(path, to="onnx")
            outcomes["ok"] += 1
        except ModelportError as e:
            assert "\n" not in str(e)
            outcomes["error"] += 1
        path.unlink()
    assert outcomes["error"] > 0  # the damage was real often enough to exercise the error paths


def test_hdf5_reads_that_do_not_finish_are_stopped(tmp_path, monkeypatch):
    """libhdf5 can spin forever on a crafted file (fuzzing found one); the first reads run in a
    child process with a time limit. A limit no read can meet shows the stop is clean."""
    import pytest

    from modelport.loading import hdf5_probe

    path = _model_file(tmp_path / "slow.h5")
    monkeypatch.setenv("MODELPORT_HDF5_TIMEOUT", "0.001")
    hdf5_probe._PROBED.clear()
    with pytest.raises(ModelportError, match="did not finish within"):
        api.analyze(path)
