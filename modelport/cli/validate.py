"""``modelport validate MODEL OUT_DIR_OR_ARTIFACTS... [--data F] [--atol X] [--runtimes R]``"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import (
    ArchitectureOpt,
    CustomObjectsOpt,
    JsonFlag,
    ModelArg,
    PreprocessOpt,
    TrustCodeOpt,
    TrustTypeOpt,
    app,
    load_options,
)
from modelport.runtimes import RUNTIME_MODULES

JsonOpt = Annotated[Path | None, typer.Option("--report-json", help="Write the JSON report (schema: docs/report-schema.json).", show_default=False)]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML: one testcase per artifact × runtime × output.", show_default=False)]
HtmlOpt = Annotated[Path | None, typer.Option("--report-html", help="Write one self-contained HTML report with error histograms.", show_default=False)]
RuntimesOpt = Annotated[list[str] | None, typer.Option("--runtimes", help=f"Only these runtimes, comma separated: {', '.join(r for r in RUNTIME_MODULES if r != 'keras')} (spark only when named; master from $MODELPORT_SPARK_MASTER).", show_default=False)]

RequireRuntimesOpt = Annotated[bool, typer.Option("--require-runtimes", help="A runtime that cannot run here (no JVM, no gcc) fails the check instead of being skipped.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Also exit 1 when parity is vacuous: the Keras outputs barely vary across the validation inputs (docs/ci.md).")]


@app.command()
def validate(
    model: ModelArg,
    artifacts: Annotated[list[Path], typer.Argument(help="Output directory (with modelport.json), manifest, or artifact files.", show_default=False)],
    data: Annotated[Path | None, typer.Option("--data", help="Your inputs: .npz (arrays named after the inputs), .npy, .csv or .parquet [default: seeded synthetic data].", show_default=False)] = None,
    atol: Annotated[list[str] | None, typer.Option("--atol", help="Absolute tolerance: 1e-5, or per output/format: score=1e-4, onnx=1e-4, onnx:score=1e-3 (repeatable).", show_default=False)] = None,
    rtol: Annotated[list[str] | None, typer.Option("--rtol", help="Relative tolerance, same forms as --atol.", show_default=False)] = None,
    runtimes: RuntimesOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-n", help="N for the batch-N case (batch 1 always runs).", min=1)] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic inputs.")] = 0,
    localize: Annotated[bool, typer.Option("--localize/--no-localize", help="Name the first diverging Keras layer of a failing ONNX/TensorFlow artifact.")] = True,
    report_json: JsonOpt = None,
    junit: JunitOpt = None,
    report_html: HtmlOpt = None,
    as_json: JsonFlag = False,
    require: RequireRuntimesOpt = False,
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
    strict: StrictOpt = False,
    trust_type: TrustTypeOpt = None,
    preprocess: PreprocessOpt = None,
) -> None:
    """Run Keras (or scikit-learn) and every artifact, each in its production runtime, on the same inputs; compare.

    Exit 0 when every artifact matches within tolerance, 1 when one does not (or its runtime
    crashed, or with --strict the reference is vacuous), 2 on bad input (data of the wrong shape, an artifact from another model, a missing runtime).
    """
    from modelport.cli._reporting import (
        check_report_paths,
        finish,
        progress_bar,
        require_runtimes,
        runtimes_option,
    )
    from modelport.manifest import source_mismatch
    from modelport.validators.discover import validate_paths
    from modelport.validators.tolerance import from_cli

    tolerance = from_cli(atol, rtol)
    check_report_paths(report_json=report_json, junit=junit, report_html=report_html)
    if atol or rtol:  # names checked against the model's outputs before anything runs
        from modelport import api
        from modelport.validators.tolerance import check_names

        options = load_options(architecture, trust_code, custom_objects, trust_type)
        check_names(tolerance, [t.name for t in api.read_spec(model, options).outputs])
    mismatch = source_mismatch(model, list(artifacts))
    if mismatch:  # first, before any result, so nobody reads a failure without its likely cause
        from modelport.cli.render import console

        console(stderr=True).print(f"warning: {mismatch}", highlight=False)
    with progress_bar("validate") as progress:
        if preprocess is not None:  # artifacts of `convert --preprocess`: raw rows, through the transformer
            from modelport.compose.validate import validate_paths as validate_composed

            report = validate_composed(model, list(artifacts), preprocess, architecture=architecture,
                                       trust_code=trust_code, custom_objects=custom_objects, data=data,
                                       trust_types=tuple(trust_type or ()),
                                       tolerance=tolerance, runtimes=runtimes_option(runtimes), seed=seed,
                                       progress=progress)
        else:
            report = validate_paths(
                model, list(artifacts), load_options=load_options(architecture, trust_code, custom_objects, trust_type),
                data=data, tolerance=tolerance, runtimes=runtimes_option(runtimes), batch_sizes=(1, batch_size),
                seed=seed, progress=progress, localize=localize,
            )
    if require:
        require_runtimes(report)
    finish(report, report_json, junit, report_html, as_json, strict)
