"""Verification of tissue mechanics: eigenstrained sphere (closed form), MMS rates, solver reuse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.mesh.distribute import TaggedMesh, mesh_in_memory
from oncotwin.problems.mechanics import MechanicsProblem, MechanicsTissue
from oncotwin.problems.regions import integrate, region_indicator
from oncotwin.verification.spherical_inclusion import SphericalInclusion
from tests.problems.test_fluid import cube


def boxed_cube(comm, n: int) -> TaggedMesh:
    """The two-region unit cube with every exterior facet tagged 'outer' (1)."""
    tm = cube(comm, n)
    mesh = tm.mesh
    tdim = mesh.topology.dim
    facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    tags = dolfinx.mesh.meshtags(mesh, tdim - 1, facets, np.full(facets.size, 1, dtype=np.int32))
    return TaggedMesh(mesh, tm.cell_tags, tags, tm.regions, {"outer": 1}, tm.tumour_regions)


def uniform(E: float, nu: float, beta: float) -> dict[str, MechanicsTissue]:
    return {"tumour": MechanicsTissue(E, nu, beta), "host": MechanicsTissue(E, nu, beta)}


def norm(comm, expr, degree: int = 6) -> float:
    dx = ufl.dx(metadata={"quadrature_degree": degree})
    return math.sqrt(comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * dx)), op=MPI.SUM))


# ---------------------------------------------------------------------------- manufactured solution
def exact_displacement(x):
    """Smooth, zero on the boundary of the unit cube, not divergence-free (loads the lambda term)."""
    bubble = ufl.sin(ufl.pi * x[0]) * ufl.sin(ufl.pi * x[1]) * ufl.sin(ufl.pi * x[2])
    return 0.1 * bubble * ufl.as_vector([1.0 + x[1], 2.0 * x[0] * x[2], 1.0 - x[0] + x[1]])


def mms_errors(comm, n: int, degree: int, nu: float) -> tuple[float, float]:
    tm = boxed_cube(comm, n)
    x = ufl.SpatialCoordinate(tm.mesh)
    density = 0.5 + 0.5 * ufl.cos(2 * x[0]) * x[1] * x[2]  # smooth UFL density
    tissue = uniform(3.0, nu, 0.08)
    u_exact = exact_displacement(x)
    probe = MechanicsProblem(tm, tissue, density, ["outer"], degree=degree)
    body_force = -ufl.div(probe.physics.stress(u_exact))
    problem = MechanicsProblem(tm, tissue, density, ["outer"], degree=degree, body_force=body_force)
    problem.solve()
    e = problem.displacement - u_exact
    deg = 2 * degree + 4
    return norm(comm, ufl.inner(e, e), deg), norm(comm, ufl.inner(ufl.grad(e), ufl.grad(e)), deg)


@pytest.mark.mpi
@pytest.mark.parametrize(("degree", "nu"), [(1, 0.3), (2, 0.3), (2, 0.49)])
def test_manufactured_solution_converges_at_optimal_rates(comm, degree, nu):
    sizes = [4, 8, 16] if degree == 1 else [3, 6, 12]
    errors = [mms_errors(comm, n, degree, nu) for n in sizes]
    l2_rates = [math.log2(errors[i][0] / errors[i + 1][0]) for i in range(len(sizes) - 1)]
    h1_rates = [math.log2(errors[i][1] / errors[i + 1][1]) for i in range(len(sizes) - 1)]
    assert l2_rates[-1] == pytest.approx(degree + 1, abs=0.25), (errors, l2_rates)
    assert h1_rates[-1] == pytest.approx(degree, abs=0.2), (errors, h1_rates)


# ---------------------------------------------------------------------------- spherical inclusion
RADIUS, OUTER, E_TUMOUR, E_HOST, BETA = 2.0, 6.0, 20.0, 10.0, 0.05  # mm, mm, mmHg, mmHg, -


def sphere_mesh(comm) -> TaggedMesh:
    case = Case.model_validate({
        "name": "inclusion",
        "geometry": {"kind": "sphere", "tumour_radius": f"{RADIUS} mm", "host_radius": f"{OUTER} mm"},
        "mesh": {"size_tumour": "0.5 mm", "size_far": "1 mm", "grading_distance": "2 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
    })
    return mesh_in_memory(comm, case)


def solve_inclusion(comm, tm: TaggedMesh, nu: float, degree: int):
    """Sharp inclusion: the density is the DG0 tumour indicator (N = 1 inside, 0 outside)."""
    tissue = {"tumour": MechanicsTissue(E_TUMOUR, nu, BETA), "host": MechanicsTissue(E_HOST, nu, 0.0)}
    problem = MechanicsProblem(tm, tissue, region_indicator(tm, ["tumour"]), ["outer"], degree=degree)
    info = problem.solve()
    exact = SphericalInclusion(RADIUS, OUTER, E_TUMOUR, nu, E_HOST, nu, BETA)
    space = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", degree + 2, (3,)))
    reference = dolfinx.fem.Function(space)
    reference.interpolate(exact.displacement_vector)
    e = problem.displacement - reference
    error = norm(comm, ufl.inner(e, e)) / norm(comm, ufl.inner(reference, reference))
    return problem, exact, info, error


@pytest.mark.mpi
def test_spherical_inclusion_matches_closed_form_without_locking(comm):
    """P2 stays within 3% at nu = 0.3 and 0.49 (the error is mostly the polyhedral sphere); P1 locks."""
    tm = sphere_mesh(comm)
    errors = {}
    for nu in (0.3, 0.49):
        problem, exact, info, errors[2, nu] = solve_inclusion(comm, tm, nu, degree=2)
        assert errors[2, nu] < 0.03, errors
        assert info.iterations < 200, info
        m = problem.metrics()
        u_rim = float(exact.displacement(RADIUS))
        assert m["displacement_max_mm"] == pytest.approx(u_rim, rel=0.03)
        assert m["host_displacement_max_mm"] == pytest.approx(m["displacement_max_mm"], rel=1e-12)
        assert m["tumour_volume_change_mm3"] == pytest.approx(exact.inclusion_volume_change(), rel=0.05)
        assert m["volume_change_mm3"] == pytest.approx(0.0, abs=1e-8 * exact.inclusion_volume_change())
        # the tumour is under hydrostatic stress (von Mises 0 inside), the host is sheared at the rim
        assert m["von_mises_mean_tumour_mmHg"] < 0.05 * m["von_mises_max_mmHg"]
        assert m["von_mises_max_mmHg"] == pytest.approx(float(exact.von_mises(RADIUS + 1e-9)), rel=0.2)
        assert m["mechanics_iterations"] == info.iterations
    for nu in (0.3, 0.49):
        errors[1, nu] = solve_inclusion(comm, tm, nu, degree=1)[3]
    # volumetric locking: P1 degrades markedly as nu -> 0.5, P2 hardly at all
    assert errors[1, 0.49] > 1.5 * errors[1, 0.3], errors
    assert errors[2, 0.49] < 1.3 * errors[2, 0.3], errors


# ---------------------------------------------------------------------------- solver and outputs
def gaussian_density(tm: TaggedMesh, width: float) -> dolfinx.fem.Function:
    """A P1 density peaked off the cube's centre, exp(-width |x - (0.4, 0.5, 0.5)|^2)."""
    density = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1)))
    density.interpolate(lambda x: np.exp(-width * ((x[0] - 0.4) ** 2 + (x[1] - 0.5) ** 2 + (x[2] - 0.5) ** 2)))
    return density


def pc_setups() -> int:
    return PETSc.Log.Event("PCSetUp").getPerfInfo()["count"]


@pytest.mark.mpi
def test_a_later_problem_on_the_mesh_reuses_the_operator_only_for_equal_moduli_boundaries_and_options(comm):
    PETSc.Log.begin()
    tm = boxed_cube(comm, 4)
    density = gaussian_density(tm, 8)
    tissue = {"tumour": MechanicsTissue(5.0, 0.45, 0.05), "host": MechanicsTissue(2.0, 0.45, 0.0)}
    first = MechanicsProblem(tm, tissue, density, ["outer"], degree=1)
    first.solve()
    setups = pc_setups()
    # another growth coefficient changes the load only: same matrix, same multigrid hierarchy
    other_beta = {r: MechanicsTissue(t.young_modulus, t.poisson_ratio, 2 * t.growth_strain_coefficient)
                  for r, t in tissue.items()}
    second = MechanicsProblem(tm, other_beta, density, ["outer"], degree=1)
    assert second.ksp is first.ksp and second.A is first.A and pc_setups() == setups
    second.solve()
    scale = comm.allreduce(np.abs(first.displacement.x.array).max(), op=MPI.MAX)
    error = np.abs(second.displacement.x.array - 2 * first.displacement.x.array).max()
    assert comm.allreduce(error, op=MPI.MAX) < 1e-6 * scale  # linear in beta, from its own initial guess
    softer = {r: MechanicsTissue(0.5 * t.young_modulus, t.poisson_ratio, t.growth_strain_coefficient)
              for r, t in tissue.items()}
    for changed in (MechanicsProblem(tm, softer, density, ["outer"], degree=1),
                    MechanicsProblem(tm, tissue, density, ["outer"], degree=1,
                                     petsc_options={"ksp_rtol": 1e-9}),
                    MechanicsProblem(tm, tissue, density, ["outer"], degree=2)):
        assert changed.ksp is not first.ksp
    # the eigenstrain load scales with E as the stiffness does: the softer tissue's answer is the same
    softer_problem = MechanicsProblem(tm, softer, density, ["outer"], degree=1)
    softer_problem.solve()
    error = np.abs(softer_problem.displacement.x.array - first.displacement.x.array).max()
    assert comm.allreduce(error, op=MPI.MAX) < 1e-6 * scale
    young_at_cells = softer_problem.young.x.array
    assert young_at_cells.size and np.allclose(young_at_cells, 0.5 * first.young.x.array)


@pytest.mark.mpi
def test_second_solve_reuses_the_preconditioner_and_is_linear_in_density(comm):
    PETSc.Log.begin()
    tm = boxed_cube(comm, 5)
    density = gaussian_density(tm, 10)
    tissue = {"tumour": MechanicsTissue(5.0, 0.45, 0.05), "host": MechanicsTissue(2.0, 0.49, 0.0)}
    problem = MechanicsProblem(tm, tissue, density, ["outer"], degree=2)
    setups = pc_setups()
    problem.solve()
    first = problem.displacement.x.array.copy()
    density.x.array[:] *= 2.5
    info = problem.solve()
    assert pc_setups() == setups  # set up once, in the constructor
    assert problem.ksp.getInitialGuessNonzero()
    scale = np.abs(first).max()
    assert comm.allreduce(np.abs(problem.displacement.x.array - 2.5 * first).max(), op=MPI.MAX) < 1e-6 * scale
    assert info.iterations < 200
    # a fresh problem gives the same answer
    fresh = MechanicsProblem(tm, tissue, density, ["outer"], degree=2)
    fresh.solve()
    assert comm.allreduce(np.abs(fresh.displacement.x.array - problem.displacement.x.array).max(),
                          op=MPI.MAX) < 1e-6 * scale
    # outputs
    vm = problem.von_mises()
    vertex = problem.von_mises_at_vertices()
    lo = comm.allreduce(vm.x.array.min(), op=MPI.MIN)
    hi = comm.allreduce(vm.x.array.max(), op=MPI.MAX)
    assert comm.allreduce(vertex.x.array.min(), op=MPI.MIN) >= lo - 1e-12 * hi
    assert comm.allreduce(vertex.x.array.max(), op=MPI.MAX) <= hi * (1 + 1e-12)
    assert [f.name for f in problem.output_fields()] == ["displacement_mm", "von_mises_mmHg"]
    p1 = problem.displacement_p1()
    assert p1.name == "displacement_mm" and p1.function_space.ufl_element().embedded_superdegree == 1
    assert p1 is problem.displacement_p1()
    u_max = problem.metrics()["displacement_max_mm"]
    assert comm.allreduce(np.abs(p1.x.array).max(), op=MPI.MAX) <= u_max * (1 + 1e-12)


@pytest.mark.mpi
def test_metrics_compiled_once_equal_freshly_compiled_forms_after_a_new_solve(comm):
    tm = boxed_cube(comm, 4)
    P1 = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1))
    density = dolfinx.fem.Function(P1)
    density.interpolate(lambda x: np.exp(-10 * ((x[0] - 0.4) ** 2 + (x[1] - 0.5) ** 2 + (x[2] - 0.5) ** 2)))
    tissue = {"tumour": MechanicsTissue(5.0, 0.45, 0.05), "host": MechanicsTissue(2.0, 0.45, 0.0)}
    problem = MechanicsProblem(tm, tissue, density, ["outer"], degree=1)
    problem.solve()
    first = problem.metrics()
    density.x.array[:] = 1.0 - 0.5 * density.x.array  # not a multiple of the first density
    problem.solve()
    m = problem.metrics()
    u, vm, dxT = problem.displacement, problem.von_mises(), problem.dx(1)
    volume = integrate(comm, 1.0 * dxT)
    change = integrate(comm, ufl.div(u) * dxT)
    assert m["tumour_volume_change_mm3"] == pytest.approx(change, rel=1e-12)
    assert m["tumour_volume_change_fraction"] == pytest.approx(change / volume, rel=1e-12)
    assert m["von_mises_mean_tumour_mmHg"] == pytest.approx(integrate(comm, vm * dxT) / volume, rel=1e-12)
    assert m["volume_change_mm3"] == pytest.approx(integrate(comm, ufl.div(u) * problem.dx), rel=1e-12)
    assert m["tumour_volume_change_mm3"] != pytest.approx(first["tumour_volume_change_mm3"], rel=1e-3)


def test_zero_density_gives_zero_displacement(comm):
    tm = boxed_cube(comm, 3)
    density = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("DG", 0)))
    problem = MechanicsProblem(tm, uniform(1.0, 0.3, 0.1), density, ["outer"], degree=1)
    density.interpolate(lambda x: x[0])  # a uniform eigenstrain in the clamped cube would not move it
    problem.solve()
    assert comm.allreduce(np.abs(problem.displacement.x.array).max(), op=MPI.MAX) > 1e-3
    density.x.array[:] = 0.0
    info = problem.solve()
    assert info.iterations == 0 and np.abs(problem.displacement.x.array).max() == 0.0


@pytest.mark.mpi
@pytest.mark.parametrize("degree", [1, 2])
def test_a_load_that_cancels_to_rounding_is_no_load_and_a_small_real_one_is_still_solved(comm, degree):
    """The model's t = 0 load: beta (N - N0), the sum of the compartments minus its nodal sum (rounding)."""
    tm = boxed_cube(comm, 6)
    P1 = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1))
    parts = [gaussian_density(tm, w) for w in (4, 9, 16)]
    for part, scale in zip(parts, (0.3, 0.7, 1.1 / 3)):
        part.x.array[:] *= scale
    baseline = dolfinx.fem.Function(P1)
    baseline.x.array[:] = parts[0].x.array + parts[1].x.array + parts[2].x.array
    tissue = uniform(22.0, 0.45, 0.05)
    problem = MechanicsProblem(tm, tissue, parts[0] + parts[1] + parts[2] - baseline, ["outer"], degree=degree)
    info = problem.solve()
    assert problem.b.norm() > 0  # rounding, not an exact zero
    assert info.reason == "CONVERGED_ATOL" and info.iterations == 0, info
    assert comm.allreduce(np.abs(problem.displacement.x.array).max(), op=MPI.MAX) < 1e-12
    # a real load 1e-4 of the unit one (displacements of 1e-6 mm) is solved, linear in the load
    unit = MechanicsProblem(tm, tissue, baseline, ["outer"], degree=degree)
    unit.solve()
    small = MechanicsProblem(tm, tissue, 1e-4 * baseline, ["outer"], degree=degree)
    assert small.solve().iterations > 0
    u1 = comm.allreduce(np.abs(unit.displacement.x.array).max(), op=MPI.MAX)
    assert 1e-3 < u1 < 1e-1
    error = comm.allreduce(np.abs(small.displacement.x.array - 1e-4 * unit.displacement.x.array).max(), op=MPI.MAX)
    assert error < 1e-5 * 1e-4 * u1


def test_fixed_boundary_is_required(comm):
    tm = boxed_cube(comm, 2)
    tissue = uniform(1.0, 0.3, 0.1)
    with pytest.raises(ValueError, match="rigid motions"):
        MechanicsProblem(tm, tissue, 1.0, [])
    with pytest.raises(ValueError, match="unknown boundary skull"):
        MechanicsProblem(tm, tissue, 1.0, ["skull"])
    with pytest.raises(ValueError, match="no elastic parameters for region"):
        MechanicsProblem(tm, {"tumour": tissue["tumour"]}, 1.0, ["outer"])
    with pytest.raises(ValueError, match="Poisson"):
        MechanicsProblem(tm, uniform(1.0, 0.5, 0.1), 1.0, ["outer"])


@pytest.mark.mpi
@pytest.mark.parametrize("degree", [1, 2])
def test_rigid_body_modes_are_orthonormal_null_vectors_of_free_elasticity(comm, degree):
    tm = boxed_cube(comm, 3)
    problem = MechanicsProblem(tm, uniform(2.0, 0.4, 0.0), 0.0, ["outer"], degree=degree)
    A = dolfinx.fem.petsc.assemble_matrix(problem.a)  # no boundary conditions: rigid motions are free
    A.assemble()
    modes = problem.near_nullspace.getVecs()
    assert len(modes) == 6
    y = A.createVecLeft()
    scale = A.norm(PETSc.NormType.FROBENIUS)
    for i, z in enumerate(modes):
        A.mult(z, y)
        assert y.norm() < 1e-10 * scale
        for j, w in enumerate(modes):
            assert z.dot(w) == pytest.approx(1.0 if i == j else 0.0, abs=1e-12)
    A.destroy()
