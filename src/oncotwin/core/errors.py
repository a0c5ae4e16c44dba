"""Exceptions that reach the user as one line, without a traceback."""

from __future__ import annotations


class OncotwinError(Exception):
    """An error caused by user input or the environment; the CLI prints it as one line and exits 2."""


class CaseError(OncotwinError):
    """Bad case-file content: names the file, the key, the value and what is allowed."""

    def __init__(self, file: str, key: str, value: object, allowed: str, line: int | None = None):
        self.file, self.key, self.value, self.allowed, self.line = file, key, value, allowed, line
        where = f"{file}:{line}" if line else str(file)
        shown = _short(value)
        super().__init__(f"{where}: key '{key}': got {shown}; {allowed}")

    def __reduce__(self):  # picklable, so that rank 0 can broadcast it
        return (CaseError, (self.file, self.key, self.value, self.allowed, self.line))


class InputDataError(OncotwinError):
    """Bad image, label or mesh input (names the file and what is wrong)."""


class SolverError(OncotwinError):
    """A linear or nonlinear solve failed (carries the PETSc reason)."""


class StiffKineticsError(OncotwinError):
    """The cell kinetics would need more sub-steps per growth step than the cap (names the rates)."""


class SolverOptionError(OncotwinError):
    """A PETSc option of the case file's ``solver`` section that the solver never read or whose value
    PETSc rejects (names the solver, the option and the value)."""


class RunDirectoryError(OncotwinError):
    """The output directory cannot be used (exists without --force, not writable, ...)."""


class OutputExistsError(RunDirectoryError):
    """The output (a result folder or a file) exists and ``--force`` was not given."""


class OutputLockedError(RunDirectoryError):
    """Another run is writing the same output folder (its lock file is held)."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RunInterrupted(OncotwinError):
    """A run stopped on SIGINT/SIGTERM at a safe point; the message says how to resume it."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)

    def __reduce__(self):
        return (RunInterrupted, (str(self), self.exit_code))
