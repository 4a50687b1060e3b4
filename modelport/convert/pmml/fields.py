"""PMML input field names and the verification rows' size: shared by the converter (its checks)
and the document builder, so neither imports the other."""

from __future__ import annotations

from math import prod

from modelport.errors import BadInputError, UnsupportedTargetError
from modelport.spec import ModelSpec

VERIFY_ROWS = 5
VERIFY_SEED = 20240611


def input_field_names(spec: ModelSpec, feature_names: list[str] | None) -> dict[str, list[str]]:
    """Keras input name -> PMML field names (``x1..xn`` across all inputs unless given)."""
    sizes = {}
    for t in spec.inputs:
        dims = t.shape[1:]
        if any(d is None for d in dims):
            raise UnsupportedTargetError(
                f"pmml needs a fixed input shape; input '{t.name}' has shape {list(t.shape)}",
                "pass --sequence-length N for a dynamic time axis, rebuild the model with a fixed input shape, "
                "or use onnx or savedmodel",
            )
        sizes[t.name] = prod(dims) if dims else 1
    total = sum(sizes.values())
    names = list(feature_names) if feature_names else [f"x{k + 1}" for k in range(total)]
    if len(names) != total:
        raise BadInputError(f"{len(names)} feature names given; the model has {total} input values",
                            f"pass exactly {total} names with --feature-names")
    if len(set(names)) != len(names):
        raise BadInputError("feature names repeat", "pass distinct names with --feature-names")
    out, k = {}, 0
    for name, n in sizes.items():
        out[name] = names[k:k + n]
        k += n
    return out
