"""A Keras classifier with its fitted scikit-learn preprocessing, for tests/test_compose.py.

Wine's 13 measurements plus a synthetic string column ``region``: a ColumnTransformer scales ten
columns (StandardScaler), imputes and robust-scales two that have gaps (SimpleImputer, RobustScaler),
min-max scales one, and one-hot encodes the region; a small Keras network, trained a few epochs,
reads the 17 columns that come out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REGIONS = ["north", "south", "east", "west"]
SCALED = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "total_phenols", "flavanoids",
          "nonflavanoid_phenols", "proanthocyanins", "hue", "od280/od315_of_diluted_wines"]
IMPUTED = ["magnesium", "color_intensity"]
MINMAX = ["proline"]


def raw_frame(seed: int = 0):
    """Wine as a DataFrame with gaps in the imputed columns and a region string column."""
    import pandas as pd
    from sklearn.datasets import load_wine

    data = load_wine()
    frame = pd.DataFrame(data.data, columns=data.feature_names)
    rng = np.random.default_rng(seed)
    for col in IMPUTED:
        frame.loc[rng.random(len(frame)) < 0.15, col] = np.nan
    frame["region"] = rng.choice(REGIONS, len(frame))
    return frame, data.target


def fitted_preprocessing(frame):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

    prep = ColumnTransformer([
        ("scaled", StandardScaler(), SCALED),
        ("imputed", Pipeline([("fill", SimpleImputer(strategy="median")), ("robust", RobustScaler())]), IMPUTED),
        ("minmax", MinMaxScaler(), MINMAX),
        ("region", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["region"]),
    ])
    return prep.fit(frame)


def build(root: Path) -> dict:
    """Writes wine.keras and prep.skops under ``root``; returns their paths, the frame and the width."""
    import keras
    import skops.io as sio

    frame, target = raw_frame()
    prep = fitted_preprocessing(frame)
    x = np.asarray(prep.transform(frame), np.float32)
    keras.utils.set_random_seed(7)
    inputs = keras.Input((x.shape[1],), name="features")
    hidden = keras.layers.Dense(12, activation="tanh", name="hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="cultivar")(hidden)
    model = keras.Model(inputs, outputs, name="wine")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, target, epochs=4, batch_size=32, verbose=0)
    root.mkdir(parents=True, exist_ok=True)
    model_path, prep_path = root / "wine.keras", root / "prep.skops"
    model.save(model_path)
    sio.dump(prep, prep_path)
    return {"model": model_path, "prep": prep_path, "frame": frame, "width": x.shape[1]}
