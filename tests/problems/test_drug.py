"""Verification of drug transport: uniform ODE, spherical closed form, MMS rates, mass balance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.mesh.distribute import mesh_in_memory
from oncotwin.problems.drug import DrugProblem, DrugTissue
from oncotwin.verification.spherical_fluid import LayeredSphere, Shell
from tests.problems.test_fluid import cube, isolated_case, shells_for  # noqa: F401


def const(tm, value):
    return dolfinx.fem.Constant(tm.mesh, float(value))


def zero_vector(tm):
    return ufl.as_vector([0.0, 0.0, 0.0])


def make(tm, tissue, velocity=None, filtration=0.0, surface=1.0, lymph=0.0, plasma=lambda t: 0.0, **kw):
    return DrugProblem(tm, tissue, velocity if velocity is not None else zero_vector(tm),
                       const(tm, filtration), const(tm, surface), const(tm, lymph), plasma, **kw)


@pytest.mark.mpi
def test_uniform_tissue_follows_the_backward_euler_recursion_and_balances_mass(comm):
    """No gradients: each step solves c' = P S/V (c_p - c) - k c exactly as backward Euler does."""
    tm = cube(comm, 4)
    P, k, cp = 2e-3, 1e-3, 5.0
    tissue = {"tumour": DrugTissue(1e-4, P, 0.0, k), "host": DrugTissue(1e-4, P, 0.0, k)}
    # the recursion is checked to 1e-9, below the default solver tolerance (1e-9 of the right-hand side)
    problem = make(tm, tissue, plasma=lambda t: cp, petsc_options={"ksp_rtol": 1e-12})
    expected, dt = 0.0, 30.0
    for _ in range(20):
        problem.step(dt)
        expected = (expected / dt + P * cp) / (1 / dt + P + k)
    assert problem.c.x.array == pytest.approx(expected, rel=1e-9)
    assert problem.balance.error < 1e-9
    # time convergence: first order towards the exact exponential approach
    errors = []
    for dt in (40.0, 20.0):
        p2 = make(tm, tissue, plasma=lambda t: cp)
        for _ in range(int(400 / dt)):
            p2.step(dt)
        exact = P * cp / (P + k) * (1 - math.exp(-(P + k) * 400))
        errors.append(abs(p2.c.x.array[0] - exact))
    assert math.log2(errors[0] / errors[1]) == pytest.approx(1.0, abs=0.1)


@pytest.mark.mpi
def test_steady_spherical_diffusion_reaction_closed_form(comm):
    """Vascular source in a sphere, decay everywhere, no flux out: the layered-sphere closed form."""
    case = Case.model_validate({
        "name": "drug_sphere", "geometry": {"kind": "sphere", "tumour_radius": "2 mm", "host_radius": "6 mm"},
        "mesh": {"size_tumour": "0.25 mm", "size_rim": "0.2 mm", "size_far": "0.6 mm", "grading_distance": "2 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}}})
    tm = mesh_in_memory(comm, case)
    D, P, k, cp = 1e-4, 1e-4, 2e-4, 1.0  # mm^2/s, mm/s, 1/s; S/V = 20 1/mm in the tumour only
    tissue = {"tumour": DrugTissue(D, P, 0.0, k), "host": DrugTissue(D, 0.0, 0.0, k)}
    surface = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("DG", 0)))
    surface.x.array[surface.function_space.dofmap.list[tm.cell_tags.find(tm.regions["tumour"]), 0]] = 20.0
    surface.x.scatter_forward()
    problem = DrugProblem(tm, tissue, zero_vector(tm), const(tm, 0.0), surface, const(tm, 0.0), lambda t: cp,
                          degree=2)
    for _ in range(3):
        problem.step(1e9)  # backward Euler with a huge step is the steady solve
    gain, loss = P * 20.0, P * 20.0 + k
    exact = LayeredSphere([Shell(2.0, D, loss, gain * cp / loss), Shell(6.0, D, k, 0.0)], robin=(0.0, 0.0))
    space = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 4))
    ref = dolfinx.fem.Function(space)
    ref.interpolate(lambda x: exact.pressure(np.linalg.norm(x, axis=0)))
    err = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form((problem.c - ref) ** 2 * ufl.dx)), op=MPI.SUM)
    nrm = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(ref**2 * ufl.dx)), op=MPI.SUM)
    assert math.sqrt(err / nrm) < 0.01


def exact_concentration(x, m):
    """One definition for UFL (m=ufl) and NumPy (m=np)."""
    return 1.0 + m.sin(m.pi * x[0]) * m.cos(m.pi * x[1]) * m.sin(0.5 * m.pi * x[2] + 0.3)


def mms_error(comm, n: int, diffusivity: float, speed: float) -> tuple[float, bool]:
    tm = cube(comm, n)
    x = ufl.SpatialCoordinate(tm.mesh)
    u = ufl.as_vector([speed, 0.5 * speed, 0.25 * speed])
    c_exact = exact_concentration(x, ufl)
    k = 0.5
    f = ufl.div(u * c_exact) - diffusivity * ufl.div(ufl.grad(c_exact)) + k * c_exact
    nrm = ufl.FacetNormal(tm.mesh)
    g = diffusivity * ufl.dot(ufl.grad(c_exact), nrm) - ufl.min_value(ufl.dot(u, nrm), 0.0) * c_exact
    tissue = {r: DrugTissue(diffusivity, 0.0, 0.0, k) for r in ("tumour", "host")}
    problem = make(tm, tissue, velocity=u, extra_source=f, extra_boundary_source=g)
    problem.step(1e12)
    e = problem.c - c_exact
    dx = ufl.dx(metadata={"quadrature_degree": 6})
    err = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(e * e * dx)), op=MPI.SUM)
    return math.sqrt(err), problem.supg


@pytest.mark.mpi
@pytest.mark.parametrize("regime, diffusivity, speed, min_rate", [
    ("diffusion-dominated", 1.0, 0.1, 1.8),
    ("convection-dominated", 1e-4, 1.0, 1.4),
])
def test_manufactured_convergence(comm, regime, diffusivity, speed, min_rate):
    results = [mms_error(comm, n, diffusivity, speed) for n in (8, 16, 32)]
    errors = [e for e, _ in results]
    assert all(s == (regime == "convection-dominated") for _, s in results)  # SUPG switched on by Peclet
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert rates[-1] > min_rate, (errors, rates)


@pytest.mark.mpi
def test_mass_balance_with_flow_and_outflow(comm):
    """Convection out of the domain, vascular gain, lymphatic and decay losses: balanced to 1e-6."""
    tm = cube(comm, 8)
    tissue = {"tumour": DrugTissue(1e-3, 1e-3, 0.2, 1e-4), "host": DrugTissue(1e-3, 2e-4, 0.2, 1e-4)}
    u = ufl.as_vector([0.05, 0.02, 0.0])
    problem = make(tm, tissue, velocity=u, filtration=1e-4, lymph=5e-5,
                   plasma=lambda t: math.exp(-t / 600.0))
    for dt in [10.0] * 5 + [60.0] * 10 + [10.0] * 3:
        problem.step(dt)
        assert problem.balance.error < 1e-6
    # positivity is monitored: with lumped mass and exchange the undershoot stays small under SUPG
    assert problem.minimum() >= -0.01 * comm.allreduce(problem.cmax.x.array.max(), op=MPI.MAX)
    assert problem.balance.lost > 0 and problem.balance.gained > 0
    assert problem.operator_count == 2  # one operator per distinct step size


@pytest.mark.mpi
def test_lumped_step_operator_equals_the_assembled_backward_euler_matrix(comm):
    """P1 without SUPG: the cached step operator (step-independent part + M/dt on the diagonal) is the
    assembled backward-Euler matrix, for two step sizes, also after the coefficients change."""
    tm = cube(comm, 5)
    tissue = {"tumour": DrugTissue(1e-3, 1e-3, 0.2, 1e-4), "host": DrugTissue(5e-4, 2e-4, 0.2, 1e-4)}
    problem = make(tm, tissue, velocity=ufl.as_vector([1e-4, 0.0, 0.0]), filtration=1e-4, lymph=5e-5,
                   supg=False)
    c, q = ufl.TrialFunction(problem.V), ufl.TestFunction(problem.V)

    def reference(dt):
        form = c * q / dt * problem.dx_lumped + problem.physics.operator(c, q, problem.dx, problem.ds,
                                                                         dx_reaction=problem.dx_lumped)
        A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(form))
        A.assemble()
        return A

    for rescale in (False, True):
        if rescale:  # e.g. remodelling: the coefficients change in place
            problem.physics.diffusivity.x.array[:] *= 3.0
            problem.coefficients_changed()
        for dt in (60.0, 600.0):
            A = problem._level(dt)[0]
            R = reference(dt)
            R.axpy(-1.0, A)
            assert R.norm() < 1e-13 * A.norm()


@pytest.mark.mpi
def test_the_loss_rate_bounds_the_diffusion_number_and_keeps_a_one_level_preconditioner(comm):
    """``(1/dt + k) M + D K``: the number is ``max dt D / ((1 + dt k) h^2)`` over the cells and tends to
    ``D / (k h^2)`` for long steps; without a loss it grows like ``dt`` and a long step switches to multigrid."""
    from oncotwin.problems.regions import typical_cell_size

    tm = cube(comm, 4)
    h2 = typical_cell_size(comm, tm.mesh) ** 2
    decaying = {"tumour": DrugTissue(1e-3, 0.0, 0.0, 1e-2), "host": DrugTissue(5e-4, 0.0, 0.0, 2e-2)}
    problem = make(tm, decaying, supg=False)
    for dt in (10.0, 1e4):
        expected = max(dt * 1e-3 / (1 + dt * 1e-2), dt * 5e-4 / (1 + dt * 2e-2)) / h2
        assert problem.diffusion_number(dt) == pytest.approx(expected, rel=1e-12)
    assert problem.diffusion_number(1e4) < 2 < 1e4 * 1e-3 / h2
    assert problem._level(1e4)[4].getPC().getType() == "bjacobi"
    stable = make(tm, {name: DrugTissue(t.diffusivity, 0.0, 0.0, 0.0) for name, t in decaying.items()}, supg=False)
    assert stable.diffusion_number(1e4) == pytest.approx(1e4 * 1e-3 / h2, rel=1e-12)
    assert stable._level(1e4)[4].getPC().getType() == "gamg"
