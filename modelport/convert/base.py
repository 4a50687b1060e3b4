"""What every converter is and returns. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from modelport.spec import ModelSpec, TensorSpec

NATIVE, REWRITE, UNSUPPORTED = "native", "rewrite", "unsupported"


@dataclass(frozen=True)
class Finding:
    """One layer's verdict for one target."""

    target: str
    layer: str
    class_name: str
    verdict: str  # NATIVE | REWRITE | UNSUPPORTED
    rule: str | None = None  # named rewrite, e.g. "batchnorm-fold"
    reason: str | None = None  # why a layer is unsupported
    hint: str | None = None  # what the user can do instead

    @property
    def ok(self) -> bool:
        return self.verdict != UNSUPPORTED

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ExportOptions:
    opset: int | None = None  # ONNX opset; None = highest both tf2onnx and onnxruntime support
    class_labels: list[str] | None = None  # PMML
    feature_names: list[str] | None = None  # PMML
    sequence_length: int | None = None  # PMML: fixes a dynamic time axis (input axis 1) for unrolling
    pmml_max_size: int | None = None  # PMML: document size budget in bytes (None = the default)
    pmml_backend: str | None = None  # PMML of a scikit-learn source: "sklearn2pmml" (default) | "nyoka"
    extra: dict[str, Any] = field(default_factory=dict)  # options of third-party converters


@dataclass
class Artifact:
    """One file or directory a converter wrote, with the signature a runtime needs to call it."""

    path: Path
    format: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    sha256: str = ""
    # format-specific calling details: graph tensor names for pb/ckpt, signature key for SavedModel...
    details: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, str] = field(default_factory=dict)  # library -> version that wrote it

    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        path = self.path
        if relative_to is not None:
            try:
                path = self.path.relative_to(relative_to)
            except ValueError:
                pass
        return {
            "path": path.as_posix(),
            "format": self.format,
            "sha256": self.sha256,
            "signature": {
                "inputs": [t.to_dict() for t in self.inputs],
                "outputs": [t.to_dict() for t in self.outputs],
            },
            "details": self.details,
            "producer": self.producer,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: Path | None = None) -> Artifact:
        path = Path(d["path"])
        if base is not None and not path.is_absolute():
            path = base / path
        sig = d.get("signature", {})
        return cls(
            path=path,
            format=d["format"],
            inputs=[TensorSpec.from_dict(t) for t in sig.get("inputs", [])],
            outputs=[TensorSpec.from_dict(t) for t in sig.get("outputs", [])],
            sha256=d.get("sha256", ""),
            details=d.get("details", {}),
            producer=d.get("producer", {}),
        )


@runtime_checkable
class Converter(Protocol):
    """A conversion target. ``check`` is pure and cheap; ``export`` does the work."""

    target: str  # the name users type after --to
    # Optional: ``sources``, the kinds of source it accepts (default ("keras",)); the registry
    # (``modelport.convert.get(target, source)``) picks the converter for the source being converted.
    suffix: str  # file suffix of the artifact ("" for a directory)
    description: str

    def check(self, spec: ModelSpec) -> list[Finding]:
        """Every layer's verdict for this target (all problems, not the first)."""

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        """Write the artifact at ``dest`` (a temporary path; the caller renames it into place)."""


# Optional converter hook, called right after loading and before anything is written:
#     check_loaded(model, spec) -> list[Finding]
# It returns the UNSUPPORTED findings only the loaded model shows (non-finite weights, tensor shapes,
# sizes), so `--to all` skips the target with the reason and an explicit target exits 3. Converters
# without it are judged by ``check`` alone.
CHECK_LOADED = "check_loaded"
