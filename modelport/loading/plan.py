"""Which loaders to try, in which order, from what the file says about itself. No TensorFlow.

Keras 3 wrote it -> Keras 3 only (tf_keras reads no Keras 3 config). Keras 1/2 or tf.keras .h5 ->
tf_keras first (it reads their configs natively), then Keras 3 on the repaired config. tf.keras
2.12-2.15 ``.keras`` zips -> Keras 3 (repaired config), then tf_keras; both read the archive with its
weights moved to today's paths (``archive_repairs.py``). Verification after loading decides; the
first loader whose result passes wins.
"""

from __future__ import annotations

from typing import Any

from modelport.loading.config_reader import SavedFile
from modelport.loading.keras1 import looks_like_keras1

KERAS3, TF_KERAS = "keras3", "tf_keras"
KERAS1, KERAS2, KERAS3_ERA = "keras1", "keras2", "keras3"


def _has_keras3_markers(config: Any) -> bool:
    """Keras 3 configs carry ``batch_shape`` and ``__keras_tensor__`` inbound nodes."""
    text_keys = ('"batch_shape"', '"__keras_tensor__"')
    import json

    text = json.dumps(config)
    return any(k in text for k in text_keys)


def era(saved: SavedFile) -> str:
    version = saved.keras_version or ""
    if version.startswith("3"):
        return KERAS3_ERA
    if version.startswith("1"):
        return KERAS1
    if version.startswith("2"):
        return KERAS2
    config = saved.model_config or {}
    if looks_like_keras1(config):
        return KERAS1
    if _has_keras3_markers(config):
        return KERAS3_ERA
    return KERAS2


def loader_order(saved: SavedFile) -> list[str]:
    e = era(saved)
    if e == KERAS3_ERA:
        return [KERAS3]
    if saved.container == "zip":
        return [KERAS3, TF_KERAS]
    return [TF_KERAS, KERAS3]
