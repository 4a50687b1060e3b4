"""Reads the preprocessing file safely.

TO BE REPLACED at merge by the scikit-learn source's loader (the ``sklearn`` helper's safe .skops
loading): this is a small private stand-in with the same policy. A .skops file is loaded with
``skops.io.load``, trusting only the types skops reports as untrusted that live in scikit-learn's or
NumPy's own modules (and SciPy's sparse matrices); any other type is refused with one line naming it. Pickles
(.pkl/.pickle/.joblib) run code when read, so they load only with ``--trust-code``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, UnsafeModelError

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")


def load_transformer(path: str | Path, trust_code: bool = False) -> Any:
    """The fitted transformer in ``path`` (.skops; a pickle only with ``trust_code``)."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"preprocessing file {path} not found", "pass --preprocess with an existing .skops file")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        if not trust_code:
            raise UnsafeModelError(f"{path.name} is a pickle: reading it runs any code it holds",
                                   "save the transformer with skops.io.dump, or pass --trust-code if you trust the file")
        return _read_pickle(path)
    if suffix != ".skops":
        raise BadInputError(f"{path.name} is not a .skops file",
                            "save the fitted transformer with skops.io.dump(prep, 'prep.skops')")
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as e:  # not a zip, no schema: skops says why
        raise BadInputError(f"cannot read {path.name} as a skops file: {type(e).__name__}: {e}",
                            "save the fitted transformer with skops.io.dump") from None
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise UnsafeModelError(f"{path.name} holds types outside scikit-learn/NumPy: {', '.join(foreign)}",
                               "rebuild the preprocessing from scikit-learn's own transformers")
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as e:
        raise BadInputError(f"cannot load {path.name}: {type(e).__name__}: {e}",
                            "save the fitted transformer with skops.io.dump") from None


def _read_pickle(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as e:
        raise BadInputError(f"cannot load {path.name}: {type(e).__name__}: {e}",
                            "save the fitted transformer with skops.io.dump") from None
