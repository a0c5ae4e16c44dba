"""PETSc Krylov solvers with per-problem option prefixes and honest convergence checks.

Each sub-problem owns a prefix (``fluid_``, ...). Its defaults are set in the PETSc options database
under that prefix, then the case file's overrides (``solver: {fluid: {...}}``), so a user can change any
PETSc option of one problem without touching the others. An override the solver never reads (a typo)
and a value PETSc rejects are one-line errors (:mod:`oncotwin.la.options`).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np

from oncotwin.core.errors import SolverError
from oncotwin.core.fenics import PETSc
from oncotwin.la.options import SolverOptions

_REASONS = {v: k for k, v in PETSc.KSP.ConvergedReason.__dict__.items() if not k.startswith("_")}


@dataclass(frozen=True)
class SolveInfo:
    """What a linear solve did."""

    iterations: int
    residual_norm: float
    reason: str


def create_ksp(comm, A: PETSc.Mat, prefix: str, defaults: dict, overrides: dict | None = None,
               near_nullspace: PETSc.NullSpace | None = None, unused: str = "error") -> PETSc.KSP:
    """A KSP for operator ``A`` configured from ``defaults`` then ``overrides`` under ``prefix``.

    The options are kept with the KSP and put back into the PETSc database around every set-up and
    solve (:func:`set_up`, :func:`solve`): multigrid preconditioners create their level smoothers only at
    set-up and read their options (``mg_levels_*``) then. Between solves the global database stays clean,
    so problems with the same prefix and different options do not see each other's options.

    Args:
        comm: communicator of ``A``.
        A: the operator (also the preconditioner's matrix).
        prefix: options prefix of this problem (``fluid_``, ...).
        defaults: the project's options; those the solver does not read are fine.
        overrides: the user's options (case file ``solver`` section): each must be read by the end of
            the first :func:`solve`.
        near_nullspace: attached to ``A`` for algebraic multigrid.
        unused: an override the solver never read raises (``"error"``) or is logged (``"warn"``).

    Raises:
        SolverOptionError: PETSc rejects the value of an override (on every rank).
    """
    if near_nullspace is not None:
        A.setNearNullSpace(near_nullspace)
    ksp = PETSc.KSP().create(comm)
    options = SolverOptions.create(ksp.getComm().tompi4py(), prefix, defaults, overrides, unused)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    with options.active():
        ksp.setFromOptions()
    ksp.setAttr(_OPTIONS_ATTR, options)
    return ksp


_OPTIONS_ATTR = "oncotwin_options"


def release_garbage(comm) -> None:
    """Destroy the parallel PETSc objects whose Python owners have gone (collective on ``comm``).

    petsc4py does not destroy an object of a parallel communicator when Python collects it (destruction is
    collective, collection is not); it parks it until ``PETSc.garbage_cleanup``. Each parked matrix keeps
    what it holds alive, e.g. the DOLFINx CSR matrix of :class:`oncotwin.la.assembly.NativeMatrix` and its
    neighbourhood communicators: about 8 communicators per forward run on 2 ranks, so a calibration of a few
    hundred runs in one process exhausted MPICH's 2048. Call it after a run's objects are released.

    PETSc keeps the garbage per communicator: pass the communicator the objects were made on (a mesh's
    ``mesh.comm``, which DOLFINx duplicated from the one it was given), while that communicator is alive.
    """
    gc.collect()
    if comm.size > 1:
        PETSc.garbage_cleanup(comm)

# Smoothed-aggregation AMG for scalar diffusion-type operators (mass + diffusion [+ weak convection]).
# No graph filtering (threshold -1): a 4x cheaper set-up than 0.02 for the same iterations. Other set-up
# savings (MIS-2 aggressive coarsening, unsmoothed aggregation) cost iterations on diffusion-dominated
# operators under refinement (benchmarks/gamg_options.py, BENCHMARKS.md).
MULTIGRID = {
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_threshold": -1.0,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}
# Above this diffusion number dt D / h^2 the mass matrix no longer dominates a time step's operator: a
# one-level preconditioner's iterations then grow like sqrt(dt D) / h under refinement, multigrid's do not.
# A steady reaction-diffusion operator K + a M is a time step with dt = 1 / a (number D / (a h^2)).
MULTIGRID_ABOVE = 2.0


def diffusion_number(dt: float, diffusivity: float, cell_size: float) -> float:
    """``dt D / h^2``.

    Args:
        dt: step size [s].
        diffusivity: the largest diffusivity of the operator [mm^2/s].
        cell_size: typical cell size ``h`` [mm] (:func:`oncotwin.problems.regions.typical_cell_size`).
    """
    return dt * diffusivity / cell_size ** 2


def preconditioner_defaults(defaults: dict, number: float, overrides: dict | None = None) -> dict:
    """One-level ``defaults`` for a mass- or reaction-dominated operator, switched to :data:`MULTIGRID`
    above :data:`MULTIGRID_ABOVE` (see :func:`diffusion_number`) unless the case file sets ``pc_type``.

    Below the switch the one-level iterations are bounded by the switch itself (the condition number is
    at most about ``1 + 12 * MULTIGRID_ABOVE``) and a one-level preconditioner costs almost no set-up."""
    if number <= MULTIGRID_ABOVE or "pc_type" in (overrides or {}):
        return defaults
    return {**{k: v for k, v in defaults.items() if not k.startswith("sub_")}, **MULTIGRID}


def set_up(ksp: PETSc.KSP) -> None:
    """Set up the preconditioner now (e.g. build the multigrid hierarchy once, before time stepping).

    Raises:
        SolverOptionError: PETSc rejects the value of an override read at set-up (on every rank).
    """
    options: SolverOptions | None = ksp.getAttr(_OPTIONS_ATTR)
    if options is None:
        ksp.setUp()
        return
    with options.active():
        ksp.setUp()


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, what: str) -> SolveInfo:
    """Solve and raise :class:`SolverError` (with PETSc's reason) when the solver did not converge.

    Raises:
        SolverOptionError: after the first solve, when an override was never read or PETSc rejected
            its value (on every rank).
        SolverError: the solver did not converge.
    """
    options: SolverOptions | None = ksp.getAttr(_OPTIONS_ATTR)
    if options is None:
        ksp.solve(b, x)
    else:
        with options.active(collective=not options.checked):
            ksp.solve(b, x)
        options.check_unread(ksp)
    reason = ksp.getConvergedReason()
    info = SolveInfo(ksp.getIterationNumber(), ksp.getResidualNorm(), _REASONS.get(reason, str(reason)))
    if reason < 0:
        raise SolverError(f"{what}: linear solver diverged ({info.reason}) after {info.iterations} "
                          f"iterations, residual norm {info.residual_norm:.3e}; adjust 'solver' options")
    return info


def newton_forcing(residual: float, previous: float | None, eta_previous: float | None, tolerance: float,
                   final: float = 0.01, eta_max: float = 0.1, gamma: float = 0.9) -> float:
    """Relative tolerance of the linear solve of an inexact Newton step (Eisenstat & Walker 1996, choice 2).

    ``eta = gamma (|F_k| / |F_k-1|)^2``, kept up to ``gamma eta_k-1^2`` when that is above 0.1 (so one lucky
    step does not ask for an over-accurate solve) and capped at ``eta_max``. A solve whose target
    ``eta |F_k|`` is already within the Newton tolerance ends the iteration: it aims at ``final`` times the
    tolerance instead, and no further (Kelley 1995, *Iterative Methods for Linear and Nonlinear Equations*,
    SIAM, eq. 6.20, floors at 0.5; 0.01 keeps the linear error well below where the iteration stops). Far
    from the solution the steps solve loosely, near it they stay superlinear. The iteration then stops just
    below the Newton tolerance, where exact solves overshot it quadratically: on the oxygen regression closed
    form the error is 1.4e-9 at a Newton tolerance of 1e-10 against 6e-12 with exact solves (measured), so a
    comparison tighter than the tolerance must ask for a tighter tolerance.

    Args:
        residual: |F_k| of the current iterate.
        previous: |F_k-1| (None at the first step: ``eta_max``).
        eta_previous: the forcing term of the previous step.
        tolerance: the absolute Newton tolerance on |F|.
        final: target of the last solve, as a fraction of ``tolerance``.
        eta_max: the largest forcing term.
        gamma: Eisenstat and Walker's gamma.
    """
    if residual <= 0:
        return eta_max
    if previous is None or eta_previous is None or previous <= 0:
        eta = eta_max
    else:
        eta = gamma * (residual / previous) ** 2
        if gamma * eta_previous ** 2 > 0.1:
            eta = max(eta, gamma * eta_previous ** 2)
    eta = min(eta, eta_max)
    if eta * residual <= tolerance:
        eta = final * tolerance / residual
    return min(eta, eta_max)


def m_matrix_correction(K: PETSc.Mat, weights: PETSc.Vec | None = None) -> PETSc.Mat:
    """Discrete diffusion ``D`` that makes ``K + D`` an M-matrix (Kuzmin's discrete upwinding).

    ``d_ij = -w_ij max(k_ij, 0)`` off the diagonal with ``w_ij = (w_i + w_j) / 2`` (1 without weights) and
    ``d_ii = -sum_j d_ij``: symmetric, zero row and column sums (conservative). On meshes with obtuse
    tetrahedra a P1 diffusion matrix has positive off-diagonal entries, and a reaction-dominated problem
    whose boundary layers are thinner than the cells then undershoots below zero. The correction is not a
    consistent diffusion operator, so ``weights`` (in [0, 1] per row) should confine it to where the
    reaction dominates and the diffusion hardly matters. Exact in parallel (row-local plus PETSc's
    diagonal scaling).
    """
    indptr, cols, vals = K.getValuesCSR()
    start = K.getOwnershipRange()[0]
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64) + start, np.diff(indptr))
    positive = np.where((vals > 0) & (cols != rows), vals, 0.0)
    D = K.duplicate(copy=False)
    D.zeroEntries()
    D.setValuesCSR(indptr, cols, -positive, addv=PETSc.InsertMode.INSERT_VALUES)
    D.assemble()
    if weights is not None:
        right = D.copy()
        D.diagonalScale(L=weights)
        right.diagonalScale(R=weights)
        D.axpy(1.0, right, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        D.scale(0.5)
        right.destroy()
    row_sums = D.getRowSum()
    row_sums.scale(-1.0)
    D.setDiagonal(row_sums, addv=PETSc.InsertMode.ADD_VALUES)
    row_sums.destroy()
    return D


class ProjectedInitialGuess:
    """Initial guesses for a sequence of solves with one symmetric positive definite matrix.

    Keeps an ``A``-orthonormal basis of earlier solutions; the guess for a new right-hand side ``b`` is the
    ``A``-orthogonal projection of the unknown solution onto their span, ``x0 = sum_i (q_i . b) q_i``
    (P. F. Fischer, Comput. Methods Appl. Mech. Engrg. 163, 1998). It is never further from the solution
    in the energy norm than any earlier solution or their extrapolation in time, so a slowly changing
    load (growth strain from one day to the next) needs far fewer Krylov iterations than starting from
    the previous solution. Costs one matrix-vector product and a few dot products per solve.

    Args:
        A: the (assembled, fixed) matrix.
        size: number of basis vectors kept; when full, the basis restarts from the newest solution.
    """

    def __init__(self, A: PETSc.Mat, size: int = 6):
        self.A, self.size = A, size
        self._basis: list[tuple[PETSc.Vec, PETSc.Vec]] = []  # (q_i, A q_i)

    def guess(self, b: PETSc.Vec, x: PETSc.Vec) -> bool:
        """Set ``x`` to the projected guess; returns False (``x`` unchanged) while the basis is empty."""
        if not self._basis:
            return False
        x.set(0.0)
        for q, _ in self._basis:
            x.axpy(q.dot(b), q)
        return True

    def add(self, x: PETSc.Vec) -> None:
        """Add a new solution ``x`` to the basis (A-orthonormalised by modified Gram-Schmidt)."""
        if len(self._basis) >= self.size:
            self.reset()
        q, Aq = x.copy(), x.duplicate()
        self.A.mult(q, Aq)
        scale = q.dot(Aq)
        for qi, Aqi in self._basis:
            c = Aqi.dot(q)
            q.axpy(-c, qi)
            Aq.axpy(-c, Aqi)
        norm2 = q.dot(Aq)
        if not (scale > 0 and norm2 > 1e-20 * scale):  # x (numerically) in the span already
            q.destroy()
            Aq.destroy()
            return
        q.scale(norm2 ** -0.5)
        Aq.scale(norm2 ** -0.5)
        self._basis.append((q, Aq))

    def state(self) -> np.ndarray:
        """The basis as rows ``q_0, A q_0, q_1, ...`` of owned entries (for checkpoints: a resumed run
        must make the same guesses to reproduce the uninterrupted run)."""
        rows = [v.array.copy() for pair in self._basis for v in pair]
        return np.array(rows).reshape(len(rows), self.A.getLocalSize()[0])

    def restore(self, rows: np.ndarray) -> None:
        """Set the basis from :meth:`state` (same matrix and partition)."""
        self.reset()
        for q_values, Aq_values in zip(rows[0::2], rows[1::2], strict=True):
            q, Aq = self.A.createVecRight(), self.A.createVecRight()
            q.array[:] = q_values
            Aq.array[:] = Aq_values
            self._basis.append((q, Aq))

    def reset(self) -> None:
        """Forget the basis (e.g. the matrix changed)."""
        for q, Aq in self._basis:
            q.destroy()
            Aq.destroy()
        self._basis.clear()
