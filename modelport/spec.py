"""Plain descriptions of a model, readable from a file's config alone (no TensorFlow).

``ModelSpec`` is what the loader reads, the analyser judges and the manifest records. Shapes
include the batch dimension as ``None``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        return cls(d["name"], tuple(d["shape"]), d.get("dtype", "float32"))


@dataclass(frozen=True)
class LayerSpec:
    name: str
    class_name: str
    config: dict[str, Any] = field(default_factory=dict)
    inbound: tuple[str, ...] = ()  # names of the layers feeding this one, in call order


@dataclass
class ModelSpec:
    source: str  # path of the file the spec was read from
    container: str  # "hdf5" | "zip" | "json"
    model_class: str  # "Sequential" | "Functional" | "Model" | ...
    layers: list[LayerSpec]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    keras_version: str | None = None
    backend: str | None = None
    loader: str | None = None  # "keras3" | "tf_keras", chosen from the saved version
    repairs: list[str] = field(default_factory=list)  # names of config repair rules applied
    trust: dict[str, Any] = field(default_factory=dict)  # --trust-code / --custom-objects as given
    kind: str = "keras"  # the kind of source ("keras" | "sklearn"): which converters accept it

    def layer(self, name: str) -> LayerSpec:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def summary(self) -> dict[str, Any]:
        """The JSON-able part recorded in manifests and printed by ``inspect``."""
        return {
            **({"kind": self.kind} if self.kind != "keras" else {}),
            "keras_version": self.keras_version,
            "backend": self.backend,
            "container": self.container,
            "model_class": self.model_class,
            "loader": self.loader,
            "repairs": list(self.repairs),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "layers": [{"name": la.name, "class_name": la.class_name} for la in self.layers],
        }


def to_jsonable(obj: Any) -> Any:
    return asdict(obj)
