"""Effector T-cell transport: manufactured solution with optimal P1 rates, exact conservation, positivity
and extravasation confined to vessels; serial and under mpirun -n 2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.model.immune import kuznetsov_kinetics
from oncotwin.physics.immune import TCellTransport
from oncotwin.problems.immune import TCellProblem


def box(n: int):
    return dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, n, n, n, ghost_mode=dolfinx.mesh.GhostMode.shared_facet)


def _errors(n: int, diffusivity: float = 0.7, death: float = 0.3) -> tuple[float, float]:
    """L2 and H1-seminorm errors of the steady manufactured solution u = cos(pi x) cos(pi y) cos(pi z)
    (zero normal flux on the cube), reached with one backward-Euler step of a huge dt."""
    mesh = box(n)
    x = ufl.SpatialCoordinate(mesh)
    u = ufl.cos(math.pi * x[0]) * ufl.cos(math.pi * x[1]) * ufl.cos(math.pi * x[2])
    f = (3 * math.pi**2 * diffusivity + death) * u
    problem = TCellProblem(mesh, lambda V: TCellTransport(diffusivity, death, f))
    problem.step(1e14)
    e = problem.e
    l2 = math.sqrt(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form((e - u) ** 2 * ufl.dx(
        metadata={"quadrature_degree": 6}))), op=MPI.SUM))
    h1 = math.sqrt(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        ufl.inner(ufl.grad(e - u), ufl.grad(e - u)) * ufl.dx(metadata={"quadrature_degree": 6}))), op=MPI.SUM))
    return l2, h1


@pytest.mark.mpi
def test_manufactured_solution_converges_at_optimal_p1_rates():
    errors = [_errors(n) for n in (4, 8, 16)]
    l2_rates = [math.log2(a[0] / b[0]) for a, b in zip(errors, errors[1:], strict=False)]
    h1_rates = [math.log2(a[1] / b[1]) for a, b in zip(errors, errors[1:], strict=False)]
    assert l2_rates[-1] == pytest.approx(2.0, abs=0.15), errors
    assert h1_rates[-1] == pytest.approx(1.0, abs=0.1), errors


@pytest.mark.mpi
def test_content_changes_by_exactly_what_enters_and_dies():
    mesh = box(6)
    rate, death = 2.0, 0.1
    problem = TCellProblem(mesh, lambda V: TCellTransport(1e-2, death, rate))
    for dt in (0.1, 0.1, 0.5, 1.0):
        problem.step(dt)
    b = problem.balance
    assert b.content == pytest.approx(b.entered - b.died, rel=1e-10)
    # without death the content is the extravasation integral times the time
    closed = TCellProblem(mesh, lambda V: TCellTransport(1e-2, 0.0, rate))
    for _ in range(5):
        closed.step(0.2)
    assert closed.total() == pytest.approx(rate * 1.0, rel=1e-10)


@pytest.mark.mpi
@pytest.mark.parametrize("dt", [1e-4, 1e-2, 10.0])
def test_a_spike_spreads_without_negative_densities(dt):
    mesh = box(8)
    problem = TCellProblem(mesh, lambda V: TCellTransport(1.0, 5.0, 0.0), monotone=True)
    xs = problem.V.tabulate_dof_coordinates()
    problem.e.x.array[:] = np.where(np.linalg.norm(xs - 0.5, axis=1) < 0.1, 1.0, 0.0)
    start = problem.total()
    for _ in range(5):
        problem.step(dt)
        assert problem.minimum() >= -1e-14
    assert problem.total() == pytest.approx(start * (1.0 + 5.0 * dt) ** -5, rel=1e-8)


@pytest.mark.mpi
def test_no_vessels_no_extravasation():
    mesh = box(6)  # vertices at x = k/6

    def transport(V):
        vessels = dolfinx.fem.Function(V)
        vessels.interpolate(lambda x: np.where(x[0] < 0.5, 1.0, 0.0))
        return TCellTransport(0.0, 0.0, 3.0 * vessels)

    problem = TCellProblem(mesh, transport)
    problem.step(1.0)
    xs = problem.V.tabulate_dof_coordinates()
    assert np.all(problem.e.x.array[xs[:, 0] > 0.55] == 0.0)
    # the P1 vessel field is 1 up to x = 1/3 and falls to 0 at x = 1/2: its integral is 1/2 - 1/12
    assert problem.total() == pytest.approx(3.0 * (0.5 - 1.0 / 12.0), rel=1e-10)


def test_nodal_kill_reduces_the_tumour_where_effectors_are():
    mesh = box(4)
    problem = TCellProblem(mesh, lambda V: TCellTransport(0.0, 0.0, 0.0))
    xs = problem.V.tabulate_dof_coordinates()
    problem.e.x.array[:] = np.where(xs[:, 0] < 0.5, 1e6, 0.0)
    tumour = np.full(problem.e.x.array.shape, 1e8)
    kinetics = kuznetsov_kinetics()
    problem.t = 10 * 86400.0
    problem.react(tumour, kinetics, 10 * 86400.0)
    grown = tumour[xs[:, 0] > 0.5]
    killed = tumour[xs[:, 0] < 0.49]
    assert np.all(killed < grown.min())
