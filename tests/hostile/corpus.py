"""The hostile corpus: every broken or malicious "model file" the hardening tests feed modelport.

Everything is built in code inside a directory the caller owns (a pytest tmp dir). ``build_plain``
needs only h5py; ``build_keras`` needs Keras 3 and tf_keras (real ``save``/``save_weights`` output,
Lambda layers whose function writes a marker file if it ever runs). ``CASES`` says what each file
is and what modelport must answer.

    python -m tests.hostile.corpus DIR      # build it by hand, to try the CLI on it
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

MARKER_NAME = "PWNED"  # a Lambda's function creates this file (beside the corpus) if it ever runs
BOMB_UNPACKED = 400 * 1024 * 1024  # bytes the zip bomb's config.json claims / unpacks to


@dataclass(frozen=True)
class Case:
    name: str  # file name inside the corpus directory
    needle: str  # must appear in the one-line error ("a|b": either)
    keras: bool = False  # built by build_keras (needs Keras 3 / tf_keras)
    legit: bool = False  # a valid model: must load and convert
    code: bool = False  # holds code (Lambda, custom/foreign class): analyze may answer 3 (pmml cannot)


CASES = [
    Case("empty.h5", "empty file"),
    Case("random.h5", "unknown format"),
    Case("truncated.h5", "truncated"),
    Case("page.h5", "HTML page"),
    Case("no_model.h5", "weights only"),  # a valid HDF5 holding a dataset: no model config
    Case("a_directory.h5", "directory"),
    Case("missing.h5", "no such file|does not exist"),
    Case("not_a_zip.keras", "damaged zip"),
    Case("zip_slip.keras", "../../x"),
    Case("os_system.keras", "'os'", code=True),
    Case("custom_class.keras", "EvilLayer", code=True),
    Case("zip_bomb.keras", "config.json"),
    Case("zip_bomb_lying_header.keras", "config.json"),
    Case("weights_only.h5", "weights only", keras=True),  # tf_keras save_weights
    Case("keras3.weights.h5", "weights only", keras=True),  # Keras 3 save_weights
    Case("config_removed.h5", "weights only", keras=True),  # a full model with model_config deleted
    Case("lambda_keras3.keras", "Lambda", keras=True, code=True),
    Case("lambda_tf_keras.h5", "Lambda", keras=True, code=True),
    Case("hdf5_named.keras", "", keras=True, legit=True),
]
HOSTILE = [c for c in CASES if not c.legit]


def marker_path(root: Path) -> Path:
    return Path(root) / MARKER_NAME


# ----------------------------------------------------------------------------------- no Keras


def _config(*layers: dict) -> dict:
    """A small Keras 3 functional config; ``layers`` go between the input and nothing else."""
    inp = {"class_name": "InputLayer", "module": "keras.layers", "registered_name": None,
           "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "x"}, "name": "x"}
    return {"class_name": "Functional", "module": "keras", "registered_name": None,
            "config": {"name": "m", "layers": [inp, *layers], "input_layers": [["x", 0, 0]],
                       "output_layers": [[layers[-1]["config"]["name"], 0, 0]] if layers else [["x", 0, 0]]}}


def _layer(class_name: str, name: str, module: str = "keras.layers", **config) -> dict:
    return {"class_name": class_name, "module": module, "registered_name": None,
            "config": {"name": name, **config}, "name": name,
            "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
                                         "config": {"shape": [None, 4], "dtype": "float32",
                                                    "keras_history": ["x", 0, 0]}}], "kwargs": {}}]}


METADATA = json.dumps({"keras_version": "3.15.1", "date_saved": "2025-01-01@00:00:00"})


def _keras_zip(path: Path, config: dict, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", METADATA)
        zf.writestr("config.json", json.dumps(config))
        for name, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def _bomb(path: Path) -> Path:
    """config.json is a valid JSON object padded with BOMB_UNPACKED bytes of spaces (~400 kB packed):
    a reader that decompresses it whole needs hundreds of MB."""
    head = json.dumps(_config(_layer("Dense", "d", units=2)))[:-1].encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("metadata.json", METADATA)
        with zf.open("config.json", "w", force_zip64=True) as member:
            member.write(head)
            chunk = b" " * (8 << 20)
            for _ in range(BOMB_UNPACKED // len(chunk)):
                member.write(chunk)
            member.write(b"}")
    return path


def _lying_header(bomb: Path, path: Path) -> Path:
    """The bomb with config.json's unpacked size rewritten to 1 kB in both headers, so a size check
    on the header alone passes; only a bounded read stops it."""
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("config.json")
    # the local header keeps the sizes in its zip64 extra field (8 bytes), the central directory
    # in its 4-byte fields (under 4 GiB): rewrite every copy
    count = 0
    for width in (8, 4):
        real, fake = info.file_size.to_bytes(width, "little"), (1024).to_bytes(width, "little")
        start = 0
        while (i := data.find(real, start)) != -1:
            data[i:i + width] = fake
            start, count = i + width, count + 1
    path.write_bytes(bytes(data))
    return path


def build_plain(root: Path) -> Path:
    """Every hostile file that needs no Keras to build."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "empty.h5").write_bytes(b"")
    (root / "random.h5").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "page.h5").write_text("<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                                  "<body>Please sign in to download model.h5</body></html>\n")
    with h5py.File(root / "full.tmp.h5", "w") as f:  # an HDF5 with a config, then cut in half
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps(_config(_layer("Dense", "d", units=2)))
        f.create_dataset("model_weights/d/kernel", data=np.ones((4, 2), "float32"))
    full = (root / "full.tmp.h5").read_bytes()
    (root / "truncated.h5").write_bytes(full[: len(full) // 2])
    (root / "full.tmp.h5").unlink()
    with h5py.File(root / "no_model.h5", "w") as f:
        f.create_dataset("table", data=np.arange(10))
    (root / "a_directory.h5").mkdir(exist_ok=True)
    (root / "not_a_zip.keras").write_bytes(b"PK\x03\x04" + b"\0" * 60)
    dense = _config(_layer("Dense", "d", units=2))
    _keras_zip(root / "zip_slip.keras", dense, {"model.weights.h5": b"", "../../x": b"escaped"})
    # a layer "class" that is os.system, and an activation that names it as a function
    evil = _layer("system", "d", module="os")
    evil["config"]["command"] = f"touch {marker_path(root)}"
    _keras_zip(root / "os_system.keras", _config(evil))
    _keras_zip(root / "custom_class.keras", _config(_layer("EvilLayer", "evil", module="keras.layers")))
    bomb = _bomb(root / "zip_bomb.keras")
    _lying_header(bomb, root / "zip_bomb_lying_header.keras")
    return root


# -------------------------------------------------------------------------------- with Keras


def _marker_lambda(marker: Path):
    """A Python lambda that writes ``marker`` when called: saved as marshalled bytecode, with the
    path a constant inside the code (Keras 3 cannot reload a lambda's default arguments)."""
    return eval(f"lambda t: (open({str(marker)!r}, 'w').write('code ran'), t)[1]")  # noqa: S307


def build_keras(root: Path) -> Path:
    """The files that must be real Keras output: weights-only, config-stripped, Lambda models and a
    legitimate HDF5 file named ``.keras``. Building a Lambda model calls its function once (shape
    inference), so the marker is removed afterwards."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tf_keras

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    marker = marker_path(root)
    keras.utils.set_random_seed(0)
    tf_keras.utils.set_random_seed(0)

    def tf_mlp():
        inp = tf_keras.Input((4,), name="x")
        return tf_keras.Model(inp, tf_keras.layers.Dense(2, name="d")(inp))

    tf_mlp().save_weights(root / "weights_only.h5")
    k3 = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    k3.save_weights(root / "keras3.weights.h5")
    tf_mlp().save(root / "config_removed.h5")
    with h5py.File(root / "config_removed.h5", "a") as f:
        del f.attrs["model_config"]
    tf_mlp().save(root / "hdf5_named.tmp.h5")
    os.replace(root / "hdf5_named.tmp.h5", root / "hdf5_named.keras")

    inp = keras.Input((4,), name="x")
    keras.Model(inp, keras.layers.Lambda(_marker_lambda(marker), name="evil")(inp)).save(root / "lambda_keras3.keras")
    inp = tf_keras.Input((4,), name="x")
    tf_keras.Model(inp, tf_keras.layers.Lambda(_marker_lambda(marker), name="evil")(inp)).save(root / "lambda_tf_keras.h5")
    assert marker.exists(), "the Lambda was expected to run once while the model was built"
    marker.unlink()
    return root


def build(root: Path, *, keras: bool = True) -> Path:
    build_plain(root)
    if keras:
        build_keras(root)
    return root


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    shutil.rmtree(target, ignore_errors=True)
    print(build(target))
