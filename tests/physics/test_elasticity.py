"""UFL-level checks of the growth-eigenstrain elasticity forms (tiny mesh, no solves)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.physics.elasticity import GrowthElasticity, lame_parameters


def integral(comm, expr, mesh) -> float:
    form = dolfinx.fem.form(expr * ufl.dx(domain=mesh, metadata={"quadrature_degree": 4}))
    return comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


@pytest.fixture
def mesh(comm):
    return dolfinx.mesh.create_unit_cube(comm, 2, 2, 2)


def test_lame_parameters():
    lmbda, mu = lame_parameters(1.0, 0.25)
    assert lmbda == pytest.approx(0.4)
    assert mu == pytest.approx(0.4)
    # bulk modulus E / (3 (1 - 2 nu))
    phys = GrowthElasticity(2.0, 0.3, 0.0)
    assert float(phys.bulk_modulus()) == pytest.approx(2.0 / (3 * (1 - 0.6)))


@pytest.mark.mpi
def test_free_growth_is_stress_free(comm, mesh):
    """The displacement u = g x realises the isotropic eigenstrain exactly: no stress at all."""
    x = ufl.SpatialCoordinate(mesh)
    g = 0.07
    phys = GrowthElasticity(3.0, 0.45, g)
    u = g * x
    sigma = phys.stress(u)
    assert integral(comm, ufl.inner(sigma, sigma), mesh) == pytest.approx(0.0, abs=1e-24)
    assert integral(comm, phys.von_mises(u) ** 2, mesh) == pytest.approx(0.0, abs=1e-24)
    # clamped growth (u = 0): pure pressure -3 K g
    sigma0 = phys.stress(dolfinx.fem.Constant(mesh, np.zeros(3)))
    expected = -3 * phys.bulk_modulus() * g
    assert integral(comm, sigma0[0, 0], mesh) == pytest.approx(float(expected))
    assert integral(comm, sigma0[0, 1] ** 2, mesh) == pytest.approx(0.0, abs=1e-24)


def test_von_mises_of_simple_shear(comm, mesh):
    x = ufl.SpatialCoordinate(mesh)
    gamma, E, nu = 0.01, 5.0, 0.3
    phys = GrowthElasticity(E, nu, 0.2)  # eigenstrain is isotropic: no effect on von Mises
    u = ufl.as_vector([gamma * x[1], 0.0, 0.0])
    mu = E / (2 * (1 + nu))
    assert integral(comm, phys.von_mises(u), mesh) == pytest.approx(math.sqrt(3) * mu * gamma)


@pytest.mark.mpi
def test_forms_are_the_weak_form_of_the_stress(comm, mesh):
    """a(u, v) - L(v) equals the virtual work of the full stress, for any u and v."""
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 2, (3,)))
    u, w = dolfinx.fem.Function(V), dolfinx.fem.Function(V)
    rng = np.random.default_rng(3)
    u.x.array[:] = rng.standard_normal(u.x.array.size)
    w.x.array[:] = rng.standard_normal(w.x.array.size)
    x = ufl.SpatialCoordinate(mesh)
    phys = GrowthElasticity(2.0 + x[0], 0.35, 0.1 * (1 + x[1] * x[2]))
    f = ufl.as_vector([1.0, x[0], -x[2]])
    a, L = phys.forms(ufl.TrialFunction(V), ufl.TestFunction(V), ufl.dx(domain=mesh), body_force=f)
    lhs = ufl.action(ufl.action(a, u), w) - ufl.action(L, w)
    expected = ufl.inner(phys.stress(u), phys.strain(w)) * ufl.dx - ufl.inner(f, w) * ufl.dx
    value = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(lhs)), op=MPI.SUM)
    reference = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expected)), op=MPI.SUM)
    assert value == pytest.approx(reference, rel=1e-12)
