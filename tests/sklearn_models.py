"""Fitted scikit-learn pipelines for the tests, saved with skops: built in code, once per session.

- ``iris_lr``: StandardScaler -> LogisticRegression on iris (a DataFrame: named columns, int labels);
- ``mixed_gb``: a ColumnTransformer over two numeric columns (one with NaN, imputed) and a string
  column (one-hot) -> GradientBoostingClassifier with string labels;
- ``diabetes_ridge``: MinMaxScaler -> Ridge on diabetes (a regressor, numpy input: columns x0..x9);
- ``wine_tree``: DecisionTreeClassifier on wine (nyoka handles it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mixed_frame(n: int = 240, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(10, 3, n), "weight": rng.normal(0, 1, n),
                          "colour": rng.choice(["red", "green", "blue", "violet"], n)})
    frame.loc[rng.random(n) < 0.1, "weight"] = np.nan
    label = np.where((frame["size"] > 10) & (frame["colour"] != "red"), "big",
                     np.where(frame["colour"] == "blue", "blue", "other"))
    return frame, label


def build(name: str):
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_diabetes, load_iris, load_wine
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if name == "iris_lr":
        x, y = load_iris(return_X_y=True, as_frame=True)
        return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(x, y), x
    if name == "mixed_gb":
        x, y = mixed_frame()
        pre = ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["size", "weight"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"])])
        clf = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)
        return Pipeline([("pre", pre), ("clf", clf)]).fit(x, y), x
    if name == "diabetes_ridge":
        x, y = load_diabetes(return_X_y=True)
        return Pipeline([("scale", MinMaxScaler()), ("reg", Ridge(alpha=0.5))]).fit(x, y), x
    if name == "wine_tree":
        x, y = load_wine(return_X_y=True)
        return DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y), x
    raise KeyError(name)


def save(name: str, directory: Path):
    import skops.io as sio

    estimator, x = build(name)
    path = Path(directory) / f"{name}.skops"
    sio.dump(estimator, path)
    return path, estimator, x
