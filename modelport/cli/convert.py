"""``modelport convert MODEL --to pb,onnx [-o DIR]``"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import (
    ArchitectureOpt,
    CustomObjectsOpt,
    JsonFlag,
    ModelArg,
    PmmlBackendOpt,
    PmmlMaxSizeOpt,
    PreprocessOpt,
    SequenceLengthOpt,
    TrustCodeOpt,
    TrustTypeOpt,
    app,
    pmml_backend_option,
)
from modelport.cli.validate import HtmlOpt, JsonOpt, JunitOpt, RequireRuntimesOpt, RuntimesOpt, StrictOpt


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
    model: ModelArg,
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
    require: RequireRuntimesOpt = False,
    report_json: JsonOpt = None,
    junit: JunitOpt = None,
    report_html: HtmlOpt = None,
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
    as_json: JsonFlag = False,
    strict: StrictOpt = False,
    pmml_max_size: PmmlMaxSizeOpt = None,
    sequence_length: SequenceLengthOpt = None,
    trust_type: TrustTypeOpt = None,
    pmml_backend: PmmlBackendOpt = None,
    preprocess: PreprocessOpt = None,
) -> None:
    """Convert a Keras model (or a scikit-learn pipeline, .skops) to production formats, then validate each artifact's numbers.

    Exit 0 ok, 1 an artifact failed validation (it is still written, with the report in
    modelport.json) or, with --strict, parity was vacuous, 2 bad input, 3 a requested target cannot express the model (nothing written).
    """
    from modelport import api
    from modelport.cli._reporting import (
        check_report_paths,
        progress_bar,
        require_runtimes,
        runtimes_option,
        strict_exit,
        write_reports,
    )
    from modelport.cli.render import print_json
    from modelport.validators.tolerance import from_cli

    check_report_paths(report_json=report_json, junit=junit, report_html=report_html)
    with progress_bar("convert") as progress:
        result = api.convert(
            model, to, out_dir, opset=opset, force=force, architecture=architecture, trust_code=trust_code,
            custom_objects=custom_objects, validate=validate, class_labels=_names_from(class_labels),
            feature_names=_names_from(feature_names), progress=progress,
            pmml_max_size=pmml_max_size, sequence_length=sequence_length, preprocess=preprocess,
            trust_types=tuple(trust_type or ()), pmml_backend=pmml_backend_option(pmml_backend),
            **({"data": data, "tolerance": from_cli(atol, rtol), "runtimes": runtimes_option(runtimes)} if validate else {}),
        )
    if result.parity is not None:
        if require:
            require_runtimes(result.parity)
        write_reports(result.parity, report_json, junit, report_html)
    failed = result.parity is not None and not bool(result.parity)
    if as_json:
        print_json(_json_result(result, 1 if failed else 0))
    else:
        _print_result(result)
        if failed:
            from modelport.cli.render import console

            console(stderr=True).print(f"error: validation failed: {'; '.join(failure_reasons(result.parity))} "
                                       f"(hint: the artifacts are written; the report is in {result.manifest_path.name})")
    raise typer.Exit(strict_exit(result.parity, strict) if result.parity is not None else 0)


def failure_reasons(report) -> list[str]:
    """One line per failing artifact × runtime: the runtime's error, or the outputs beyond tolerance."""
    reasons = list(getattr(report, "problems", []))
    for r in report.failures():
        if r.error:
            reasons.append(f"{r.artifact} in {r.runtime}: {r.error}")
        else:
            bad = [f"{o.output} (max abs {o.max_abs:.3g}, {o.mismatches} of {o.elements} beyond tolerance)"
                   if o.shape_error is None else f"{o.output}: {o.shape_error}" for o in r.outputs if not o.passed]
            reasons.append(f"{r.artifact} in {r.runtime}: {'; '.join(bad) or 'no output compared'}")
    return reasons


def _json_result(result, exit_code: int) -> dict:
    """What `convert --json` prints: the artifacts, what was skipped and why, the validation report
    (schema docs/report-schema.json) and, when the exit code is not 0, the reason."""
    import json

    from modelport.validators.reports.json_report import to_json

    validation = json.loads(to_json(result.parity)) if result.parity is not None else None
    return {"manifest": str(result.manifest_path), "exit_code": exit_code,
            "reason": "; ".join(failure_reasons(result.parity)) if exit_code else None,
            "artifacts": [a.to_dict() for a in result.artifacts], "skipped": result.skipped, "repairs": result.repairs,
            "warnings": result.warnings, "validation": validation}


def _print_result(result) -> None:
    from rich.table import Table

    from modelport.cli._reporting import skipped_by_class
    from modelport.cli.render import console
    from modelport.units import human_size

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
    for target, reasons in result.skipped.items():
        by_class = skipped_by_class(result.analysis.unsupported(target))
        out.print(f"skipped {target}: {by_class or '; '.join(reasons)}", markup=False)
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
    if result.repairs:
        from modelport.loading.repairs import SUMMARIES

        for name in result.repairs:
            out.print(f"repaired while loading: {name}: {SUMMARIES.get(name, 'a weight conversion')}")
    if result.parity is not None:
        result.parity.render(out)
    out.print(f"manifest: {result.manifest_path}")
