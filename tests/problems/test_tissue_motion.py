"""Tissue motion: conservation and the closed-form shrinkage of a uniformly cleared sphere."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.problems.tissue_motion import TissueMotion


def _space(comm, n):
    mesh = dolfinx.mesh.create_box(comm, [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]], [n, n, n],
                                   ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    dx = ufl.dx(domain=mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(V) * dx))
    vec.scatter_reverse(dolfinx.la.InsertMode.add)
    vec.scatter_forward()
    return V, vec.array.copy()


def _total(V, mass, f):
    n = V.dofmap.index_map.size_local
    return V.mesh.comm.allreduce(float(np.dot(mass[:n], f.x.array[:n])), op=MPI.SUM)


def _level_set_volume(f, level):
    dx = ufl.dx(domain=f.function_space.mesh, metadata={"quadrature_degree": 4})
    form = dolfinx.fem.form(ufl.conditional(ufl.ge(f, level), 1.0, 0.0) * dx)
    return f.function_space.mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


@pytest.mark.mpi
def test_advection_conserves_every_density_to_round_off(comm):
    V, mass = _space(comm, 10)
    motion = TissueMotion(V, mass)
    x = V.tabulate_dof_coordinates()
    r2 = (x ** 2).sum(axis=1)
    motion.solve_velocity(np.where(r2 < 0.25, -1.0, 0.0) + 0.3 * np.where(x[:, 0] > 0.2, 1.0, 0.0) * (r2 < 0.5))
    f = dolfinx.fem.Function(V)
    f.x.array[:] = np.exp(-8 * r2)
    before = _total(V, mass, f)
    step = motion.advect([f], 0.2)
    assert step.substeps >= 1
    assert abs(_total(V, mass, f) - before) <= 1e-10 * before
    assert f.x.array.min() >= -1e-14  # upwinding keeps densities non-negative


@pytest.mark.mpi
def test_a_uniformly_cleared_sphere_shrinks_at_the_closed_form_rate(comm):
    """Full sphere of doomed cells cleared at rate c: div v = -c d inside, so V(t) = V0 exp(-c t)."""
    V, mass = _space(comm, 40)
    motion = TissueMotion(V, mass)
    x = V.tabulate_dof_coordinates()
    d = dolfinx.fem.Function(V)
    d.x.array[:] = (np.sqrt((x ** 2).sum(axis=1)) <= 0.6).astype(float)
    c, dt, steps = 0.2, 0.25, 8
    v0 = _level_set_volume(d, 0.5)
    for _ in range(steps):
        # split: kinetics (clearance, exact) then motion by the volume it removed
        cleared = d.x.array * (1.0 - math.exp(-c * dt))
        d.x.array[:] -= cleared
        motion.solve_velocity(-cleared / dt)
        motion.advect([d], dt)
    ratio = _level_set_volume(d, 0.5) / v0
    assert ratio == pytest.approx(math.exp(-c * dt * steps), rel=0.02)
    # without motion the sphere would only fade: its level set would keep the initial volume
    assert ratio < 0.8


@pytest.mark.mpi
def test_a_later_velocity_reuses_the_operator_and_equals_a_fresh_one(comm):
    """The upwinded operator is rebuilt in place on the fixed pattern: a second advection with a new
    velocity gives what a fresh TissueMotion gives for that velocity, to round-off."""
    V, mass = _space(comm, 8)
    x = V.tabulate_dof_coordinates()
    r2 = (x ** 2).sum(axis=1)
    first, second = np.where(r2 < 0.25, -1.0, 0.0), 0.5 * np.where(x[:, 1] > 0.1, 1.0, -0.4) * (r2 < 0.6)
    reused, fresh = TissueMotion(V, mass), TissueMotion(V, mass)
    f, g = dolfinx.fem.Function(V), dolfinx.fem.Function(V)
    f.x.array[:] = np.exp(-4 * r2)
    reused.solve_velocity(first)
    reused.advect([f], 0.1)
    g.x.array[:] = f.x.array
    reused.solve_velocity(second)
    fresh.solve_velocity(second)
    # the pressures agree to the solver's tolerance only (the reused one starts from a projected guess);
    # the operator is what is compared here
    fresh.pressure.x.array[:] = reused.pressure.x.array
    assert reused.advect([f], 0.3).substeps == fresh.advect([g], 0.3).substeps
    error = comm.allreduce(float(np.abs(f.x.array - g.x.array).max(initial=0.0)), op=MPI.MAX)
    scale = comm.allreduce(float(np.abs(g.x.array).max(initial=0.0)), op=MPI.MAX)
    assert error <= 1e-13 * scale
    assert comm.allreduce(float(np.abs(f.x.array - np.exp(-4 * r2)).max(initial=0.0)), op=MPI.MAX) > 1e-3
