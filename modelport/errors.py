"""The user-facing error family.

Every error a user can cause (a bad file, an unknown target, an unsafe model, a target that cannot
express the model) is a ``ModelportError``: one line saying what is wrong plus a hint saying what to
do, and the process exit code the CLI uses.

Exit codes: 0 ok · 1 parity or gate failure · 2 bad input or usage · 3 a requested target cannot
express the model · 130/143 interrupted (SIGINT/SIGTERM).

Exceptions from dependencies (h5py, Keras, TensorFlow, tf2onnx, the PMML runtimes...) are turned
into a ``StageError`` at the stage boundaries (``with stage(...)``), one line naming the stage, the
artifact and, where the message names one, the layer. Its exit code follows from the stage:

* ``load`` (reading the model file, building the Keras model): 2 — the file is input the
  dependency rejects;
* ``convert`` (exporting one target): 3 — that target cannot express the model as modelport
  produces it; with ``--to all`` the target is skipped with this reason instead;
* ``validate``: the Keras reference failing on the validation inputs is 2 (the inputs do not suit
  the model: pass ``--data``); an artifact whose runtime fails is a failed artifact (1), reported in
  the parity report like any other failure.

``--debug`` adds the traceback; it never changes the exit code. Anything escaping every stage is
a modelport bug: the CLI still prints one line (``internal error``) and exits 1.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator

EXIT_OK = 0
EXIT_PARITY = 1
EXIT_BAD_INPUT = 2
EXIT_UNSUPPORTED = 3


class ModelportError(Exception):
    """A problem the user can fix. ``str(err)`` is a single line: message, then the hint."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = " ".join(str(message).split())
        self.hint = " ".join(hint.split()) if hint else None

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class BadInputError(ModelportError):
    """Missing, unreadable or malformed input; usage mistakes."""


class NotAModelError(BadInputError):
    """The file is not a Keras model container (HTML page, empty, truncated, weights only...)."""


class UnsafeModelError(BadInputError):
    """The model needs code to run (Lambda, custom classes, foreign modules) and the user did not opt in."""


class OutputError(BadInputError):
    """The output location is unusable: exists without --force, unwritable, taken by a concurrent run."""


class UnknownTargetError(BadInputError):
    """A conversion target nobody registered."""


class UnsupportedTargetError(ModelportError):
    """A requested target cannot express the model; ``findings`` names every offending layer."""

    exit_code = EXIT_UNSUPPORTED

    def __init__(self, message: str, hint: str | None = None, findings=()):
        super().__init__(message, hint)
        self.findings = list(findings)


class ParityError(ModelportError):
    """An artifact does not compute what the Keras model computes, or a gate check failed."""

    exit_code = EXIT_PARITY


class Interrupted(BaseException):  # noqa: N818  (a signal, not an error)
    """SIGINT or SIGTERM arrived. A ``BaseException``, like ``KeyboardInterrupt``, so no stage or
    runtime wrapper (``except Exception``) records it as a failed artifact: it unwinds the run, the
    staging directory is removed, and the CLI exits 128 + the signal number (130, 143)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum


_pending_signal: list[int] = []  # set by the CLI's signal handler, checked at safe points


def note_signal(signum: int) -> bool:
    """Record SIGINT/SIGTERM; returns whether one was already pending (a second Ctrl-C)."""
    again = bool(_pending_signal)
    _pending_signal[:] = [signum]
    return again


def clear_signal() -> None:
    _pending_signal.clear()


def check_interrupted() -> None:
    """Raise ``Interrupted`` if a signal arrived. Called at safe points (between steps, before
    anything is committed), because an exception raised inside a signal handler can land in the
    middle of C code (TensorFlow's imports, JPype) that mangles or swallows it."""
    if _pending_signal:
        raise Interrupted(_pending_signal[0])


class StageError(ModelportError):
    """A dependency failed during a stage: ``stage``, ``artifact`` and ``layer`` (when known) say where."""

    def __init__(self, stage: str, artifact: str, cause: BaseException, *, exit_code: int = EXIT_BAD_INPUT,
                 layer: str | None = None, hint: str | None = None):
        where = f" at layer '{layer}'" if layer else ""
        super().__init__(f"{stage} failed for {artifact}{where}: {describe(cause)}",
                         hint or "run with --debug for the traceback")
        self.stage, self.artifact, self.layer, self.cause = stage, artifact, layer, cause
        self.exit_code = exit_code


_GENERIC = re.compile(r"^(Exception encountered when calling|Graph execution error)")
_TF_NOISE = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*$|\x1b\[[0-9;]*m")
_KERAS_CALL = re.compile(r"calling (\w+)\.call\(\)")  # Keras 3: "Exception encountered when calling Embedding.call()"


def describe(error: BaseException, limit: int = 300) -> str:
    """``Type: the first informative line of the message``, short enough for one line of a log
    (Keras's "Exception encountered when calling X.call()" says less than the line after it)."""
    lines = [_TF_NOISE.sub("", line).strip() for line in str(error).strip().splitlines()]
    lines = [line for line in lines if line]
    informative = [line for line in lines if not _GENERIC.match(line)]
    text = f"{type(error).__name__}: {(informative or lines)[0]}" if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


_LAYER_PATTERNS = (
    re.compile(r"""[Ll]ayer ["'`]([^"'`]+)["'`]"""),  # Keras: "calling layer 'dense' (type Dense)"
    re.compile(r"""layer named ["'`]?([\w.-]+)"""),
)


def layer_named_in(error: BaseException, layers: Iterable[str | tuple[str, str]] = ()) -> str | None:
    """The layer an exception (or its causes) speaks of: Keras's "layer 'x'" phrasing, a known layer
    name appearing as a graph-op scope (``model/dense_1/MatMul``) or quoted, or the only layer of the
    class Keras 3 names ("calling Embedding.call()"). ``layers``: names or (name, class) pairs."""
    pairs = [(la, "") if isinstance(la, str) else tuple(la) for la in layers]
    names = sorted({n for n, _ in pairs if n}, key=len, reverse=True)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        for pattern in _LAYER_PATTERNS:
            match = pattern.search(text)
            if match and (not names or match.group(1) in names):
                return match.group(1)
        for name in names:
            n = re.escape(name)  # quoted, or a scope of an op path: 'dense_1', model/dense_1/MatMul
            if re.search(rf"[/'\"`]{n}[/'\"`:]|(?:^|\s){n}/", text):
                return name
        match = _KERAS_CALL.search(text)
        if match:
            of_class = [n for n, cls in pairs if cls == match.group(1)]
            if len(of_class) == 1:
                return of_class[0]
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def stage(name: str, artifact: object, *, exit_code: int = EXIT_BAD_INPUT, hint: str | None = None,
          layers: Iterable[str | tuple[str, str]] = ()) -> Iterator[None]:
    """Turn any exception that is not already a ``ModelportError`` into a one-line ``StageError``
    with ``exit_code``. Interrupts (``KeyboardInterrupt``, ``SystemExit``) are not ``Exception``s
    and pass untouched."""
    try:
        yield
    except ModelportError:
        raise
    except Exception as e:
        raise StageError(name, str(artifact), e, exit_code=exit_code, hint=hint,
                         layer=layer_named_in(e, layers)) from e
