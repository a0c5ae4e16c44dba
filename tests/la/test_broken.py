"""P1 matrices assembled on the broken space equal DOLFINx's assembly, serially and in parallel."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import PETSc, dolfinx, ufl
from oncotwin.la import broken
from oncotwin.la.assembly import NativeMatrix, assemble_matrix, shared_pattern
from tests.la.test_assembly import _difference


def _reference(form: ufl.Form) -> PETSc.Mat:
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(form))
    A.assemble()
    return A


def _problem(comm):
    # a perturbed (unstructured) mesh, so that the element matrices differ from cell to cell
    mesh = dolfinx.mesh.create_unit_cube(comm, 6, 5, 4)
    x = mesh.geometry.x
    x[:, :2] += 0.03 * np.sin(7.0 * x[:, [1, 2]]) * x[:, :2] * (1.0 - x[:, :2])
    cells = dolfinx.mesh.locate_entities(mesh, 3, lambda y: y[0] < 0.5 + 1e-12)
    tags = dolfinx.mesh.meshtags(mesh, 3, cells, np.full(cells.size, 1, np.int32))
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    k = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0)))
    k.interpolate(lambda y: 1.0 + y[0] + 2 * y[1] ** 2)
    p = dolfinx.fem.Function(V)
    p.interpolate(lambda y: np.sin(3 * y[0]) * y[1] + y[2] ** 2)
    return mesh, tags, V, k, p


@pytest.mark.mpi
def test_broken_assembly_equals_dolfinx_for_cell_and_boundary_forms(comm):
    mesh, tags, V, k, p = _problem(comm)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=mesh, subdomain_data=tags)
    lumped = dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    forms = {
        "diffusion, lumped mass and boundary mass": k * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx
        + u * v * lumped + 0.7 * u * v * ufl.ds,
        "region-restricted": u * v * dx(1),
        "unsymmetric convection": u * ufl.inner(-ufl.grad(p), ufl.grad(v)) * dx,
    }
    for name, form in forms.items():
        matrix = NativeMatrix(form, space=V)
        assert matrix._broken is not None, name
        assert _difference(matrix.mat, _reference(form)) < 1e-14, name
        # reassembly after the coefficients changed
        k.x.array[:] *= 1.5
        p.x.array[:] += 0.25 * p.x.array ** 2
        assert _difference(matrix.assemble(), _reference(form)) < 1e-14, name
        assert _difference(assemble_matrix(form, space=V), _reference(form)) < 1e-14, name


@pytest.mark.mpi
def test_spaces_of_one_mesh_share_one_broken_assembler(comm):
    mesh, _, V, k, _ = _problem(comm)
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))  # another problem's space
    forms = [k * ufl.inner(ufl.grad(ufl.TrialFunction(S)), ufl.grad(ufl.TestFunction(S))) * ufl.dx for S in (V, W)]
    first, second = (NativeMatrix(form, space=S) for form, S in zip(forms, (V, W)))
    assert first._broken[0] is second._broken[0]
    assert first._broken[0] is broken.broken_assembler(W, shared_pattern(W))


@pytest.mark.mpi
def test_what_the_broken_space_cannot_take_goes_to_dolfinx(comm):
    mesh, _, V, k, p = _problem(comm)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    facets = dolfinx.mesh.locate_entities_boundary(mesh, 2, lambda y: np.isclose(y[0], 0.0))
    bc = dolfinx.fem.dirichletbc(PETSc.ScalarType(2.0), dolfinx.fem.locate_dofs_topological(V, 2, facets), V)
    jump = ufl.jump(u) * ufl.jump(v) * ufl.dS + u * v * ufl.dx
    assert not broken.supports(jump, V)
    compiled = dolfinx.fem.form(u * v * ufl.dx)
    assert NativeMatrix(compiled, space=V)._broken is None  # compiled forms keep DOLFINx's path
    with_bc = NativeMatrix(u * v * ufl.dx, [bc], space=V)
    assert with_bc._broken is None
    reference = dolfinx.fem.petsc.assemble_matrix(compiled, bcs=[bc])
    reference.assemble()
    assert _difference(with_bc.mat, reference) < 1e-14
    P2 = dolfinx.fem.functionspace(mesh, ("Lagrange", 2))
    assert not broken.supports(ufl.TrialFunction(P2) * ufl.TestFunction(P2) * ufl.dx, P2)
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))
    assert not broken.supports(ufl.inner(ufl.TrialFunction(W), ufl.TestFunction(W)) * ufl.dx, W)
