"""Component-wise L2 projection equals the blocked projection, reproduces fields in the space, serial = parallel."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.problems.vector_projection import VectorProjection


def blocked_projection(W, expression) -> np.ndarray:
    """The textbook projection: DOLFINx's vector mass matrix, one direct solve."""
    u, v = ufl.TrialFunction(W), ufl.TestFunction(W)
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(ufl.inner(u, v) * ufl.dx))
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.inner(expression, v) * ufl.dx))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    ksp = PETSc.KSP().create(W.mesh.comm)
    ksp.setOperators(A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    ksp.getPC().setFactorSolverType("mumps")
    out = dolfinx.fem.Function(W)
    ksp.solve(b, out.x.petsc_vec)
    out.x.scatter_forward()
    return out.x.array


@pytest.mark.mpi
@pytest.mark.parametrize("degree", [1, 2])
def test_equals_the_blocked_projection_and_keeps_fields_of_the_space(comm, degree):
    mesh = dolfinx.mesh.create_unit_cube(comm, 5, 4, 6)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree))
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (3,)))
    x = ufl.SpatialCoordinate(mesh)
    p = dolfinx.fem.Function(V)
    p.interpolate(lambda y: np.sin(3 * y[0]) * np.cos(2 * y[1]) + y[2] ** 3)
    flux = -(1.0 + x[0]) * ufl.grad(p)  # a discontinuous gradient times a smooth conductivity
    projection = VectorProjection(W, V, flux, ufl.dx, "test_projection_", "velocity")
    result = projection.project()
    reference = blocked_projection(W, flux)
    scale = comm.allreduce(np.abs(reference).max(), op=MPI.MAX)
    assert comm.allreduce(np.abs(result.x.array - reference).max(), op=MPI.MAX) < 1e-9 * scale  # ghosts too
    # the same Function, refreshed when the expression's coefficient changes
    p.x.array[:] *= -3.0
    assert projection.project() is result and result.name == "velocity"
    assert comm.allreduce(np.abs(result.x.array + 3.0 * reference).max(), op=MPI.MAX) < 3e-9 * scale
    # a field of the space is its own projection
    g = dolfinx.fem.Function(W)
    g.interpolate(lambda y: np.vstack([y[1] * y[2], -y[0], y[0] + 2 * y[2]]))
    own = VectorProjection(W, V, g, ufl.dx, "test_projection_", "g").project()
    assert comm.allreduce(np.abs(own.x.array - g.x.array).max(), op=MPI.MAX) < 1e-9


def test_a_scalar_space_of_another_element_is_refused():
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 2, (3,)))
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    with pytest.raises(ValueError, match="does not number the vector space's nodes"):
        VectorProjection(W, V, ufl.as_vector([1.0, 0.0, 0.0]), ufl.dx, "test_projection_", "u")
