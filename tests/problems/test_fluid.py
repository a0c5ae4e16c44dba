"""Verification of the fluid solver: manufactured solutions (rates) and Baxter & Jain spheres (< 1%)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from oncotwin.case import read_case
from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.mesh.distribute import TaggedMesh, mesh_in_memory
from oncotwin.model.fluid import fluid_boundaries
from oncotwin.model.tissues import fluid_tissues
from oncotwin.problems.fluid import FluidProblem, FluidTissue, PressureBoundary
from oncotwin.problems.regions import integrate
from oncotwin.verification.spherical_fluid import LayeredSphere, Shell

REPO = Path(__file__).resolve().parents[2]


def exact_pressure(x, m):
    """One definition for UFL (m=ufl) and NumPy (m=np): zero normal derivative on the unit cube."""
    return 2.0 + m.cos(m.pi * x[0]) * m.cos(m.pi * x[1]) * m.cos(2 * m.pi * x[2])


def cube(comm, n: int) -> TaggedMesh:
    """Unit cube split at x = 0.5 into 'tumour' (tag 1) and 'host' (tag 2)."""
    mesh = dolfinx.mesh.create_unit_cube(comm, n, n, n, ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = mesh.topology.dim
    ncells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, np.arange(ncells, dtype=np.int32))
    tags = np.where(midpoints[:, 0] < 0.5, 1, 2).astype(np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(ncells, dtype=np.int32), tags)
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, np.zeros(0, np.int32), np.zeros(0, np.int32))
    return TaggedMesh(mesh, cell_tags, facet_tags, {"tumour": 1, "host": 2}, {}, ("tumour",))


# Constant K (the exact solution is smooth across the interface); region-wise vessel and lymph terms.
# Values in internal units, constructed without unit parsing.
MMS_TISSUE = {
    "tumour": FluidTissue(hydraulic_conductivity=1.0, vascular_permeability=2.0, vessel_surface_density=3.0,
                          vascular_pressure=15.6, plasma_oncotic_pressure=20.0,
                          interstitial_oncotic_pressure=15.0, reflection_coefficient=0.82,
                          lymphatic_filtration=0.0, lymphatic_pressure=0.0),
    "host": FluidTissue(hydraulic_conductivity=1.0, vascular_permeability=0.5, vessel_surface_density=1.0,
                        vascular_pressure=15.6, plasma_oncotic_pressure=20.0,
                        interstitial_oncotic_pressure=10.0, reflection_coefficient=0.91,
                        lymphatic_filtration=4.0, lymphatic_pressure=1.0),
}


def mms_errors(comm, n: int, degree: int) -> tuple[float, float]:
    tm = cube(comm, n)
    x = ufl.SpatialCoordinate(tm.mesh)
    p_exact = exact_pressure(x, ufl)
    # the source that makes p_exact the solution, built from the problem's own coefficients
    probe = FluidProblem(tm, MMS_TISSUE, degree=degree)
    phys = probe.physics
    extra = ufl.div(phys.conductivity * ufl.grad(p_exact)) * -1.0 - phys.source(p_exact)
    problem = FluidProblem(tm, MMS_TISSUE, degree=degree, extra_source=extra)
    problem.solve()
    e = problem.p - p_exact
    dx = ufl.dx(metadata={"quadrature_degree": 2 * degree + 4})
    l2 = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(e * e * dx)), op=MPI.SUM)
    h1 = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(ufl.inner(ufl.grad(e), ufl.grad(e)) * dx)),
                        op=MPI.SUM)
    return math.sqrt(l2), math.sqrt(h1)


@pytest.mark.mpi
@pytest.mark.parametrize("degree", [1, 2])
def test_manufactured_solution_converges_at_optimal_rates(comm, degree):
    sizes = [4, 8, 16] if degree == 1 else [3, 6, 12]
    errors = [mms_errors(comm, n, degree) for n in sizes]
    l2_rates = [math.log2(errors[i][0] / errors[i + 1][0]) for i in range(len(sizes) - 1)]
    h1_rates = [math.log2(errors[i][1] / errors[i + 1][1]) for i in range(len(sizes) - 1)]
    assert l2_rates[-1] == pytest.approx(degree + 1, abs=0.25), (errors, l2_rates)
    assert h1_rates[-1] == pytest.approx(degree, abs=0.2), (errors, h1_rates)


def shells_for(case: Case) -> list[Shell]:
    geometry = case.geometry
    radii = {"necrotic": geometry.necrotic_radius, "tumour": geometry.tumour_radius, "host": geometry.host_radius}
    shells = []
    for name in ["necrotic", "tumour", "host"]:
        if name not in case.regions:
            continue
        f = case.regions[name].fluid
        vessels = f.vascular_permeability * f.vessel_surface_density
        a = vessels + f.lymphatic_filtration
        p_eff = f.vascular_pressure - f.reflection_coefficient * (
            f.plasma_oncotic_pressure - f.interstitial_oncotic_pressure)
        p_e = (vessels * p_eff + f.lymphatic_filtration * f.lymphatic_pressure) / a if a > 0 else 0.0
        shells.append(Shell(radii[name], f.hydraulic_conductivity, a, p_e))
    return shells


def relative_l2(comm, problem: FluidProblem, exact: LayeredSphere) -> float:
    space = dolfinx.fem.functionspace(problem.tmesh.mesh, ("Lagrange", problem.degree + 2))
    reference = dolfinx.fem.Function(space)
    reference.interpolate(lambda x: exact.pressure(np.linalg.norm(x, axis=0)))
    err = dolfinx.fem.assemble_scalar(dolfinx.fem.form((problem.p - reference) ** 2 * ufl.dx))
    ref = dolfinx.fem.assemble_scalar(dolfinx.fem.form(reference ** 2 * ufl.dx))
    return math.sqrt(comm.allreduce(err, op=MPI.SUM) / comm.allreduce(ref, op=MPI.SUM))


def solve_case(comm, case: Case) -> FluidProblem:
    tm = mesh_in_memory(comm, case)
    problem = FluidProblem(tm, fluid_tissues(case), fluid_boundaries(case), degree=case.physics.fluid.degree)
    problem.solve()
    return problem


@pytest.mark.mpi
def test_embedded_sphere_matches_baxter_jain_within_one_percent(comm):
    """The shipped verification case: tumour embedded in normal tissue, pressure and flux continuous."""
    case, _ = read_case(REPO / "cases" / "sphere_baxter_jain.yaml")
    problem = solve_case(comm, case)
    exact = LayeredSphere(shells_for(case), outer_pressure=case.physics.fluid.boundary_conditions[0].pressure)
    error = relative_l2(comm, problem, exact)
    assert error < 0.01, error
    metrics = problem.metrics()
    assert metrics["ifp_max_tumour_mmHg"] == pytest.approx(exact.pressure(0.0), rel=0.01)
    # rim velocity: closed form -K p'(R) on the tumour side
    assert metrics["rim_outward_velocity_mean_um_per_s"] == pytest.approx(
        1000 * exact.radial_velocity(case.geometry.tumour_radius - 1e-9), rel=0.02)


@pytest.mark.mpi
def test_isolated_tumour_with_necrotic_core(comm):
    """Baxter & Jain's isolated tumour (p = 0 at the rim), here with an avascular necrotic core."""
    case = Case.model_validate({
        "name": "isolated",
        "geometry": {"kind": "sphere", "tumour_radius": "3 mm", "necrotic_radius": "1.5 mm"},
        "mesh": {"size_tumour": "0.6 mm", "size_rim": "0.2 mm", "rim_band": "0.3 mm",
                 "grading_distance": "2 mm", "size_far": "1 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "necrotic": {"kind": "necrotic"}},
        "physics": {"fluid": {"degree": 2, "boundary_conditions": [
            {"boundary": "tumour_boundary", "type": "pressure", "pressure": "0 mmHg"}]}},
    })
    problem = solve_case(comm, case)
    exact = LayeredSphere(shells_for(case), outer_pressure=0.0)
    assert relative_l2(comm, problem, exact) < 0.01


@pytest.mark.mpi
def test_iterations_nearly_flat_under_refinement(comm):
    """AMG-preconditioned CG: iteration counts barely change when the mesh is refined."""
    iterations = []
    for n in (8, 16, 32):
        problem = FluidProblem(cube(comm, n), MMS_TISSUE, degree=1)
        iterations.append(problem.solve().iterations)
    assert iterations[-1] <= 1.3 * iterations[0] + 2, iterations


@pytest.mark.mpi
def test_vascular_scaling_lowers_tumour_pressure(comm):
    tm = cube(comm, 6)
    problem = FluidProblem(tm, MMS_TISSUE, degree=1)
    problem.solve()
    before = problem.metrics()["ifp_mean_tumour_mmHg"]
    problem.set_vascular_scaling({"tumour": 0.3})
    problem.solve()
    after = problem.metrics()["ifp_mean_tumour_mmHg"]
    assert after < before


@pytest.mark.mpi
def test_metrics_compiled_once_equal_freshly_compiled_forms_after_the_state_changes(comm):
    tm = cube(comm, 6)
    problem = FluidProblem(tm, MMS_TISSUE, degree=1)
    problem.solve()
    first = problem.metrics()
    problem.output_fields()
    problem.set_vascular_scaling({"tumour": 0.3})
    problem.solve()
    p, dxT = problem.p, problem.dx(1)
    volume = integrate(comm, 1.0 * dxT)
    problem.ifp_threshold = integrate(comm, p * dxT) / volume  # a new threshold inside the new range
    m = problem.metrics()
    source = problem.output_fields()[2]
    above = integrate(comm, ufl.conditional(ufl.gt(p, problem.ifp_threshold), 1.0, 0.0) * dxT) / volume
    assert 0.0 < above < 1.0 and m["ifp_fraction_above_threshold"] == pytest.approx(above, rel=1e-12)
    assert m["ifp_mean_tumour_mmHg"] == pytest.approx(integrate(comm, p * dxT) / volume, rel=1e-12)
    assert m["ifp_mean_tumour_mmHg"] != pytest.approx(first["ifp_mean_tumour_mmHg"], rel=1e-6)
    exchange = integrate(comm, problem.physics.source(p) * problem.dx_exchange(1))
    assert m["tumour_net_fluid_source_mm3_per_s"] == pytest.approx(exchange, rel=1e-12)
    cell_total = integrate(comm, source * problem.dx)
    assert cell_total == pytest.approx(integrate(comm, problem.physics.source(p) * problem.dx), rel=1e-12)


def test_unresolved_rim_layer_is_reported(comm):
    case, _ = read_case(REPO / "cases" / "sphere_baxter_jain.yaml")
    coarse = case.model_copy(update={"mesh": case.mesh.model_copy(update={"size_rim": 1.0, "rim_band": 0.0})})
    tm = mesh_in_memory(comm, coarse)
    problem = FluidProblem(tm, fluid_tissues(case), degree=1)
    layers = problem.warn_unresolved_layers()
    assert layers and layers[0].width_mm == pytest.approx(0.2716, rel=1e-3)


def isolated_case(size: float, conductivity: str = "4.13e-7 cm^2/(mmHg*s)", bc: dict | None = None) -> Case:
    """Isolated tumour, 10x the Baxter & Jain tumour conductivity (rim layer 0.86 mm: resolvable on
    uniform meshes, so refinement is in the asymptotic range)."""
    return Case.model_validate({
        "name": "isolated_uniform",
        "geometry": {"kind": "sphere", "tumour_radius": "3 mm"},
        "mesh": {"size_tumour": f"{size} mm", "size_far": f"{size} mm", "grading_distance": "1 mm"},
        "regions": {"tumour": {"kind": "tumour", "fluid": {"hydraulic_conductivity": conductivity}}},
        "physics": {"fluid": {"degree": 1, "boundary_conditions": [
            bc or {"boundary": "tumour_boundary", "type": "pressure", "pressure": "0 mmHg"}]}},
    })


@pytest.mark.mpi
def test_baxter_jain_sphere_converges_at_second_order(comm):
    errors = []
    for size in (0.6, 0.3):
        case = isolated_case(size)
        problem = solve_case(comm, case)
        errors.append(relative_l2(comm, problem, LayeredSphere(shells_for(case), outer_pressure=0.0)))
    rate = math.log2(errors[0] / errors[1])
    assert rate > 1.7, (errors, rate)


@pytest.mark.mpi
def test_robin_far_field_condition(comm):
    h, p_far = 2e-6, 3.0  # mm/(mmHg s), mmHg
    case = isolated_case(0.3, bc={"boundary": "tumour_boundary", "type": "robin",
                                  "conductance": f"{h} mm/(mmHg*s)", "far_pressure": f"{p_far} mmHg"})
    problem = solve_case(comm, case)
    exact = LayeredSphere(shells_for(case), robin=(h, p_far))
    assert relative_l2(comm, problem, exact) < 0.01
    m = problem.metrics()
    # rim velocity against the closed form, and the Robin outflow h (p - p_far) balancing the source
    assert m["rim_outward_velocity_mean_um_per_s"] == pytest.approx(1e3 * exact.radial_velocity(3.0), rel=0.02)
    outflow = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(h * (problem.p - p_far) * ufl.ds)),
                             op=MPI.SUM)
    assert outflow == pytest.approx(m["tumour_net_fluid_source_mm3_per_s"], rel=1e-8)


@pytest.mark.mpi
def test_preconditioner_follows_the_pressure_layer_width(comm):
    """Thin pressure layers (exchange-dominated): one-level ICC, few iterations; no exchange in a region
    (e.g. vessels switched off): multigrid. Both give the multigrid solution."""
    tm = cube(comm, 8)
    thin = {r: dataclasses.replace(t, hydraulic_conductivity=1e-3) for r, t in MMS_TISSUE.items()}
    problem = FluidProblem(tm, thin, degree=1)
    assert problem.diffusion_number() < 2 and problem.ksp.getPC().getType() == "bjacobi"
    info = problem.solve()
    assert info.iterations <= 15, info
    reference = FluidProblem(tm, thin, degree=1, petsc_options={"pc_type": "gamg"})
    assert reference.ksp.getPC().getType() == "gamg"
    reference.solve()
    scale = comm.allreduce(np.abs(reference.p.x.array).max(), op=MPI.MAX)
    assert comm.allreduce(np.abs(problem.p.x.array - reference.p.x.array).max(), op=MPI.MAX) < 1e-7 * scale
    problem.set_vascular_scaling({"tumour": 0.0})  # the tumour half exchanges nothing: pure diffusion
    assert problem.diffusion_number() == np.inf
    problem.solve()
    assert problem.ksp.getPC().getType() == "gamg"


def _reference_pressure(problem: FluidProblem) -> np.ndarray:
    """DOLFINx's own PETSc path on the problem's forms (its own packing of the coefficients everywhere)."""
    from oncotwin.core.fenics import PETSc

    A = dolfinx.fem.petsc.assemble_matrix(problem.a, bcs=problem.bcs)
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(problem.L)
    dolfinx.fem.petsc.apply_lifting(b, [problem.a], [problem.bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, problem.bcs)
    ksp = PETSc.KSP().create(problem.comm)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.getPC().setType("jacobi")
    ksp.setTolerances(rtol=1e-13, max_it=2000)
    x = A.createVecRight()
    ksp.solve(b, x)
    assert ksp.getConvergedReason() > 0
    owned = x.array.copy()
    for obj in (ksp, A, b, x):
        obj.destroy()
    return owned


@pytest.mark.mpi
def test_dirichlet_lifting_with_the_matrix_coefficients_matches_dolfinx(comm):
    """A fixed pressure on one face: the first lifting takes the matrix's packed coefficients, later ones
    pack their own, after a vascular scaling too; each solve equals DOLFINx's standard assembly."""
    tm = cube(comm, 5)
    tdim = tm.mesh.topology.dim
    face = dolfinx.mesh.locate_entities_boundary(tm.mesh, tdim - 1, lambda x: np.isclose(x[0], 0.0))
    tags = dolfinx.mesh.meshtags(tm.mesh, tdim - 1, face, np.full(face.size, 3, dtype=np.int32))
    tm = dataclasses.replace(tm, facet_tags=tags, boundaries={"left": 3})
    problem = FluidProblem(tm, MMS_TISSUE, [PressureBoundary("left", 1.5)], degree=1)
    owned = problem.V.dofmap.index_map.size_local
    bc_dofs = problem.bcs[0].dof_indices()[0]
    for step in range(3):
        if step == 2:
            problem.set_vascular_scaling({"tumour": 0.3})
        problem.solve()
        p = problem.p.x.array[:owned]
        assert np.allclose(problem.p.x.array[bc_dofs], 1.5, rtol=1e-8), problem.p.x.array[bc_dofs][:4]
        reference = _reference_pressure(problem)
        scale = comm.allreduce(np.abs(reference).max(initial=0.0), op=MPI.MAX)
        error = comm.allreduce(np.abs(p - reference).max(initial=0.0), op=MPI.MAX)
        assert error <= 1e-8 * scale, (step, error / scale)
