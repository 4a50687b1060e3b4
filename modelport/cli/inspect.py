"""``modelport inspect PATH``: signature of a model file or any artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import ArchitectureOpt, CustomObjectsOpt, JsonFlag, TrustCodeOpt, app, load_options


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="A Keras model file, .onnx, .pb, .pmml, SavedModel/checkpoint directory, or an output directory.", show_default=False)],
    as_json: JsonFlag = False,
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
) -> None:
    """Show input/output names, shapes and dtypes, and what modelport knows about the file."""
    from modelport import api
    from modelport.cli.render import print_json

    options = load_options(architecture, trust_code, custom_objects)
    info = api.inspect(path, options)
    note = None
    if info.get("kind") == "keras-model" and info.get("safe") is False:
        # reading a config runs nothing: a Lambda is shown with a note; a class Keras does not ship
        # is refused before anything is printed, as convert refuses it (exit 2, one line)
        api.check_analysable(path, options)
        note = api.safety_note(path, options)
    if as_json:
        print_json(info)
    else:
        _print_info(info)
    if note:
        from modelport.cli.render import console

        console(stderr=True).print(f"note: {note}")


def _print_info(info: dict) -> None:
    from rich.table import Table

    from modelport.cli.render import console, signature_text

    out = console()
    skip = {"inputs", "outputs", "layers", "artifacts", "signatures", "signature", "tensors", "documents"}
    for key, value in info.items():
        if key not in skip and value not in (None, [], {}):
            out.print(f"[bold]{key}[/]: {value}")
    if info.get("signature"):  # what the manifest recorded for this artifact: the names to use
        sig = info["signature"]
        out.print(f"[bold]signature[/] (from the manifest): {signature_text(sig.get('inputs', []))} → "
                  f"{signature_text(sig.get('outputs', []))}")
    if info.get("tensors"):
        out.print(f"[bold]tensors[/]: feed {', '.join(info['tensors']['feed'])} → fetch {', '.join(info['tensors']['fetch'])}")
    for key in ("inputs", "outputs", "targets"):
        if info.get(key):
            label = f"graph {key}" if info.get("signature") else key
            out.print(f"[bold]{label}[/]: {signature_text(info[key])}")
    for doc in info.get("documents") or []:
        out.print(f"[bold]{Path(doc['path']).name}[/] ({doc.get('function')}): {signature_text(doc.get('inputs', []))}"
                  f" → {', '.join(o['name'] for o in doc.get('outputs', []))}")
    for name, sig in (info.get("signatures") or {}).items():
        out.print(f"[bold]signature {name}[/] (tags {', '.join(sig['tags'])})")
        for t in sig["inputs"]:
            out.print(f"  input  {t['key']} = {t['name']} {t['shape']} {t['dtype']}")
        for t in sig["outputs"]:
            out.print(f"  output {t['key']} = {t['name']} {t['shape']} {t['dtype']}")
    if info.get("layers"):
        table = Table(title="layers", title_justify="left")
        columns = [c for c in ("name", "class_name", "note") if any(c in la for la in info["layers"])]
        for c in columns:
            table.add_column(c)
        for la in info["layers"]:
            table.add_row(*(str(la.get(c, "")) for c in columns))
        out.print(table)
    for a in info.get("artifacts") or []:
        sig = a.get("signature", {})
        out.print(f"[bold]{a['format']}[/] {a['path']} sha256 {a['sha256'][:12]}: "
                  f"{signature_text(sig.get('inputs', []))} → {signature_text(sig.get('outputs', []))}")
        if a.get("details", {}).get("input_tensors"):
            out.print(f"  tensors: {', '.join(a['details']['input_tensors'])} → {', '.join(a['details']['output_tensors'])}")
