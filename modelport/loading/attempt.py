"""One loader's attempt at a file: repair the config for it, build, fill weights, verify.

Raises a ``BadInputError`` subclass when the attempt fails, so the caller can try the next loader
and, if none succeeds, report every reason on one line.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from modelport.errors import BadInputError
from modelport.loading import backends, plan, repairs, verify, weights
from modelport.loading.config_reader import SavedFile
from modelport.spec import ModelSpec


def _is_keras3_weights_file(path: Any) -> bool:
    """Keras 3 ``save_weights`` files keep arrays under ``layers/<name>/vars/<i>``."""
    import h5py

    with h5py.File(path, "r") as f:
        return "layer_names" not in f.attrs and "layers" in f


def attempt(
    loader: str, saved: SavedFile, expected: ModelSpec, *, objects: dict[str, Any], trust_code: bool
) -> tuple[Any, list[str], list[str]]:
    """Returns ``(model, repairs applied, warnings)``."""
    if loader == backends.KERAS3:
        drift = repairs.keras3_semantic_drift(saved.model_config or {}, plan.era(saved))
        if drift:
            raise backends.DeserializeError(f"Keras 3 would compute different numbers: {drift}")
    config, applied = repairs.repair(saved.model_config or {}, loader, plan.era(saved))
    if saved.container == "zip":
        model = backends.load_zip(
            saved.path, config, bool(applied), loader, custom_objects=objects, trust_code=trust_code
        )
        stored = backends.zip_weight_count(saved.path)
        if stored != len(model.weights):
            raise verify.VerificationError(
                f"the archive stores {stored} weight arrays, the loaded model has {len(model.weights)}"
            )
    else:
        model = _build(loader, config, objects, trust_code)
        if _is_keras3_weights_file(saved.path):
            _load_keras3_weights(model, saved.path, loader)
        else:
            saved_arrays = weights.read_h5_weights(saved.path)
            _, conversions = weights.assign_by_name(
                model, saved_arrays, loader=loader, keras_version=saved.keras_version, backend=saved.backend
            )
            applied += conversions
    verify.check_input_shapes(model, expected)
    warnings = []
    if verify.nonfinite_weights(model):
        warnings.append(
            "the file's weights contain NaN or infinity (the model diverged in training): its outputs are not finite"
        )
    verify.check_forward(model, expected, allow_nonfinite=bool(warnings))
    return model, applied, warnings


def _build(loader: str, config: dict[str, Any], objects: dict[str, Any], trust_code: bool) -> Any:
    if loader == backends.TF_KERAS and trust_code:
        from tf_keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(safe_mode=False):
            return _build_guarded(loader, config, objects, trust_code)
    return _build_guarded(loader, config, objects, trust_code)


def _build_guarded(loader: str, config: dict[str, Any], objects: dict[str, Any], trust_code: bool) -> Any:
    try:
        return backends.build_from_config(config, loader, custom_objects=objects, trust_code=trust_code)
    except BadInputError:
        raise
    except Exception as e:  # trusted code (Lambda bytecode, user classes) can fail in any way
        if not (trust_code or objects):
            raise
        if trust_code and isinstance(e, (EOFError, SystemError, ValueError)) and '"Lambda"' in json.dumps(config):
            raise backends.DeserializeError(
                "a Lambda layer's marshalled bytecode was written by another Python version and cannot run "
                f"on Python {sys.version_info.major}.{sys.version_info.minor} ({type(e).__name__})"
            ) from None
        raise backends.DeserializeError(
            f"building the model ran your code and it failed ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else ''})"
        ) from None


def _load_keras3_weights(model: Any, path: Any, loader: str) -> None:
    import os
    import tempfile
    from pathlib import Path

    if loader != backends.KERAS3:
        raise backends.DeserializeError("Keras 3 save_weights files are read by Keras 3 only")
    with tempfile.TemporaryDirectory(prefix="modelport-w-") as tmp:
        link = Path(tmp) / "model.weights.h5"  # Keras picks the reader by this suffix
        os.symlink(Path(path).resolve(), link)
        try:
            model.load_weights(str(link))
        except (ValueError, KeyError) as e:
            raise BadInputError(
                f"the weights do not fit the architecture ({str(e).splitlines()[0][:200]})",
                "pass the weights saved from this very architecture",
            ) from None
