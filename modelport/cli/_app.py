"""The Typer application, its global options and the error → exit-code mapping.

Command modules register on ``app``; ``run`` turns every error — a ``ModelportError``, an option
Typer cannot parse, a modelport bug — into one line on stderr and its exit code, and SIGINT/SIGTERM
into 130/143. ``--debug`` (anywhere on the command line) adds the traceback; the code stays.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelport.errors import EXIT_BAD_INPUT, Interrupted, ModelportError, clear_signal, note_signal


def _plain_metavars() -> None:
    """Typer writes a required argument as ``{model}`` in usage lines; the convention (and every
    other tool) is ``MODEL``."""
    from typer.core import TyperArgument

    braced = TyperArgument.make_metavar

    def make_metavar(self, ctx, *, usage: bool = False) -> str:
        var = braced(self, ctx, usage=usage)
        return var[1:-1] if var.startswith("{") and var.endswith("}") else var

    TyperArgument.make_metavar = make_metavar


_plain_metavars()

app = typer.Typer(
    name="modelport",
    help="Get trained Keras models into production: convert to SavedModel, frozen pb, checkpoint, ONNX "
    "and PMML; analyse what each target can express; prove every artifact's numbers.\n\n"
    "Exit codes: 0 ok, 1 parity or gate failure, 2 bad input or usage, 3 a requested target cannot "
    "express the model, 130/143 interrupted. Add --debug to any command to see tracebacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]" and "[tool.modelport]" literally
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from modelport._version import __version__

        typer.echo(f"modelport {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", is_eager=True, callback=_print_version)] = False) -> None:
    """The global options (the help text is the app's)."""


# Shared spellings: every command names its model MODEL and prints machine output with --json.
ModelArg = Annotated[Path, typer.Argument(
    metavar="MODEL", help="Keras model file: .h5/.hdf5 (any Keras era), .keras, or .json with --architecture.",
    show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")]

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
    "--trust-code", help="Allow Lambda layers, and pickle/joblib files: runs Python code stored in the model file. Only for files you trust.")]
TrustTypeOpt = Annotated[list[str] | None, typer.Option(
    "--trust-type", help="A type a .skops file may build beyond scikit-learn's and numpy's (repeatable).",
    show_default=False)]
PmmlBackendOpt = Annotated[str | None, typer.Option(
    "--pmml-backend", help="PMML of a scikit-learn pipeline: sklearn2pmml (default, JPMML-SkLearn) or nyoka (pure Python).",
    show_default=False)]
CustomObjectsOpt = Annotated[Path | None, typer.Option(
    "--custom-objects", help="A .py file defining the model's custom layer classes (it is imported, so it runs).",
    show_default=False)]
PreprocessOpt = Annotated[Path | None, typer.Option(
    "--preprocess", help="The fitted scikit-learn preprocessing in front of the model (.skops; a pickle only with --trust-code): onnx and pmml then take the raw columns (docs/preprocessing.md).",
    show_default=False)]


def load_options(architecture: Path | None, trust_code: bool, custom_objects: Path | None,
                 trust_types: list[str] | None = None):
    from modelport.api import LoadOptions

    return LoadOptions(architecture, trust_code, custom_objects, tuple(trust_types or ()))


def pmml_backend_option(value: str | None) -> str | None:
    """--pmml-backend, checked before any work."""
    if value is None:
        return None
    from modelport.convert.sklearn_pmml import BACKENDS
    from modelport.errors import BadInputError

    if value.lower() not in BACKENDS:
        raise BadInputError(f"unknown PMML backend '{value}'", f"choose {' or '.join(BACKENDS)}")
    return value.lower()


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(error: ModelportError) -> None:
    """Print the one-line error and exit with its code."""
    _stderr().print(f"[bold red]error:[/] {error}", markup=True, emoji=False)
    raise SystemExit(error.exit_code)


STANDALONE = "convert"  # also installed as a program of its own


def run(argv: list[str] | None = None, prefix: list[str] | None = None) -> None:
    """Run the CLI; always ends in ``SystemExit`` with the documented code. Every error is one line
    on stderr; ``--debug`` (anywhere) prints the traceback before it and never changes the code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    before = os.environ.get("MODELPORT_DEBUG")
    if debug:
        os.environ["MODELPORT_DEBUG"] = "1"  # keeps TensorFlow's start-up messages (modelport.tfimport)
    try:
        with _signals_interrupt():
            code = _dispatch(args, debug, standalone=prefix == [STANDALONE]) if prefix in (None, [STANDALONE]) \
                else _dispatch([*prefix, *args], debug)
    finally:  # an in-process caller's environment is left as it was
        if before is None:
            os.environ.pop("MODELPORT_DEBUG", None)
        else:
            os.environ["MODELPORT_DEBUG"] = before
    if argv is None:  # a real process, not a caller's run([...])
        _exit_fast(code)
    raise SystemExit(code)


def _dispatch(args: list[str], debug: bool, standalone: bool = False) -> int:
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.exceptions import Abort

    try:
        if standalone:  # the `convert` program: its own usage line and help
            command = typer.main.get_command(app).get_command(None, STANDALONE)  # type: ignore[attr-defined]
            result = command.main(args=args, prog_name=STANDALONE, standalone_mode=False,
                                  help_option_names=["-h", "--help"])
        else:
            result = app(args=args, prog_name="modelport", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except NoArgsIsHelpError as e:
        e.show()
        return EXIT_BAD_INPUT
    except ClickException as e:  # option parsing: the project's one-line style, exit 2
        return _report(_usage_error(e), debug)
    except (KeyboardInterrupt, Abort, Interrupted) as e:  # staging is gone by now: nothing was written
        _stderr().print("interrupted — nothing written")
        return getattr(e, "exit_code", 130)
    except ModelportError as error:
        return _report(error, debug)
    except Exception as e:  # a modelport bug: still one line (the traceback with --debug)
        from modelport.errors import describe

        return _report(InternalError(f"internal error: {describe(e)}",
                                     "re-run with --debug and report the traceback"), debug, e)


@contextlib.contextmanager
def _signals_interrupt():
    """SIGINT and SIGTERM are recorded, and the run stops with ``Interrupted`` at its next safe point
    (every progress step, and before anything is committed); a second signal stops it at once. The
    previous handlers are restored afterwards (``run`` is also called in-process, by tests)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        if note_signal(signum):
            raise Interrupted(signum)

    clear_signal()
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        clear_signal()


class InternalError(ModelportError):
    exit_code = 1


def _usage_error(e) -> ModelportError:
    from modelport.errors import BadInputError

    message = e.format_message().strip().rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "modelport"
    return BadInputError(message, f"see `{where} --help`")


def _report(error: ModelportError, debug: bool, cause: BaseException | None = None) -> int:
    if debug:
        import traceback

        traceback.print_exception(cause or error, file=sys.stderr)
    _stderr().print(f"[bold red]error:[/] {error}", markup=True, emoji=False)
    return error.exit_code


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

