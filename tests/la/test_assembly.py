"""Native-CSR assembly handed to PETSc equals DOLFINx's PETSc assembly, serially and in parallel."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import PETSc, dolfinx, ufl
from oncotwin.la.assembly import NativeMatrix, assemble_matrix, shared_pattern


def _setup(comm):
    mesh = dolfinx.mesh.create_unit_cube(comm, 6, 5, 4)
    cells = dolfinx.mesh.locate_entities(mesh, 3, lambda x: x[0] < 0.5 + 1e-12)
    tags = dolfinx.mesh.meshtags(mesh, 3, cells, np.full(cells.size, 1, np.int32))
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    k = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0)))
    k.interpolate(lambda x: 1.0 + x[0] + 2 * x[1] ** 2)
    facets = dolfinx.mesh.locate_entities_boundary(mesh, 2, lambda x: np.isclose(x[0], 0.0))
    bc = dolfinx.fem.dirichletbc(PETSc.ScalarType(3.0), dolfinx.fem.locate_dofs_topological(V, 2, facets), V)
    return mesh, tags, V, k, bc


def _difference(A: PETSc.Mat, B: PETSc.Mat) -> float:
    D = A.copy()
    D.axpy(-1.0, B, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
    return D.norm() / B.norm()


@pytest.mark.mpi
def test_native_matrix_equals_petsc_assembly(comm):
    mesh, tags, V, k, bc = _setup(comm)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=mesh, subdomain_data=tags)
    lumped = dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    forms = [k * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx + u * v * lumped + u * v * ufl.ds,
             u * v * dx(1),  # region-restricted: a subset of the shared pattern
             u * ufl.inner(ufl.as_vector((1.0, -0.5, 0.2)), ufl.grad(v)) * dx]  # unsymmetric
    for form in map(dolfinx.fem.form, forms):
        for bcs in ([], [bc]):
            reference = dolfinx.fem.petsc.assemble_matrix(form, bcs=bcs)
            reference.assemble()
            native = assemble_matrix(form, bcs, space=V)
            assert native.getSizes() == reference.getSizes()
            assert native.getOwnershipRange() == reference.getOwnershipRange()
            assert _difference(native, reference) < 1e-14


@pytest.mark.mpi
def test_reassembly_follows_the_coefficients_and_the_pattern_is_shared(comm):
    mesh, _, V, k, bc = _setup(comm)
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))  # a second problem's space on the same mesh
    assert shared_pattern(W) is shared_pattern(V)
    u, v = ufl.TrialFunction(W), ufl.TestFunction(W)
    form = dolfinx.fem.form(k * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    matrix = NativeMatrix(form, [bc], space=W)
    k.x.array[:] *= 2.5
    A = matrix.assemble()
    reference = dolfinx.fem.petsc.assemble_matrix(form, bcs=[bc])
    reference.assemble()
    assert _difference(A, reference) < 1e-14
    x = A.createVecRight()
    x.setRandom()
    y, z = A.createVecLeft(), A.createVecLeft()
    A.mult(x, y)
    reference.mult(x, z)
    z.axpy(-1.0, y)
    assert z.norm() < 1e-13 * y.norm()


def test_a_vector_form_goes_through_petsc(comm):
    mesh = dolfinx.mesh.create_unit_cube(comm, 3, 3, 3)
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))
    u, v = ufl.TrialFunction(W), ufl.TestFunction(W)
    form = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    reference = dolfinx.fem.petsc.assemble_matrix(form)
    reference.assemble()
    assert _difference(assemble_matrix(form), reference) < 1e-14
