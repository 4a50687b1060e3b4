"""The preprocessing as a source beside the Keras model: read safely, described, and checked against
the model's input (shared by ``pipeline`` and ``validate``)."""

from __future__ import annotations

from pathlib import Path

from modelport.compose.columns import Preprocessing, describe
from modelport.errors import BadInputError, stage
from modelport.io import sha256_path
from modelport.spec import ModelSpec, TensorSpec


def read_preprocessing(path: str | Path, trust_code: bool = False, trust_types: tuple[str, ...] = ()) -> Preprocessing:
    """The fitted transformer in ``path`` and what it reads and writes (one line when it is not one).
    It is read as a scikit-learn source is: skops with scikit-learn's own types, a pickle only with
    ``trust_code``."""
    from modelport.sklearn.audit import audit
    from modelport.sklearn.loading import load_estimator

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"preprocessing file {path} not found", "pass --preprocess with an existing .skops file")
    with stage("load", path.name, hint="save the fitted transformer with skops.io.dump"):
        transformer, loader = load_estimator(path, trust_types=tuple(trust_types), trust_code=trust_code)
        audit(path, transformer, loader)  # every array the file stores is in what loaded
        return describe(transformer, path.name, sha256_path(path))


def check_fits(prep: Preprocessing, spec: ModelSpec) -> None:
    """The model must read exactly what the preprocessing writes: one input of ``prep.width`` values."""
    if len(spec.inputs) != 1 or len(spec.inputs[0].shape) != 2:
        shapes = ", ".join(f"{t.name} {list(t.shape)}" for t in spec.inputs)
        raise BadInputError(f"--preprocess needs a model with one (rows, values) input; this one has {shapes}",
                            "compose the preprocessing with a model that reads its output directly")
    width = spec.inputs[0].shape[1]
    if width is not None and int(width) != prep.width:
        raise BadInputError(f"{prep.path} writes {prep.width} values per row; the model's input "
                            f"'{spec.inputs[0].name}' reads {width}",
                            "pass the preprocessing the model was trained after")


def composed_signature(prep: Preprocessing) -> list[TensorSpec]:
    """The composed artifact's inputs: one (rows, 1) tensor per raw column."""
    return [TensorSpec(c.name, (None, 1), c.dtype) for c in prep.columns]
