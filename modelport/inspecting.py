"""``inspect``: the signature and facts of a model file or artifact, cheaply.

Model files, ONNX and PMML are read without TensorFlow; a frozen pb, a checkpoint or a SavedModel
needs TensorFlow's protobuf classes, so only those import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.errors import BadInputError, NotAModelError
from modelport.loading.sniff import HDF5_MAGIC, ZIP_MAGIC, describe_bytes


def inspect_path(path: Path, options: Any) -> dict[str, Any]:
    """What a caller needs to use ``path``: for an artifact modelport wrote, the signature its
    manifest records (tensor names to feed and fetch); otherwise what the file itself says."""
    info = _inspect_path(path, options)
    recorded = _manifest_entry(path)
    if recorded is not None:
        info["manifest"] = str(path.parent / "modelport.json")
        info["signature"] = recorded.get("signature")
        details = recorded.get("details") or {}
        if details.get("input_tensors"):
            info["tensors"] = {"feed": details["input_tensors"], "fetch": details["output_tensors"]}
    return info


def _manifest_entry(path: Path) -> dict[str, Any] | None:
    """The manifest's entry for ``path``, when the folder holding it is a modelport output folder."""
    from modelport import manifest

    if not (path.parent / manifest.MANIFEST_NAME).is_file() or path.name == manifest.MANIFEST_NAME:
        return None
    try:
        data = manifest.read(path.parent)
    except BadInputError:
        return None
    return next((a for a in data.get("artifacts", []) if a.get("path") == path.name), None)


def _inspect_path(path: Path, options: Any) -> dict[str, Any]:
    if not path.exists():
        raise BadInputError(f"{path}: no such file or directory", "check the path")
    if path.is_dir():
        return _inspect_dir(path)
    if path.name == "modelport.json" or (path.suffix == ".json" and b'"format_version"' in path.read_bytes()[:4096]):
        return _inspect_manifest(path)
    head = path.open("rb").read(1024)
    suffix = path.suffix.lower()
    from modelport.sklearn.sniff import sniff as sniff_sklearn

    if sniff_sklearn(path) is not None:  # a skops archive or a pickle: the scikit-learn source reads it, safely
        return _inspect_sklearn(path, options)
    if head.startswith((HDF5_MAGIC, ZIP_MAGIC)) or suffix == ".json":
        return _inspect_model(path, options)
    if suffix == ".onnx":
        return inspect_onnx(path)
    if suffix in (".pmml", ".xml") or head.lstrip().startswith(b"<?xml") or b"<PMML" in head:
        return inspect_pmml(path)
    if suffix == ".pb":
        return inspect_frozen_pb(path)
    raise NotAModelError(
        f"{path}: not a model or artifact modelport knows; it looks like {describe_bytes(head)}",
        "inspect a .h5/.keras model, an .onnx, .pb or .pmml file, a SavedModel or checkpoint directory",
    )


def _inspect_model(path: Path, options: Any) -> dict[str, Any]:
    from modelport import loading

    describe = getattr(loading, "describe", None)
    if describe is not None:
        info = describe(path, architecture=options.architecture)
    else:
        info = loading.read_spec(path).summary()
    for t in info.get("outputs") or []:
        if not t.get("shape"):  # the config alone does not give an output's shape (every one has a batch axis)
            t["shape"] = None
    return {"kind": "keras-model", "path": str(path), **info}


def _inspect_sklearn(path: Path, options: Any) -> dict[str, Any]:
    from modelport.sources import for_kind

    loaded = for_kind("sklearn", path, options).load()
    return {"kind": "sklearn-model", "path": str(path), **loaded.spec.summary(),
            "task": loaded.model.task, "columns": [c.to_dict() for c in loaded.model.columns]}


def _dims(shape_proto: Any) -> list[Any]:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape_proto.dim]


def inspect_onnx(path: Path) -> dict[str, Any]:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and friends
        raise NotAModelError(f"{path} is not a readable ONNX model ({type(e).__name__})", "convert it again") from None
    init = {i.name for i in model.graph.initializer}

    def value_info(v: Any) -> dict[str, Any]:
        t = v.type.tensor_type
        return {"name": v.name, "shape": _dims(t.shape),
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name}

    return {
        "kind": "onnx", "path": str(path),
        "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "ir_version": model.ir_version, "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": [value_info(v) for v in model.graph.input if v.name not in init],
        "outputs": [value_info(v) for v in model.graph.output],
    }


def inspect_pmml(path: Path) -> dict[str, Any]:
    from lxml import etree

    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)).getroot()
    except etree.XMLSyntaxError as e:
        raise NotAModelError(f"{path} is not well-formed XML ({e.msg})", "convert it again") from None
    ns = {"p": root.nsmap.get(None, "")}
    fields = {f.get("name"): f for f in root.iterfind("p:DataDictionary/p:DataField", ns)}
    models = [el for el in root if isinstance(el.tag, str) and el.tag.split("}")[-1].endswith(("Model", "Network"))]
    if not models:
        raise NotAModelError(f"{path} holds no PMML model element", "convert it again")
    model = models[0]
    mining = model.iterfind("p:MiningSchema/p:MiningField", ns)
    inputs, targets = [], []
    for mf in mining:
        field = fields.get(mf.get("name"))
        entry = {"name": mf.get("name"), "dtype": field.get("dataType") if field is not None else None,
                 "optype": field.get("optype") if field is not None else None}
        (targets if mf.get("usageType") in ("target", "predicted") else inputs).append(entry)
    outputs = [{"name": o.get("name"), "feature": o.get("feature"), "value": o.get("value")}
               for o in model.iterfind("p:Output/p:OutputField", ns)]
    return {"kind": "pmml", "path": str(path), "version": root.get("version"),
            "model": model.tag.split("}")[-1], "function": model.get("functionName"),
            "inputs": inputs, "targets": targets, "outputs": outputs}


# ops that end a graph without being an output: variable plumbing, saving and restoring
_NOT_OUTPUTS = ("Const", "NoOp", "Placeholder", "Assign", "AssignVariableOp", "VarHandleOp", "VariableV2",
                "SaveV2", "RestoreV2", "MergeV2Checkpoints", "VarIsInitializedOp", "ShardedFilename", "StringJoin")


def _graph_io(graph_def: Any) -> dict[str, Any]:
    """Feeds and fetches of a graph: data placeholders (not variable resources), and the ends of
    the computation, with shapes where the graph records them."""
    consumed = {i.split(":")[0].lstrip("^") for n in graph_def.node for i in n.input}
    by_name = {n.name: n for n in graph_def.node}
    inputs = [{"name": f"{n.name}:0", "dtype": _tf_dtype(n.attr["dtype"].type)}
              for n in graph_def.node if n.op == "Placeholder" and not n.name.endswith("/resource")
              and _tf_dtype(n.attr["dtype"].type) != "resource"]  # variables fed as resources are not inputs
    outputs = []
    for n in graph_def.node:
        if n.name in consumed or n.op in _NOT_OUTPUTS or n.name.startswith("save/") or "/Assign" in n.name:
            continue
        source = n.input[0].split(":")[0] if n.op == "Identity" and n.input else None
        name = source if source in by_name and by_name[source].op != "Const" else n.name  # probs, not Identity
        dtype = n.attr["T"].type if "T" in n.attr else n.attr["dtype"].type if "dtype" in n.attr else 0
        outputs.append({"name": f"{name}:0", "dtype": _tf_dtype(dtype) if dtype else None})
    shapes = _shapes(graph_def, [t["name"] for t in inputs + outputs])
    for t in inputs + outputs:
        t["shape"] = shapes.get(t["name"])
    return {"inputs": inputs, "outputs": outputs}


def _shapes(graph_def: Any, names: list[str]) -> dict[str, list[Any] | None]:
    """Static shapes by TensorFlow's own shape inference (a frozen graph records none)."""
    from modelport.tfimport import import_tensorflow

    tf = import_tensorflow()
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        shapes = {}
        for name in names:
            shape = graph.get_tensor_by_name(name).shape
            shapes[name] = shape.as_list() if shape.rank is not None else None
        return shapes
    except Exception:  # a graph TensorFlow cannot import: shapes unknown, the rest still shown
        return {}


def _tf_dtype(enum: int) -> str:
    from modelport.tfimport import import_tensorflow

    return import_tensorflow().dtypes.as_dtype(enum).name


def inspect_frozen_pb(path: Path) -> dict[str, Any]:
    from modelport.tfimport import import_tensorflow

    tf = import_tensorflow()  # TensorFlow's C++ start-up lines silenced

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception:
        raise NotAModelError(f"{path} is not a TensorFlow GraphDef", "pass a frozen .pb written by modelport") from None
    return {"kind": "frozen-pb", "path": str(path), "nodes": len(graph_def.node), **_graph_io(graph_def)}


def _inspect_dir(path: Path) -> dict[str, Any]:
    from modelport import manifest

    if (path / manifest.MANIFEST_NAME).exists():
        data = manifest.read(path)
        return {"kind": "modelport-output", "path": str(path), "source": data.get("source"),
                "artifacts": [{k: a[k] for k in ("path", "format", "sha256", "signature", "details") if k in a}
                              for a in data["artifacts"]]}
    if (path / "saved_model.pb").exists():
        return _inspect_savedmodel(path)
    pmml = sorted(path.glob("*.pmml"))
    if pmml:  # modelport's PMML folder: one document per output head
        return {"kind": "pmml-folder", "path": str(path), "documents": [inspect_pmml(p) for p in pmml]}
    metas = sorted(path.glob("*.meta"))
    if metas:
        from modelport.tfimport import import_tensorflow

        tf = import_tensorflow()

        meta = tf.compat.v1.MetaGraphDef()
        meta.ParseFromString(metas[0].read_bytes())
        return {"kind": "checkpoint", "path": str(path), "meta_graph": metas[0].name, **_graph_io(meta.graph_def)}
    raise NotAModelError(f"{path} is a directory without a SavedModel, checkpoint or modelport.json",
                         "pass a model file or an artifact")


def _inspect_manifest(path: Path) -> dict[str, Any]:
    info = _inspect_dir(path.parent) if path.name == "modelport.json" else None
    if info is None or info.get("kind") != "modelport-output":
        from modelport import manifest

        data = manifest.read(path)
        info = {"kind": "modelport-output", "path": str(path.parent), "source": data.get("source"),
                "artifacts": [{k: a[k] for k in ("path", "format", "sha256", "signature", "details") if k in a}
                              for a in data["artifacts"]]}
    return info


def _inspect_savedmodel(path: Path) -> dict[str, Any]:
    from modelport.tfimport import import_tensorflow

    import_tensorflow()  # its protobuf classes import TensorFlow: silence its C++ start-up lines first
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    signatures = {}
    for meta in saved.meta_graphs:
        for key, sig in meta.signature_def.items():
            if key.startswith("__"):
                continue

            def io(entries: Any) -> list[dict[str, Any]]:
                return [{"key": k, "name": v.name, "dtype": _tf_dtype(v.dtype),
                         "shape": [d.size if d.size >= 0 else None for d in v.tensor_shape.dim]}
                        for k, v in sorted(entries.items())]

            signatures[key] = {"tags": list(meta.meta_info_def.tags), "inputs": io(sig.inputs), "outputs": io(sig.outputs)}
    return {"kind": "savedmodel", "path": str(path), "signatures": signatures}
