"""Load a scikit-learn file without running code it carries.

A ``.skops`` archive is read by skops, which builds only the types it is told to trust: every type
from scikit-learn and numpy is trusted, anything else is refused with the list of such types
(``--trust-type T`` accepts one). A pickle or joblib dump runs code as it is read, so it is refused
unless the user passes ``--trust-code``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, NotAModelError, UnsafeModelError
from modelport.sklearn.sniff import PICKLE, SKOPS, sniff

# types whose whole module tree is scikit-learn's or numpy's own: what a fitted pipeline is made of
TRUSTED_PREFIXES = ("sklearn.", "numpy.")


def untrusted_types(path: str | Path, trust_types: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The types in a skops file that neither scikit-learn/numpy nor ``trust_types`` account for."""
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=str(path))
    except Exception as e:  # a damaged or foreign archive
        raise NotAModelError(f"{path} is not a readable skops file ({type(e).__name__}: {e})",
                             "save the pipeline with skops.io.dump(model, 'model.skops')") from None
    return [t for t in found if not t.startswith(TRUSTED_PREFIXES) and t not in set(trust_types)]


def check_safe(path: str | Path, *, trust_types: tuple[str, ...] | list[str] = (), trust_code: bool = False) -> str:
    """Refuse the file unless it can be read safely or the user opted in; returns its kind."""
    p = Path(path)
    kind = sniff(p)
    if kind == PICKLE and not trust_code:
        raise UnsafeModelError(
            f"{p.name} is a pickle/joblib file: loading it runs whatever code it carries",
            "save the pipeline with skops.io.dump(model, 'model.skops') and convert that, "
            "or pass --trust-code if you trust this file's author")
    if kind == SKOPS:
        foreign = untrusted_types(p, trust_types)
        if foreign:
            raise UnsafeModelError(
                f"{p.name} names types that are not scikit-learn's or numpy's: {', '.join(foreign)}",
                "pass --trust-type TYPE for each one you trust (loading builds them)")
    elif kind is None:
        raise NotAModelError(f"{p} is not a skops, pickle or joblib file", "pass a .skops file")
    return kind


def load_estimator(path: str | Path, *, trust_types: tuple[str, ...] | list[str] = (),
                   trust_code: bool = False) -> tuple[Any, str]:
    """The fitted estimator in the file, and how it was read ("skops" or "joblib")."""
    p = Path(path)
    kind = check_safe(p, trust_types=trust_types, trust_code=trust_code)
    if kind == SKOPS:
        import skops.io as sio

        trusted = sio.get_untrusted_types(file=str(p))  # every one passed check_safe
        estimator, loader = sio.load(str(p), trusted=trusted), "skops"
    else:
        import joblib

        estimator, loader = joblib.load(p), "joblib"
    if not hasattr(estimator, "fit") or not any(hasattr(estimator, m) for m in ("predict", "transform")):
        raise NotAModelError(f"{p.name} holds a {type(estimator).__name__}, not a scikit-learn estimator",
                             "save a fitted estimator or Pipeline")
    _check_fitted(estimator, p)
    return estimator, loader


def _check_fitted(estimator: Any, path: Path) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise BadInputError(f"{path.name} holds an unfitted {type(estimator).__name__}",
                            "fit the estimator before saving it") from None
    except TypeError:  # not an estimator check_is_fitted understands: the spec will tell
        pass
