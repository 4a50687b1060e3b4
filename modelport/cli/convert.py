"""``modelport convert MODEL --to pb,onnx [-o DIR]``"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import ArchitectureOpt, CustomObjectsOpt, TrustCodeOpt, app
from modelport.cli.validate import HtmlOpt, JsonOpt, JunitOpt, RuntimesOpt


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return items or None


def _names_from(value: str | None) -> list[str] | None:
    """--feature-names/--class-labels take a comma list or @file (one name per line)."""
    if value is None:
        return None
    if value.startswith("@"):
        from modelport.errors import BadInputError

        path = Path(value[1:])
        try:
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
        except OSError as e:
            raise BadInputError(f"{path}: cannot read ({e.strerror})", "pass an existing file after @") from None
    return _split([value])


@app.command()
def convert(
    model: Annotated[Path, typer.Argument(help="Keras model file: .h5/.hdf5 (any Keras era), .keras, or .json with --architecture.", show_default=False)],
    to: Annotated[list[str], typer.Option("--to", "-t", help="Targets, comma separated: savedmodel, pb, ckpt, onnx, pmml, or 'all' (every target that can express the model).")] = ["all"],  # noqa: B006
    out_dir: Annotated[Path | None, typer.Option("--out-dir", "-o", help="Output directory [default: ./<model name>-modelport].", show_default=False)] = None,
    opset: Annotated[int | None, typer.Option(help="ONNX opset [default: highest both tf2onnx and onnxruntime support].", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing artifacts.")] = False,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Check every artifact's numbers against Keras in its runtime.")] = True,
    class_labels: Annotated[str | None, typer.Option("--class-labels", help="PMML class labels: a,b,c or @labels.txt.", show_default=False)] = None,
    feature_names: Annotated[str | None, typer.Option("--feature-names", help="PMML input field names: x,y,z or @names.txt.", show_default=False)] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Validation inputs: .npz/.npy/.csv/.parquet [default: seeded synthetic data].", show_default=False)] = None,
    atol: Annotated[list[str] | None, typer.Option("--atol", help="Absolute tolerance: 1e-5, or per output/format: score=1e-4, onnx=1e-4 (repeatable).", show_default=False)] = None,
    rtol: Annotated[list[str] | None, typer.Option("--rtol", help="Relative tolerance, same forms as --atol.", show_default=False)] = None,
    runtimes: RuntimesOpt = None,
    report_json: JsonOpt = None,
    junit: JunitOpt = None,
    report_html: HtmlOpt = None,
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Convert a Keras model to production formats, then validate each artifact's numbers.

    Exit 0 ok, 1 an artifact failed validation (it is still written, with the report in
    modelport.json), 2 bad input, 3 a requested target cannot express the model (nothing written).
    """
    from modelport import api
    from modelport.cli._reporting import progress_bar, split, write_reports
    from modelport.cli.render import print_json
    from modelport.validators.tolerance import from_cli

    with progress_bar("convert") as progress:
        result = api.convert(
            model, to, out_dir, opset=opset, force=force, architecture=architecture, trust_code=trust_code,
            custom_objects=custom_objects, validate=validate, class_labels=_names_from(class_labels),
            feature_names=_names_from(feature_names), progress=progress,
            **({"data": data, "tolerance": from_cli(atol, rtol), "runtimes": split(runtimes)} if validate else {}),
        )
    if result.parity is not None:
        write_reports(result.parity, report_json, junit, report_html)
    if as_json:
        print_json({"manifest": str(result.manifest_path),
                    "artifacts": [a.to_dict() for a in result.artifacts], "skipped": result.skipped})
    else:
        _print_result(result)
    failed = result.parity is not None and not bool(result.parity)
    raise typer.Exit(1 if failed else 0)


def _print_result(result) -> None:
    from rich.table import Table

    from modelport.cli._reporting import skipped_by_class
    from modelport.cli.render import console, human_size

    out = console()
    out_dir = result.manifest_path.parent
    table = Table(title=f"artifacts in {out_dir}", title_justify="left")
    for column in ("format", "path", "size", "sha256", "feed → fetch"):
        table.add_column(column)
    for a in result.artifacts:
        size = sum(p.stat().st_size for p in a.path.rglob("*") if p.is_file()) if a.path.is_dir() else a.path.stat().st_size
        tensors = a.details.get("input_tensors"), a.details.get("output_tensors")
        names = (", ".join(tensors[0]) + " → " + ", ".join(tensors[1])) if all(tensors) else (
            ", ".join(t.name for t in a.inputs) + " → " + ", ".join(t.name for t in a.outputs))
        table.add_row(a.format, a.path.name, human_size(size), a.sha256[:12], names)
    out.print(table)
    for target in result.skipped:
        out.print(f"skipped {target}: {skipped_by_class(result.analysis.unsupported(target))}", markup=False)
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
    if result.parity is not None:
        result.parity.render(out)
    out.print(f"manifest: {result.manifest_path}")
