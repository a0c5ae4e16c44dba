"""Volume-exclusion step matrix: conservation, full stays full, positivity and a manufactured solution."""

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.la.exclusion import exclusion_step_matrix


def _setup(n: int):
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, n, n, diagonal=dolfinx.mesh.DiagonalType.right)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    K = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx))
    K.assemble()
    dx_lumped = ufl.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    mass = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(v * dx_lumped))
    mass.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return mesh, V, K, mass


def _nodal(V, expr) -> dolfinx.fem.Function:
    f = dolfinx.fem.Function(V)
    f.interpolate(dolfinx.fem.Expression(expr, V.element.interpolation_points))
    return f


def _direct_solve(A: PETSc.Mat, b: PETSc.Vec) -> PETSc.Vec:
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOperators(A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    ksp.getPC().setFactorSolverType("mumps")
    u = A.createVecRight()
    ksp.solve(b, u)
    assert ksp.getConvergedReason() > 0
    return u


@pytest.mark.mpi
def test_exclusion_step_conserves_cells_and_keeps_full_tissue_full():
    mesh, V, K, mass = _setup(16)
    x = ufl.SpatialCoordinate(mesh)
    free = _nodal(V, 1.0 - 0.9 * ufl.exp(-20 * ((x[0] - 0.4) ** 2 + (x[1] - 0.5) ** 2)))
    A = exclusion_step_matrix(K, mass, free.x.petsc_vec, 0.7, K.duplicate(copy=True))
    ones = A.createVecLeft()
    ones.set(1.0)
    column_sums = A.createVecRight()
    A.multTranspose(ones, column_sums)
    # every column sums to its lumped mass: M + dt A conserves the total exactly
    assert np.allclose(column_sums.array, mass.array, rtol=0, atol=1e-13)
    # tissue that is full (u = f) is a fixed point: (M + dt A) f = M f
    image = A.createVecLeft()
    A.mult(free.x.petsc_vec, image)
    assert np.allclose(image.array, mass.array * free.x.array[:len(mass.array)], rtol=0, atol=1e-13)


@pytest.mark.mpi
def test_exclusion_step_keeps_cells_between_zero_and_the_free_space():
    mesh, V, K, mass = _setup(16)
    x = ufl.SpatialCoordinate(mesh)
    free = _nodal(V, ufl.conditional(ufl.lt(x[0], 0.5), 1.0, 0.05))  # a nearly full obstacle on the right
    start = _nodal(V, ufl.conditional(ufl.lt(abs(x[0] - 0.45), 0.08), 1.0, 0.0))  # a full band beside it
    n = len(mass.array)
    start.x.array[:n] = np.minimum(start.x.array[:n], free.x.array[:n])
    A = exclusion_step_matrix(K, mass, free.x.petsc_vec, 0.05, K.duplicate(copy=True))
    b = mass.copy()
    b.pointwiseMult(mass, start.x.petsc_vec)
    u = _direct_solve(A, b)
    total = mesh.comm.allreduce(float(np.dot(mass.array, u.array)), op=MPI.SUM)
    before = mesh.comm.allreduce(float(np.dot(mass.array, start.x.array[:n])), op=MPI.SUM)
    assert total == pytest.approx(before, rel=1e-12)
    assert u.array.min() >= -1e-14
    assert np.all(u.array <= free.x.array[:n] + 1e-12)


@pytest.mark.mpi
def test_exclusion_matches_the_cross_diffusion_continuum_limit_at_second_order():
    """-div((1 - w) grad u + u grad w) + u = g (Simpson, Hughes & Landman 2009's continuum limit) with
    no-flux boundaries: nodal errors of the exclusion graph on right-triangle meshes fall as h^2."""
    errors = []
    for n in (8, 16, 32):
        mesh, V, K, mass = _setup(n)
        x = ufl.SpatialCoordinate(mesh)
        u_exact = 2.0 + ufl.cos(ufl.pi * x[0]) * ufl.cos(ufl.pi * x[1])
        w = 0.3 + 0.2 * ufl.cos(ufl.pi * x[0])
        g = -ufl.div((1 - w) * ufl.grad(u_exact) + u_exact * ufl.grad(w)) + u_exact
        free, source, exact = _nodal(V, 1 - w), _nodal(V, g), _nodal(V, u_exact)
        A = exclusion_step_matrix(K, mass, free.x.petsc_vec, 1.0, K.duplicate(copy=True))
        b = mass.copy()
        b.pointwiseMult(mass, source.x.petsc_vec)
        u = _direct_solve(A, b)
        m = len(mass.array)
        squared = float(np.dot(mass.array, (u.array - exact.x.array[:m]) ** 2))
        errors.append(np.sqrt(mesh.comm.allreduce(squared, op=MPI.SUM)))
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > 1.85), (errors, rates)
