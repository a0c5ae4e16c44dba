"""L2 projection of a vector expression onto continuous Lagrange vector fields, one component at a time.

The mass matrix of a blocked (vector) Lagrange space is the scalar mass matrix times the 3 x 3 identity, so
the projection is three scalar mass solves with one matrix. That matrix goes through oncotwin's scalar
assembly (:mod:`oncotwin.la.assembly`, :mod:`oncotwin.la.broken`): DOLFINx's blocked PETSc assembly of the
vector mass matrix took 1.65 s of the 3.7 s steady-flow stage on the 520k-cell BraTS mesh on one rank
(BENCHMARKS.md, session 16).
"""

from __future__ import annotations

import numpy as np

from oncotwin.core.fenics import PETSc, dolfinx, ufl
from oncotwin.la.assembly import assemble_matrix
from oncotwin.la.petsc import create_ksp, solve

PROJECTION_PETSC_DEFAULTS = {"ksp_type": "cg", "pc_type": "jacobi", "ksp_rtol": 1e-12, "ksp_max_it": 2000}


class VectorProjection:
    """Projects a vector UFL expression onto ``W`` (blocked Lagrange), component by component.

    Args:
        W: the vector space (block size = number of components).
        V: the scalar Lagrange space of the same element and mesh (its dofs number the nodes of ``W``).
        expression: the vector expression (re-evaluated on every :meth:`project`).
        dx: the cell measure.
        prefix: PETSc options prefix of the mass solves.
        name: name of the result Function.

    Raises:
        ValueError: when ``V`` does not number the nodes of ``W`` (another element or mesh).
    """

    def __init__(self, W: dolfinx.fem.FunctionSpace, V: dolfinx.fem.FunctionSpace, expression, dx: ufl.Measure,
                 prefix: str, name: str):
        if (V.dofmap.index_map_bs != 1 or V.dofmap.index_map.size_local != W.dofmap.index_map.size_local
                or V.dofmap.index_map.num_ghosts != W.dofmap.index_map.num_ghosts
                or not np.array_equal(V.dofmap.list, W.dofmap.list)):
            raise ValueError("VectorProjection: the scalar space does not number the vector space's nodes")
        self.bs = W.dofmap.index_map_bs
        self.result = dolfinx.fem.Function(W, name=name)
        u, q = ufl.TrialFunction(V), ufl.TestFunction(V)
        self.mass = assemble_matrix(u * q * dx, space=V)
        self.ksp = create_ksp(V.mesh.comm, self.mass, prefix, PROJECTION_PETSC_DEFAULTS)
        self._rhs = [dolfinx.fem.form(expression[i] * q * dx) for i in range(self.bs)]
        self._b = dolfinx.fem.petsc.create_vector(V)
        self._component = dolfinx.fem.Function(V)

    def project(self, what: str = "projection") -> dolfinx.fem.Function:
        """The projection of the expression's current value (the same Function on every call)."""
        x = self._component.x
        for i, rhs in enumerate(self._rhs):
            with self._b.localForm() as local:
                local.set(0.0)
            dolfinx.fem.petsc.assemble_vector(self._b, rhs)
            self._b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            x.petsc_vec.set(0.0)
            solve(self.ksp, self._b, x.petsc_vec, what)
            x.scatter_forward()
            self.result.x.array[i::self.bs] = x.array  # owned and ghost nodes: the result is up to date
        return self.result
