"""The linear solves of the oxygen Newton steps: symmetric SOR, switched to multigrid where diffusion dominates."""

from __future__ import annotations

from dataclasses import dataclass

from oncotwin.core.errors import SolverError
from oncotwin.core.fenics import PETSc
from oncotwin.core.log import get_logger
from oncotwin.la.petsc import MULTIGRID, SolveInfo, create_ksp, solve

OXYGEN_PETSC_DEFAULTS = {
    "ksp_type": "cg",  # the Jacobian is symmetric positive definite (lumped, monotone reaction)
    # Vascular supply makes the Jacobian nearly diagonal: the oxygen boundary layers (tens of micrometres)
    # are far thinner than the cells. Symmetric SOR then takes as many CG iterations as multigrid (139
    # against 135 in 33 Newton steps of BraTS, 8 days) without its set-up and Galerkin refresh at every
    # step: 0.30 s of linear solves instead of 2.42 s (BENCHMARKS.md, issue 21). Where diffusion dominates
    # (avascular tissue over many cells, the verification problems) it needs more than ONE_LEVEL_MAX_IT
    # iterations and the problem switches to OXYGEN_MULTIGRID_DEFAULTS for good.
    "pc_type": "sor",
    # the relative tolerance of each Newton step's solve is its forcing term (la.petsc.newton_forcing),
    # measured on the true residual |F + J du|; ksp_rtol in the case's solver options fixes it instead
    "ksp_norm_type": "unpreconditioned",
    "ksp_rtol": 1e-10,
    "ksp_atol": 1e-30,
    "ksp_max_it": 60,
    "ksp_error_if_not_converged": False,
}
ONE_LEVEL_MAX_IT = OXYGEN_PETSC_DEFAULTS["ksp_max_it"]
OXYGEN_MULTIGRID_DEFAULTS = {
    **OXYGEN_PETSC_DEFAULTS,
    **MULTIGRID,
    # aggregates and prolongators from the first Jacobian are reused by every later Newton step and
    # solve; only the Galerkin coarse operators and the smoothers are refreshed
    "pc_gamg_reuse_interpolation": True,
    "ksp_max_it": 1000,
}
MULTIGRID_OPTIONS = ("pc_type", "pc_gamg", "pc_mg", "mg_")
"""Solver options of a case that choose or tune the preconditioner: the problem then keeps multigrid's
defaults under them and never switches."""

log = get_logger("oxygen")


@dataclass(frozen=True)
class NewtonInfo:
    """What a Newton solve did.

    Attributes:
        iterations: Newton steps (0 when the initial guess already met the tolerance).
        linear_iterations: Krylov iterations summed over the steps.
        residual_norm: final residual 2-norm.
        initial_residual_norm: residual 2-norm of the initial guess.
        clipped_min: most negative nodal pO2 before clipping to 0 [mmHg] (0 when nothing was clipped).
    """

    iterations: int
    linear_iterations: int
    residual_norm: float
    initial_residual_norm: float
    clipped_min: float = 0.0


class NewtonStepSolver:
    """The KSP of the Newton steps ``J du = F``: symmetric SOR until it fails, then multigrid for good.

    Args:
        comm: communicator of ``A``.
        A: the Jacobian (values updated in place before each solve).
        prefix: the options prefix of the problem.
        petsc_options: the case's overrides; options that choose or tune the preconditioner
            (:data:`MULTIGRID_OPTIONS`) start on multigrid's defaults and never switch.
    """

    def __init__(self, comm, A: PETSc.Mat, prefix: str, petsc_options: dict | None):
        self.comm, self.A, self.prefix, self.petsc_options = comm, A, prefix, petsc_options
        self.multigrid = any(key.startswith(MULTIGRID_OPTIONS) for key in petsc_options or {})
        self.ksp = create_ksp(comm, A, prefix, OXYGEN_MULTIGRID_DEFAULTS if self.multigrid else OXYGEN_PETSC_DEFAULTS,
                              petsc_options)

    def solve(self, b: PETSc.Vec, x: PETSc.Vec, eta: float | None) -> SolveInfo:
        """Solve to the relative tolerance ``eta`` (None: the options' own); switches from SOR to multigrid for
        good when SOR fails (more than :data:`ONE_LEVEL_MAX_IT` iterations).

        Raises:
            SolverError: multigrid did not converge either.
        """
        if eta is not None:
            self.ksp.setTolerances(rtol=eta)
        try:
            return solve(self.ksp, b, x, "oxygen Newton step")
        except SolverError:
            if self.multigrid:
                raise
        log.info("oxygen: SOR needed more than %d CG iterations (diffusion-dominated tissue); switching to "
                 "algebraic multigrid", ONE_LEVEL_MAX_IT)
        self.ksp.destroy()
        self.multigrid = True
        self.ksp = create_ksp(self.comm, self.A, self.prefix, OXYGEN_MULTIGRID_DEFAULTS, self.petsc_options)
        if eta is not None:
            self.ksp.setTolerances(rtol=eta)
        return solve(self.ksp, b, x, "oxygen Newton step")
