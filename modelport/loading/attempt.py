"""One loader's attempt at a file: repair the config for it, build, fill weights, verify.

Raises a ``BadInputError`` subclass when the attempt fails, so the caller can try the next loader
and, if none succeeds, report every reason on one line.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from modelport.errors import BadInputError
from modelport.loading import archive_repairs, audit, backends, keras2_archive, plan, repairs, verify, weights
from modelport.loading.config_reader import SavedFile
from modelport.spec import ModelSpec


def _is_keras3_weights_file(path: Any) -> bool:
    """Keras 3 ``save_weights`` files keep arrays under ``layers/<name>/vars/<i>``."""
    import h5py

    with h5py.File(path, "r") as f:
        return "layer_names" not in f.attrs and "layers" in f


def attempt(
    loader: str, saved: SavedFile, expected: ModelSpec, *, objects: dict[str, Any], trust_code: bool
) -> tuple[Any, list[str], list[str], audit.Audit | None]:
    """Returns ``(model, repairs applied, warnings, weight audit)``; the audit is None only for a
    file that stores no weights at all."""
    if loader == backends.KERAS3:
        drift = repairs.keras3_semantic_drift(saved.model_config or {}, plan.era(saved))
        if drift:
            raise backends.DeserializeError(f"Keras 3 would compute different numbers: {drift}")
    config, applied = repairs.repair(saved.model_config or {}, loader, plan.era(saved))
    if saved.container == "zip":
        fixed = archive_repairs.repair_archive(saved.path, config, saved.keras_version)
        model = backends.load_zip(
            saved.path, config, bool(applied), loader, custom_objects=objects, trust_code=trust_code,
            members=fixed.members,
        )
        applied += fixed.applied
        if fixed.moved is not None:  # a tf.keras 2.13-2.15 archive: its arrays were moved, each is checked in place
            keras2_archive.audit(model, fixed.moved)
            result = _audit_moved(model, saved.path, fixed.members["model.weights.h5"])
        else:
            result = _audit_keras_format(model, saved.path, "zip")
    else:
        model = _build(loader, config, objects, trust_code)
        if _is_keras3_weights_file(saved.path):
            _load_keras3_weights(model, saved.path, loader)
            result = _audit_keras_format(model, saved.path, "hdf5")
        else:
            saved_arrays = weights.read_h5_weights(saved.path)
            assignments, conversions = weights.assign_by_name(
                model, saved_arrays, loader=loader, keras_version=saved.keras_version, backend=saved.backend
            )
            applied += conversions
            result = audit.audit_assignments(model, assignments, audit.digest_h5(saved.path))
            del saved_arrays, assignments
    if result is not None:
        result.tables = audit.audit_lookups(model, config, saved.container)
    verify.check_input_shapes(model, expected)
    warnings = []
    if verify.nonfinite_weights(model):
        warnings.append(
            "the file's weights contain NaN or infinity (the model diverged in training): its outputs are not finite"
        )
    verify.check_forward(model, expected, allow_nonfinite=bool(warnings))
    return model, applied, warnings, result


def _audit_keras_format(model: Any, path: Any, container: str) -> audit.Audit | None:
    with audit.weights_h5(path, container) as h5:
        if h5 is None:
            if model.weights:
                raise audit.WeightAuditError(
                    f"the file stores no weights, the model has {len(model.weights)}", "save the model again")
            return None
        digest = audit.digest_h5(h5)
        if container == "zip":
            audit.add_assets(digest, path)
        return audit.audit_resaved(model, h5, digest)


def _audit_moved(model: Any, archive: Any, moved_weights: bytes) -> audit.Audit:
    """Audit against the moved copy of the weights (today's paths); the digest stays the file's own."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="modelport-audit-") as tmp:
        h5 = Path(tmp) / "model.weights.h5"
        h5.write_bytes(moved_weights)
        result = audit.audit_resaved(model, h5, audit.digest_h5(h5))
    original = audit.stored_digest(archive, "zip")
    if original is not None:
        result.sha256 = original.sha256
    result.method += " (after moving tf.keras 2.13-2.15 paths)"
    return result


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
