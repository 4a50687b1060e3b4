"""The Typer application, its global options and the error → exit-code mapping.

Command modules register on ``app``; ``main`` turns a ``ModelportError`` into one line on stderr
and its exit code. ``--debug`` (anywhere on the command line) shows tracebacks instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelport.errors import ModelportError

app = typer.Typer(
    name="modelport",
    help="Get trained Keras models into production: convert to SavedModel, frozen pb, checkpoint, ONNX "
    "and PMML; analyse what each target can express; prove every artifact's numbers.\n\n"
    "Exit codes: 0 ok, 1 parity or gate failure, 2 bad input or usage, 3 a requested target cannot "
    "express the model. Add --debug to any command to see tracebacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]" and "[tool.modelport]" literally
)

# Loading options shared by every command that reads a Keras model file.
ArchitectureOpt = Annotated[Path | None, typer.Option(
    "--architecture", help="Keras to_json() architecture file, for a weights-only .h5.", show_default=False)]
PmmlMaxSizeOpt = Annotated[str | None, typer.Option(
    "--pmml-max-size", help="PMML document size budget, e.g. 128MB (the default) or 1GB; a bigger unrolled model is refused with its estimate.",
    show_default=False)]
SequenceLengthOpt = Annotated[int | None, typer.Option(
    "--sequence-length", min=1, help="PMML: the number of time steps to unroll a dynamic time axis over (the artifact's input shape says so).",
    show_default=False)]
TrustCodeOpt = Annotated[bool, typer.Option(
    "--trust-code", help="Allow Lambda layers: runs Python code stored in the model file. Only for files you trust.")]
CustomObjectsOpt = Annotated[Path | None, typer.Option(
    "--custom-objects", help="A .py file defining the model's custom layer classes (it is imported, so it runs).",
    show_default=False)]


def load_options(architecture: Path | None, trust_code: bool, custom_objects: Path | None):
    from modelport.api import LoadOptions

    return LoadOptions(architecture, trust_code, custom_objects)


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(error: ModelportError) -> None:
    """Print the one-line error and exit with its code."""
    _stderr().print(f"[bold red]error:[/] {error}", markup=True, emoji=False)
    raise SystemExit(error.exit_code)


def run(argv: list[str] | None = None, prefix: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if debug:
        os.environ["MODELPORT_DEBUG"] = "1"  # keeps TensorFlow's start-up messages (modelport.tfimport)
    try:
        try:
            app(args=[*(prefix or []), *args], prog_name="modelport", standalone_mode=True)
        except ModelportError as error:
            if debug:
                raise
            fail(error)
        except KeyboardInterrupt:
            _stderr().print("interrupted")
            raise SystemExit(130) from None
    except SystemExit as done:
        if argv is None:  # a real process, not a caller's run([...])
            _exit_fast(done.code)
        raise


def _exit_fast(code: object) -> None:
    """Once TensorFlow is loaded, interpreter teardown costs about a second (destroying its C++
    state), every run. Flush, run the atexit handlers (temporary files are removed there), and
    leave without it."""
    if "tensorflow" not in sys.modules:
        return
    import atexit

    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))

