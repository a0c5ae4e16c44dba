"""The steady interstitial flow of a case: its fluid problem, boundary conditions and steady metrics."""

from __future__ import annotations

from oncotwin.case.physics import FluidBC, NoFluxBC, PressureBC, RobinBC
from oncotwin.case.schema import Case
from oncotwin.core.fenics import dolfinx
from oncotwin.core.log import get_logger
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.tissues import fluid_tissues
from oncotwin.problems.fluid import FluidBoundary, FluidProblem, PressureBoundary, RobinBoundary

log = get_logger("fluid")


def fluid_boundary(bc: FluidBC) -> FluidBoundary | None:
    """The problem's form of one boundary condition of the case (None for no-flux: the natural condition)."""
    if isinstance(bc, PressureBC):
        return PressureBoundary(bc.boundary, bc.pressure)
    if isinstance(bc, RobinBC):
        return RobinBoundary(bc.boundary, bc.conductance, bc.far_pressure)
    if isinstance(bc, NoFluxBC):
        return None
    raise TypeError(bc)  # pragma: no cover - the schema is closed


def fluid_boundaries(case: Case) -> list[FluidBoundary]:
    """Pressure and Robin conditions of the case, in the case's order."""
    specs = (fluid_boundary(bc) for bc in case.physics.fluid.boundary_conditions)
    return [spec for spec in specs if spec is not None]


def create_fluid_problem(case: Case, tmesh: TaggedMesh) -> FluidProblem:
    """The fluid problem of the case on ``tmesh`` (not yet solved)."""
    opts = case.physics.fluid
    return FluidProblem(tmesh, fluid_tissues(case), fluid_boundaries(case), degree=opts.degree,
                        petsc_options=case.solver.get("fluid"), ifp_threshold=opts.ifp_threshold)


def solve_steady_flow(case: Case, tmesh: TaggedMesh) -> tuple[FluidProblem, list[dolfinx.fem.Function],
                                                                dict[str, float]]:
    """Solve the steady flow of the case: the problem, its output fields and its steady metrics.

    Warns about unresolved rim pressure layers and logs the solve and the IFP summary.
    """
    problem = create_fluid_problem(case, tmesh)
    problem.warn_unresolved_layers()
    info = problem.solve()
    log.info("fluid: %d %s iterations, residual %.2e (%s), %d dofs", info.iterations,
             problem.ksp.getType(), info.residual_norm, info.reason, problem.V.dofmap.index_map.size_global)
    outputs = problem.output_fields()
    metrics = problem.metrics()
    metrics["fluid_residual_norm"] = info.residual_norm
    log.info("fluid: IFP max %.2f mmHg, mean %.2f mmHg in the tumour; rim velocity %.3g um/s",
             metrics["ifp_max_tumour_mmHg"], metrics["ifp_mean_tumour_mmHg"],
             metrics["rim_outward_velocity_mean_um_per_s"])
    return problem, outputs, metrics
