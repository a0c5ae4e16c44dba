"""The PETSc options of one solver: in the database only around its set-up and solves, and checked.

PETSc reads options silently: a misspelt key is ignored, and a value it cannot use stops the program
with a PETSc traceback. Here every option the user gave (``solver: {fluid: {...}}`` in a case file) must
have been read by the solver by the end of its first solve (the multigrid smoothers read theirs only at
set-up), and a value PETSc rejects becomes a one-line :class:`~oncotwin.core.errors.SolverOptionError`
naming the option. Project defaults a solver does not read (multigrid options under a one-level
preconditioner) are never reported. Both decisions are collective: every rank raises the same error.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from oncotwin.core.errors import OncotwinError, SolverError, SolverOptionError
from oncotwin.core.fenics import MPI, PETSc
from oncotwin.core.log import get_logger

UNUSED_POLICIES = ("error", "warn")

# Candidates for "did you mean" besides the solver's own options: PETSc cannot list the names it knows.
COMMON_OPTIONS = (
    "ksp_type", "ksp_rtol", "ksp_atol", "ksp_divtol", "ksp_max_it", "ksp_norm_type", "ksp_monitor",
    "ksp_converged_reason", "ksp_view", "ksp_initial_guess_nonzero", "ksp_error_if_not_converged",
    "ksp_gmres_restart", "ksp_pc_side", "pc_type", "pc_factor_levels", "pc_factor_mat_solver_type",
    "sub_ksp_type", "sub_pc_type", "sub_pc_factor_levels", "pc_gamg_type", "pc_gamg_threshold",
    "pc_gamg_agg_nsmooths", "pc_gamg_aggressive_coarsening", "pc_gamg_coarse_eq_limit", "pc_mg_levels",
    "pc_mg_cycle_type", "mg_levels_ksp_type", "mg_levels_pc_type", "mg_levels_ksp_max_it",
    "mg_coarse_ksp_type", "mg_coarse_pc_type",
)

log = get_logger("la")


def option_value(value: object) -> str:
    """``value`` as PETSc reads it from the options database."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class SolverOptions:
    """The options of one KSP under its prefix: project defaults overridden by the user's.

    Attributes:
        comm: the KSP's communicator.
        prefix: the KSP's options prefix (``fluid_``, ...).
        values: every option, prefixed name -> value as PETSc reads it.
        overrides: the user's options, unprefixed name -> value as given.
        unused: what an override that the solver never read raises: ``"error"``, or ``"warn"`` (logged).
        unread: overrides not read so far.
        checked: whether the unread overrides have been reported (after the first solve).
    """

    comm: MPI.Comm
    prefix: str
    values: dict[str, str]
    overrides: dict[str, object]
    unused: str = "error"
    unread: set[str] = field(default_factory=set)
    checked: bool = False

    @classmethod
    def create(cls, comm: MPI.Comm, prefix: str, defaults: dict, overrides: dict | None = None,
               unused: str = "error") -> SolverOptions:
        """``defaults`` then ``overrides`` under ``prefix``; ``unused`` as in the class."""
        if unused not in UNUSED_POLICIES:
            raise ValueError(f"unused must be one of {UNUSED_POLICIES}, got {unused!r}")
        overrides = dict(overrides or {})
        values = {f"{prefix}{key}": option_value(value) for key, value in {**defaults, **overrides}.items()}
        return cls(comm, prefix, values, overrides, unused, unread=set(overrides))

    @property
    def label(self) -> str:
        """Where the user set the options: ``solver.fluid`` for the prefix ``fluid_``."""
        return f"solver.{self.prefix.rstrip('_')}"

    @contextmanager
    def active(self, collective: bool = True) -> Iterator[None]:
        """The options in the global database for the body, which then records the overrides it read.

        A :class:`PETSc.Error` in the body from reading the user's options becomes a
        :class:`SolverOptionError`. With ``collective`` every rank learns of a failure on any rank and
        raises too (an error instead of a hang).
        """
        db = PETSc.Options()
        for name, value in self.values.items():
            db[name] = value
        failure = None
        try:
            yield
        except PETSc.Error as exc:
            failure = exc
        finally:
            self.unread = {key for key in self.unread if not db.used(f"{self.prefix}{key}")}
            for name in self.values:
                db.delValue(name)
        error = self.rejected(_frames(failure)) if failure is not None else None
        if collective:
            error = self._agree(failure, error)
        if error is not None:
            raise error from None
        if failure is not None:
            raise failure

    def _agree(self, failure: PETSc.Error | None, error: SolverOptionError | None) -> OncotwinError | None:
        """What every rank raises after a failure on any rank: the first rank's option error if there is
        one; else a rank that failed keeps its PETSc error (None) and the others raise a SolverError."""
        reason = None if failure is None else _frames(failure)[-1].strip()
        reports = self.comm.allgather((str(error) if error is not None else None, reason))
        messages = [message for message, _ in reports if message is not None]
        if messages:
            return SolverOptionError(messages[0])
        failed = [(rank, reason) for rank, (_, reason) in enumerate(reports) if reason is not None]
        if failed and failure is None:
            return SolverError(f"{self.label}: PETSc failed on rank {failed[0][0]}: {failed[0][1]}")
        return None

    def rejected(self, frames: list[str]) -> SolverOptionError | None:
        """The one-line error for a PETSc failure (its traceback ``frames``) in reading the user's
        options, naming the option(s) and value; None for other failures or without user options."""
        if not self.overrides or not any("SetFromOptions" in f or "PetscOptions" in f for f in frames):
            return None
        reason = " ".join(frames[-1].split())
        culprits = _culprits(reason, self.prefix, {k: option_value(v) for k, v in self.overrides.items()})
        if len(culprits) == 1:
            key = culprits[0]
            return SolverOptionError(f"{self.label}.{key}: PETSc rejected the value {self.overrides[key]!r}: {reason}")
        shown = ", ".join(f"{key}: {self.overrides[key]!r}" for key in culprits)
        return SolverOptionError(f"{self.label}: PETSc rejected the options {shown}: {reason}")

    def check_unread(self, ksp: PETSc.KSP) -> None:
        """Once, after the first solve: raise (or warn) when a user's option was never read on any rank."""
        if self.checked:
            return
        self.checked = True
        if not self.overrides:  # the same on every rank
            return
        gathered = self.comm.allgather(sorted(self.unread))
        unread = sorted(set.intersection(*(set(keys) for keys in gathered)))
        if not unread:
            return
        message = self.unread_message(unread, ksp.getType(), ksp.getPC().getType())
        if self.unused == "warn":
            log.warning("%s (ignored)", message)
            return
        raise SolverOptionError(message)

    def unread_message(self, unread: list[str], ksp_type: str, pc_type: str) -> str:
        """One line naming the ``unread`` overrides, the solver types and close matches of the names."""
        known = ({name[len(self.prefix):] for name in self.values} - set(unread)) | set(COMMON_OPTIONS)
        parts = []
        for key in unread:  # a known name is read by other solver types: no suggestion
            matches = [] if key in known else difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{matches[0]}'?)" if matches else ""
            parts.append(f"'{key}: {option_value(self.overrides[key])}'{hint}")
        plural = "s" if len(unread) > 1 else ""
        return (f"{self.label}: option{plural} {', '.join(parts)} never read by the PETSc solver (KSP {ksp_type}, "
                f"PC {pc_type}): misspelt, or not used with these solver types")


def _frames(error: PETSc.Error) -> list[str]:
    """PETSc's traceback of ``error``, innermost (the reason) last."""
    frames = [str(f) for f in (getattr(error, "_traceback", None) or [])]
    return frames or [str(error)]


def _culprits(reason: str, prefix: str, overrides: dict[str, str]) -> list[str]:
    """The overrides that PETSc's ``reason`` names: by option name, else by value, else all of them."""
    text = reason.lower()
    named = [key for key in overrides if re.search(rf"-{re.escape((prefix + key).lower())}\b", text)]
    if named:
        return named
    tokens = {token.rstrip(".") for token in re.findall(r"[\w.+-]+", text)}
    valued = [key for key, value in overrides.items() if value.lower() in tokens]
    return valued or list(overrides)
