"""Text helpers for the XML writer: escaping and shortest round-tripping numbers."""

from __future__ import annotations

from xml.sax.saxutils import escape

import numpy as np

_ATTR = {'"': "&quot;"}


def esc(text: str) -> str:
    """Escape for an attribute value or element text."""
    return escape(str(text), _ATTR)


def fmt(values):
    """Shortest string that parses back to the same number.

    A value exactly representable as float32 (every weight read from a float32 Keras model) is
    written in its shortest float32 form (``0.1`` rather than ``0.10000000149011612``); a composed
    float64 value (a folded BatchNormalization, say) in its shortest float64 form. Either way the
    engine's double parser reads back the value modelport computed with. Scalars give a ``str``,
    arrays an array of ``str`` of the same shape.
    """
    a = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite weight: the model holds NaN or infinity")
    f32 = a.astype(np.float32)
    exact = f32.astype(np.float64) == a
    if exact.all():
        out = f32.astype(str)
    else:
        out = a.astype(str).astype(object)
        out[exact] = f32[exact].astype(str)
    if out.ndim == 0:
        return str(out[()])
    return out
