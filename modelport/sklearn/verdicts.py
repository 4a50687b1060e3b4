"""Per step, per target verdicts for a scikit-learn pipeline, read from each backend's own registry:

- sklearn2pmml: the ``META-INF/sklearn2pmml.properties`` files in its JPMML-SkLearn jars (a regex of
  the Python class name -> the Java converter class);
- skl2onnx: ``sklearn_operator_name_map`` (class -> alias) joined with its converter pool;
- nyoka: the class names ``skl_to_pmml`` and ``pre_process`` dispatch on;

less the classes a backend accepts but measurably gets wrong (``MEASURED``, found by
``benchmarks/sklearn_coverage.py`` with the versions in docs/sklearn-coverage.md).
"""

from __future__ import annotations

import functools
import re
import zipfile
from pathlib import Path

# Classes a backend's registry accepts whose artifact does not compute what scikit-learn does
# (measured; see docs/sklearn-coverage.md). backend -> class name -> why.
MEASURED = {
    "nyoka": {
        "LogisticRegression": "nyoka writes one-vs-rest logits with simplemax normalisation, scikit-learn's "
                              "multinomial model uses softmax: probabilities differ",
        "GradientBoostingClassifier": "nyoka's top-level probability fields over its model chain read 0.0 in "
                                      "JPMML (PMML4S computes them)",
        "KNeighborsClassifier": "nyoka's NearestNeighborModel cannot be scored by JPMML",
    },
    "sklearn2pmml": {
        "KNeighborsClassifier": "the PMML NearestNeighborModel gives the label, not predict_proba's probabilities",
    },
    "skl2onnx": {
        "HistGradientBoostingClassifier": "skl2onnx builds an invalid TreeEnsembleClassifier node for it",
        "HistGradientBoostingRegressor": "skl2onnx builds an invalid TreeEnsembleRegressor node for it",
    },
}
# Glue scikit-learn inserts that every backend reads as part of its parent
_STRUCTURAL = {"Pipeline", "ColumnTransformer", "FunctionTransformer"}


@functools.lru_cache(maxsize=1)
def _sklearn2pmml_patterns() -> tuple[re.Pattern[str], ...]:
    import sklearn2pmml

    resources = Path(sklearn2pmml.__file__).parent / "resources"
    patterns = []
    for jar in sorted(resources.glob("*.jar")):
        try:
            with zipfile.ZipFile(jar) as z:
                if "META-INF/sklearn2pmml.properties" not in z.namelist():
                    continue
                text = z.read("META-INF/sklearn2pmml.properties").decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError):
            continue
        for line in text.splitlines():
            key = line.split("=", 1)[0].strip()
            if key and not key.startswith("#"):
                patterns.append(re.compile(key))
    return tuple(patterns)


def sklearn2pmml_supports(module: str, name: str) -> bool:
    qualified = f"{module}.{name}"
    return any(p.fullmatch(qualified) for p in _sklearn2pmml_patterns())


def skl2onnx_supports(module: str, name: str) -> bool:
    import importlib

    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import _converter_pool

    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    alias = sklearn_operator_name_map.get(cls)
    return alias is not None and alias in _converter_pool


@functools.lru_cache(maxsize=1)
def _nyoka_names() -> frozenset[str]:
    import inspect

    from nyoka.skl import pre_process, skl_to_pmml

    text = inspect.getsource(skl_to_pmml.get_PMML_kwargs) + inspect.getsource(pre_process.get_pml_derived_flds)
    return frozenset(re.findall(r"['\"]([A-Z][A-Za-z]+)['\"]", text))


def nyoka_supports(module: str, name: str) -> bool:
    import importlib

    names = _nyoka_names()
    if name in names:
        return True
    try:  # nyoka dispatches on base classes too (e.g. BaseDecisionTree)
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return any(base.__name__ in names for base in cls.__mro__[1:])


def verdict(backend: str, module: str, name: str) -> tuple[bool, str | None]:
    """(supported, reason when not) for one estimator class in one backend."""
    if name in _STRUCTURAL:
        return True, None
    if name in MEASURED.get(backend, {}):
        return False, MEASURED[backend][name]
    if backend == "nyoka":
        return (True, None) if nyoka_supports(module, name) else (False, "nyoka has no converter for it")
    if backend == "sklearn2pmml":
        return (True, None) if sklearn2pmml_supports(module, name) else (
            False, "JPMML-SkLearn (sklearn2pmml) has no converter for it")
    if backend == "skl2onnx":
        return (True, None) if skl2onnx_supports(module, name) else (False, "skl2onnx has no converter for it")
    raise ValueError(f"unknown backend {backend}")
