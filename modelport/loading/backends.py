"""Turn a (safety-checked, repaired) config into a model with Keras 3 or tf_keras, then fill weights.

Only called after ``safety.check`` passed; TensorFlow, keras and tf_keras are imported here, inside
the functions. HDF5 files: the library deserialises the config, ``weights.assign_by_name`` fills
every weight. ``.keras`` zips: Keras 3's own loader on the (possibly repaired) archive.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError
from modelport.loading.config_reader import SavedFile

KERAS3, TF_KERAS = "keras3", "tf_keras"


class DeserializeError(BadInputError):
    """A loader could not build the model from its config; the next loader may."""


def _quiet() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300] if text else ''}"


def build_from_config(config: dict[str, Any], loader: str, *, custom_objects: dict[str, Any], trust_code: bool) -> Any:
    _quiet()
    config = copy.deepcopy(config)  # Keras 3 pops keys out of the dict it reads: keep the file's config whole
    try:
        if loader == KERAS3:
            from keras.src.legacy.saving import saving_utils  # what Keras 3 itself uses for .h5 configs
            from keras.src.saving import serialization_lib

            with serialization_lib.SafeModeScope(safe_mode=not trust_code):
                return saving_utils.model_from_config(config, custom_objects=custom_objects)
        import tf_keras

        return tf_keras.models.model_from_config(config, custom_objects=custom_objects)
    except (TypeError, ValueError, KeyError, AttributeError, NotImplementedError) as e:
        raise DeserializeError(f"{loader} cannot build the model from its config ({_first_line(e)})") from None


def load_zip(
    path: Path, config: dict[str, Any], repaired: bool, loader: str, *, custom_objects: dict[str, Any], trust_code: bool,
    members: dict[str, bytes] | None = None,
) -> Any:
    """A ``.keras`` archive; when the config was repaired (or ``members`` replace some of its
    files), load a copy carrying the repaired parts."""
    _quiet()
    with tempfile.TemporaryDirectory(prefix="modelport-load-") as tmp:
        target = path
        members = members or {}
        if repaired or members:
            target = Path(tmp) / "repaired.keras"
            with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as dst:
                for info in src.infolist():
                    if info.filename == "config.json":
                        dst.writestr("config.json", json.dumps(config))
                    elif info.filename in members:
                        dst.writestr(info.filename, members[info.filename])
                    else:
                        with src.open(info) as member, dst.open(info.filename, "w") as out:
                            while chunk := member.read(1 << 20):
                                out.write(chunk)
        elif path.suffix != ".keras":  # Keras picks its reader by extension
            target = Path(tmp) / "model.keras"
            os.symlink(path.resolve(), target)
        try:
            if loader == KERAS3:
                import keras

                return keras.saving.load_model(
                    str(target), compile=False, safe_mode=not trust_code, custom_objects=custom_objects or None
                )
            import tf_keras

            return tf_keras.models.load_model(
                str(target), compile=False, safe_mode=not trust_code, custom_objects=custom_objects or None
            )
        except (TypeError, ValueError, KeyError, AttributeError, OSError, NotImplementedError) as e:
            raise DeserializeError(f"{loader} cannot load the archive ({_first_line(e)})") from None


def saved_is_keras3_style(saved: SavedFile) -> bool:
    return bool(saved.keras_version and saved.keras_version.startswith("3"))
