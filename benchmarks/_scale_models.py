"""Builds the benchmark models of bench_scale.py: keras.applications with weights=None, then
non-trivial weights (scaled kernels, random BatchNorm statistics) so outputs vary with inputs.

    python benchmarks/_scale_models.py NAME OUT.h5     (NAME: mobilenetv2, resnet50, vgg16, big, mlp)

``big`` is a model just over protobuf's 2 GB: two Dense layers whose kernels together hold 2.1 GB.
"""

from __future__ import annotations

import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build(name: str):
    import keras

    keras.utils.set_random_seed(0)
    if name == "mobilenetv2":
        return keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None)
    if name == "resnet50":
        return keras.applications.ResNet50(weights=None)
    if name == "vgg16":
        return keras.applications.VGG16(weights=None)
    if name == "big":  # 2 × 16384 × 16384 float32 kernels = 2.15 GB (protobuf's limit is 2 GiB)
        inp = keras.Input((16384,), name="x")
        h = keras.layers.Dense(16384, activation="tanh", name="wide1", kernel_initializer="zeros")(inp)
        out = keras.layers.Dense(16384, name="wide2", kernel_initializer="zeros")(h)
        return keras.Model(inp, out, name="big")
    if name == "mlp":  # a PMML target: the JVM runtimes' section
        inp = keras.Input((13,), name="x")
        h = keras.layers.Dense(64, activation="relu", name="hidden")(inp)
        return keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="probs")(h), name="mlp")
    raise SystemExit(f"unknown model {name}")


def make_weights_non_trivial(model, seed: int = 7) -> None:
    """Random BatchNorm statistics and kernels scaled per layer, one weight at a time (no second copy
    of the whole model): a random init normalised by BatchNorm's identity statistics hides errors."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "BatchNormalization":
            gamma, beta, mean, var = (w.shape for w in layer.weights)
            layer.set_weights([rng.uniform(0.5, 1.5, gamma).astype("float32"),
                               rng.normal(0, 0.2, beta).astype("float32"),
                               rng.normal(0, 0.5, mean).astype("float32"),
                               rng.uniform(0.5, 2.0, var).astype("float32")])
        elif kind in ("Dense", "Conv2D", "DepthwiseConv2D"):
            for weight in layer.weights:
                shape = tuple(weight.shape)
                if len(shape) > 1:  # kernel: He-scaled, so activations keep their spread through depth
                    fan_in = int(np.prod(shape[:-1])) if kind != "DepthwiseConv2D" else int(np.prod(shape[:2]))
                    value = rng.standard_normal(shape, dtype=np.float32)
                    value *= np.float32(np.sqrt(2.0 / fan_in))
                else:
                    value = rng.normal(0, 0.1, shape).astype("float32")
                weight.assign(value)
                del value


def main() -> None:
    name, out = sys.argv[1], sys.argv[2]
    model = build(name)
    make_weights_non_trivial(model)
    model.save(out)
    weight_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.weights)
    print(f"{name} {model.count_params()} params {weight_bytes} bytes")


if __name__ == "__main__":
    main()
