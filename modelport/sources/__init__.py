"""The kinds of model modelport converts, behind one ``Source`` interface (``sources.base``).

``open_source(path, options)`` sniffs the file's bytes: a skops archive or a pickle/joblib dump is a
scikit-learn source, anything else goes to the Keras reader (which names what the file looks like
when it is neither). ``for_spec(spec)`` gives the source object for a loaded model's kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.sources.base import Source

__all__ = ["Source", "for_kind", "for_loaded", "kind_of", "open_source"]


def kind_of(path: str | Path) -> str:
    from modelport.sklearn.sniff import sniff

    return "sklearn" if sniff(path) is not None else "keras"


def for_kind(kind: str, path: str | Path, options: Any = None) -> Source:
    if kind == "sklearn":
        from modelport.sources.sklearn import SklearnSource

        return SklearnSource(Path(path), options)
    from modelport.sources.keras import KerasSource

    return KerasSource(Path(path), options)


def open_source(path: str | Path, options: Any = None) -> Source:
    return for_kind(kind_of(path), path, options)


def for_loaded(loaded: Any) -> Source:
    spec = loaded.spec
    return for_kind(getattr(spec, "kind", "keras"), getattr(spec, "source", ""), getattr(loaded, "options", None))
