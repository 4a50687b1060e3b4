"""Loading: sniff the container, read the saved config without TensorFlow, check it is safe, repair
known drift, build the model with Keras 3 or tf_keras, and verify what was loaded.

Pipeline: ``read_saved`` -> ``safety.check`` -> ``repairs.repair`` (per loader) ->
``archive_repairs`` (``.keras`` members) -> ``backends`` -> ``weights.assign_by_name`` -> ``verify``. ``read_spec`` and ``describe`` never import TensorFlow.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, NotAModelError
from modelport.loading import plan, repairs, safety
from modelport.loading.config_reader import SavedFile, read_saved
from modelport.loading.spec_builder import spec_from_config
from modelport.spec import ModelSpec, TensorSpec

KERAS3, TF_KERAS = "keras3", "tf_keras"
# loader-neutral, used for the spec
NORMALISING_RULES = ("keras1-names", "sequential-list-config", "fixed-batch-size")


@dataclass
class LoadedModel:
    model: Any  # a keras.Model (Keras 3) or tf_keras.Model
    spec: ModelSpec
    saved: SavedFile
    warnings: list[str] = field(default_factory=list)  # e.g. NaN weights in the file itself
    audit: Any = None  # audit.Audit: the file's arrays are the model's variables (None: no weights stored)
    references: list[Any] = field(default_factory=list)  # reference.ReferenceResult, once checked
    # how it was loaded, for a second reading of the same file (reference.check)
    expected: ModelSpec | None = field(default=None, repr=False)
    objects: dict[str, Any] = field(default_factory=dict, repr=False)
    trust_code: bool = False
    architecture: str | Path | None = None


def _weights_only_error(path: Path) -> NotAModelError:
    return NotAModelError(
        f"{path} holds weights only (written by save_weights), no model architecture",
        f"pass the architecture too: --architecture model.json (the model's to_json() output), "
        f"e.g. `modelport convert {path.name} --architecture model.json ...`",
    )


def read_model(path: str | Path, architecture: str | Path | None = None) -> tuple[SavedFile, Path]:
    """The saved config (from the file, or from ``architecture``) and the file holding the weights."""
    p = Path(path)
    saved = read_saved(p)
    if architecture is not None:
        arch = read_saved(architecture)
        if arch.model_config is None:
            raise NotAModelError(f"{architecture} holds no model architecture", "pass a to_json() file")
        if saved.container == "json":
            raise BadInputError(
                f"{p} is an architecture JSON, not a weights file",
                "pass the weights file (.h5) as the model and the JSON with --architecture",
            )
        saved = SavedFile(
            path=p,
            container=saved.container,
            keras_version=arch.keras_version or saved.keras_version,
            backend=arch.backend or saved.backend,
            model_config=arch.model_config,
            weight_layer_names=saved.weight_layer_names,
        )
    elif saved.model_config is None:
        raise _weights_only_error(p)
    elif saved.container == "json":
        raise NotAModelError(
            f"{p} is an architecture JSON without weights",
            "pass the weights file as the model and this JSON with --architecture",
        )
    return saved, p


def _normalised(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    applied = []
    config = copy.deepcopy(config)  # the rules edit it in place
    for rule in repairs.RULES:
        if rule.name in NORMALISING_RULES:
            try:
                config, changed = rule.fix(config)
            except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
                raise repairs._malformed(f"{rule.name}: {type(e).__name__}") from None
            if changed:
                applied.append(rule.name)
    return config, applied


def _spec(saved: SavedFile, path: Path) -> ModelSpec:
    config, _ = _normalised(saved.model_config or {})
    try:
        return spec_from_config(
            config, source=str(path), container=saved.container, keras_version=saved.keras_version,
            backend=saved.backend,
        )
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:  # structure no Keras writes
        raise NotAModelError(f"{path}: the saved model config is malformed ({type(e).__name__}: {e})"[:300],
                             "re-save the model with Keras") from None


def choose_loader(saved: SavedFile) -> str:
    """The first loader the plan tries for this file."""
    return plan.loader_order(saved)[0]


def read_spec(path: str | Path, architecture: str | Path | None = None) -> ModelSpec:
    """The model's spec from its file alone: no TensorFlow."""
    saved, p = read_model(path, architecture)
    spec = _spec(saved, p)
    spec.loader = choose_loader(saved)
    spec.repairs = repairs.repair(saved.model_config or {}, spec.loader, plan.era(saved))[1]
    return spec


def check_safe(path: str | Path, *, architecture: str | Path | None = None, trust_code: bool = False,
               custom_objects: Any = None) -> None:
    """Refuse (UnsafeModelError) a file holding code the user did not opt in to, without TensorFlow
    and without importing the user's custom-objects file."""
    saved, _ = read_model(path, architecture)
    safety.check(saved.model_config or {}, trust_code=trust_code, custom_names=_custom_names(custom_objects))


def describe(path: str | Path, architecture: str | Path | None = None) -> dict[str, Any]:
    """What ``modelport inspect`` shows for a Keras file, without TensorFlow."""
    saved, p = read_model(path, architecture)
    spec = _spec(saved, p)
    order = plan.loader_order(saved)
    problems = safety.find_problems(saved.model_config or {})
    return {
        "path": str(p),
        "architecture": str(architecture) if architecture else None,
        "container": saved.container,
        "keras_version": saved.keras_version,
        "backend": saved.backend,
        "era": plan.era(saved),
        "model_class": spec.model_class,
        "layers": [{"name": la.name, "class_name": la.class_name} for la in spec.layers],
        "inputs": [t.to_dict() for t in spec.inputs],
        "outputs": [t.to_dict() for t in spec.outputs],
        "loader": order[0],
        "fallback_loaders": order[1:],
        "repairs": repairs.repair(saved.model_config or {}, order[0], plan.era(saved))[1],
        "safety": [pr.to_dict() for pr in problems],
        "safe": not problems,
    }


def _names(model: Any) -> tuple[list[str], list[str]]:
    inputs = [t.name.split(":")[0] for t in model.inputs]
    layer_names = getattr(model, "input_names", None)
    if isinstance(layer_names, (list, tuple)) and len(layer_names) == len(inputs):
        inputs = [str(n) for n in layer_names]
    else:  # Keras 3: the input tensors carry their InputLayer's name
        inputs = [
            getattr(t, "_keras_history", [None])[0].name if getattr(t, "_keras_history", None) else n
            for t, n in zip(model.inputs, inputs, strict=True)
        ]
    outputs = getattr(model, "output_names", None)
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(model.outputs):
        outputs = [t._keras_history[0].name for t in model.outputs]  # Keras 3 Sequential has no output_names
    return inputs, [str(n) for n in outputs]


def _tensor_specs(tensors: list[Any], names: list[str]) -> list[TensorSpec]:
    out = []
    for t, name in zip(tensors, names, strict=True):
        dtype = getattr(t.dtype, "name", None) or str(t.dtype)
        out.append(TensorSpec(name, tuple(None if d is None else int(d) for d in t.shape), dtype))
    return out


def describe_model(model: Any, spec: ModelSpec) -> ModelSpec:
    """Fill the spec's input/output signature from the loaded model (names as Keras reports them)."""
    input_names, output_names = _names(model)
    spec.inputs = _tensor_specs(model.inputs, input_names)
    spec.outputs = _tensor_specs(model.outputs, output_names)
    return spec


def load(
    path: str | Path,
    *,
    architecture: str | Path | None = None,
    trust_code: bool = False,
    custom_objects: Any = None,
    loader: str | None = None,
) -> LoadedModel:
    """Load a Keras model file safely with the loader its saved version calls for (or ``loader``)."""
    from modelport.loading.attempt import attempt
    from modelport.loading.custom_objects import load_custom_objects
    from modelport.tfimport import import_tensorflow

    saved, p = read_model(path, architecture)
    accepted = safety.check(saved.model_config or {}, trust_code=trust_code, custom_names=_custom_names(custom_objects))
    objects, record = load_custom_objects(custom_objects)
    safety.check(saved.model_config or {}, trust_code=trust_code, custom_names=objects)
    # every HDF5 dataset is read once in a sandboxed child before Keras reads it; the child reads
    # while TensorFlow imports (only now: a refused file never costs, or runs, a TensorFlow import)
    probed = start_probe_weights(saved)
    import_tensorflow()
    probed()
    expected = _spec(saved, p)
    order = [loader] if loader else plan.loader_order(saved)
    failures: list[str] = []
    last: BadInputError | None = None
    for name in order:
        try:
            model, applied, warnings, audited = attempt(name, saved, expected, objects=objects, trust_code=trust_code)
        except BadInputError as e:
            failures.append(f"{name}: {e.message}")
            last = e
            continue
        spec = describe_model(model, copy.deepcopy(expected))
        spec.loader, spec.repairs = name, applied
        spec.trust = {"trust_code": bool(trust_code), **record, "accepted": [pr.to_dict() for pr in accepted]}
        return LoadedModel(model, spec, saved, warnings, audited, expected=expected, objects=objects,
                           trust_code=bool(trust_code), architecture=architecture)
    hint = "re-save the model with a current Keras, or report the file to modelport"
    if len(failures) == 1 and last is not None and last.hint:  # one loader tried: its own advice
        hint = last.hint
    if repairs.has_stateful_layer(saved.model_config or {}):  # its fixed batch size is kept (fixed-batch-size)
        hint = (
            "the model has a stateful RNN, whose states fix the batch size; re-save it for inference "
            "with stateful=False and no fixed batch size"
        )
    if any("nrecognized keyword argument" in f for f in failures):
        hint = (
            "a layer's arguments do not match the built-in class of that name: it may be a custom class "
            "with a built-in's name; supply it with --custom-objects module.py"
        )
    raise BadInputError(f"{p}: no loader could load it: " + "; ".join(failures), hint)


def weights_digest(path: str | Path) -> Any:
    """The digest of the weights stored in a model file (``audit.Digest``; None when it stores
    none), read without TensorFlow: what ``gate --model`` compares with the manifest."""
    from modelport.loading.audit import stored_digest

    saved = read_saved(Path(path))
    probe_weights(saved)
    return stored_digest(saved.path, saved.container)


def weights_changed(manifest: dict[str, Any], digest: Any, *, require: bool = True) -> str | None:
    """A problem line when the model file's stored weights are not those the manifest recorded
    (``require``: a manifest that records no digest, from an older modelport, is one too)."""
    recorded = ((manifest.get("source") or {}).get("weights") or {}).get("sha256")
    if not recorded:
        return "the manifest records no digest of the model's weights (re-run `modelport convert`)" if require else None
    now = digest.sha256 if digest is not None else None
    if now != recorded:
        return (f"the model's weights changed since conversion (weights sha256 {str(now)[:12]}… now, "
                f"{recorded[:12]}… in the manifest)")
    return None


def probe_weights(saved: SavedFile) -> None:
    """Read the weights' HDF5 (the file itself, or a .keras zip's model.weights.h5) in a child
    process with time and memory limits, so a crafted file cannot hang or exhaust this one."""
    start_probe_weights(saved)()


def start_probe_weights(saved: SavedFile) -> Any:
    """``probe_weights`` begun; call the result to wait for it (an HDF5 file is read meanwhile)."""
    from modelport.loading.hdf5_probe import start

    if saved.container == "hdf5":
        return start(saved.path, "data")
    _probe_archive(saved)
    return lambda: None


def _probe_archive(saved: SavedFile) -> None:
    import shutil
    import tempfile
    import zipfile

    from modelport.loading.hdf5_probe import probe

    if saved.container != "zip":
        return
    with zipfile.ZipFile(saved.path) as archive:
        if "model.weights.h5" not in archive.namelist():
            return
        with tempfile.TemporaryDirectory(prefix="modelport-probe-") as tmp:
            extracted = Path(tmp) / "model.weights.h5"
            with archive.open("model.weights.h5") as src, open(extracted, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            probe(extracted, "data")


def _custom_names(custom_objects: Any) -> list[str]:
    """Names the user supplies, read without importing their file (safety runs before any code)."""
    if isinstance(custom_objects, dict):
        return list(custom_objects)
    if custom_objects is None:
        return []
    import ast

    try:
        tree = ast.parse(Path(custom_objects).read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))]
