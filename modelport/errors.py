"""The user-facing error family.

Every error a user can cause (a bad file, an unknown target, an unsafe model, a target that cannot
express the model) is a ``ModelportError``: one line saying what is wrong plus a hint saying what to
do, and the process exit code the CLI uses. Anything else that escapes is a modelport bug and keeps
its traceback.

Exit codes: 0 ok · 1 parity or gate failure · 2 bad input or usage · 3 a requested target cannot
express the model.
"""

from __future__ import annotations

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
