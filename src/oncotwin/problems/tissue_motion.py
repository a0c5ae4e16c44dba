"""Tissue that follows cell volume: the tumour's densities advected by the velocity of a volume source.

Cells, doomed cells and necrotic debris occupy the fraction ``phi = s + r + d + m`` of the tissue; the
rest is host tissue (stroma, normal cells, interstitium). Both are taken as incompressible and moving
with one velocity ``v`` (the single-velocity mixture of Ward & King, IMA J. Math. Appl. Med. Biol.
14:39, 1997; Byrne & Preziosi, Math. Med. Biol. 20:341, 2003). Division produces volume, clearance of
doomed and necrotic cells removes it, so

.. math::

    \\nabla\\cdot v = S, \\qquad v = -\\nabla p, \\qquad -\\Delta p = S \\text{ in } \\Omega,
    \\quad p = 0 \\text{ on } \\partial\\Omega,

with ``S`` the net volumetric production of the kinetics (Darcy-type tumour pressure with a uniform
mobility, which drops out of ``v``; host tissue flows in or out through the outer boundary, the far
field). Each density then obeys ``d_t n + div(n v) = 0`` (the kinetics are split off). A uniformly
killed sphere that clears its cells at the rate ``c`` therefore shrinks as ``V(t) = V_0 exp(-c t)``.

Discretisation: P1 Galerkin with the convection matrix ``L_ij = int phi_j v . grad(phi_i)`` (column sums
zero: the total of every density is conserved to round-off, as nothing leaves through the boundary),
made local-extremum diminishing by discrete upwinding (Kuzmin & Turek, J. Comput. Phys. 175:525, 2002:
``D_ij = max(0, -L_ij, -L_ji)``, symmetric with zero row and column sums, so conservation is kept), and
explicit Euler sub-steps under the positivity bound ``dt <= M_i / |(L + D)_ii|`` with the lumped mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.la.assembly import assemble_matrix
from oncotwin.la.petsc import create_ksp, solve

PRESSURE_PETSC_DEFAULTS = {
    "ksp_type": "cg",
    "pc_type": "gamg",
    "ksp_rtol": 1e-10,
    "ksp_atol": 1e-30,
    "ksp_max_it": 1000,
}
MAX_SUBSTEPS = 1000
"""Cap of the explicit sub-steps of one :meth:`TissueMotion.advect` (a tissue moving ~100 cells per step)."""


@dataclass(frozen=True)
class MotionStep:
    """What one advection did."""

    substeps: int


class TissueMotion:
    """Velocity of the tissue from the net volume source, and conservative advection of P1 densities.

    Args:
        V: the P1 space of the densities.
        mass: lumped mass of ``V`` (local values including ghosts).
        petsc_options: overrides (prefix ``motion_``).
    """

    prefix = "motion_"

    def __init__(self, V: dolfinx.fem.FunctionSpace, mass: np.ndarray, petsc_options: dict | None = None):
        self.V, self.comm, self.mass = V, V.mesh.comm, mass
        mesh = V.mesh
        self.n_owned = V.dofmap.index_map.size_local
        self.source = dolfinx.fem.Function(V, name="volume_source")
        self.pressure = dolfinx.fem.Function(V, name="tissue_pressure")
        p, q = ufl.TrialFunction(V), ufl.TestFunction(V)
        dx_lumped = ufl.dx(domain=mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
        dofs = dolfinx.fem.locate_dofs_topological(V, tdim - 1, facets)
        self._bc = dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V)
        self._a = dolfinx.fem.form(ufl.inner(ufl.grad(p), ufl.grad(q)) * ufl.dx)
        self._L = dolfinx.fem.form(self.source * q * dx_lumped)
        self._A = dolfinx.fem.petsc.assemble_matrix(self._a, bcs=[self._bc])
        self._A.assemble()
        self._b = dolfinx.fem.petsc.create_vector(V)
        self.ksp = create_ksp(self.comm, self._A, self.prefix, PRESSURE_PETSC_DEFAULTS, petsc_options)
        velocity = -ufl.grad(self.pressure)
        self._convection = dolfinx.fem.form(p * ufl.inner(velocity, ufl.grad(q)) * ufl.dx)

    def solve_velocity(self, source: np.ndarray) -> None:
        """Tissue pressure for the nodal net volume source ``S`` [1/s] (local values including ghosts)."""
        self.source.x.array[:] = source
        with self._b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self._b, self._L)
        dolfinx.fem.petsc.apply_lifting(self._b, [self._a], bcs=[[self._bc]])
        self._b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self._b, [self._bc])
        solve(self.ksp, self._b, self.pressure.x.petsc_vec, "tissue motion (pressure)")
        self.pressure.x.scatter_forward()

    def _operator(self) -> PETSc.Mat:
        """L + D: the upwinded convection matrix of the current velocity (owned rows, global columns)."""
        L = assemble_matrix(self._convection, space=self.V)
        Lt = L.transpose(PETSc.Mat())
        (first, _), size = L.getOwnershipRange(), L.getSizes()
        rows = []
        for matrix in (L, Lt):
            indptr, cols, vals = matrix.getValuesCSR()
            row = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            order = np.lexsort((cols, row))
            rows.append((indptr, cols[order], vals[order], row[order]))
        (indptr, cols, lv, row), (indptr_t, cols_t, ltv, _) = rows
        if not (np.array_equal(indptr, indptr_t) and np.array_equal(cols, cols_t)):
            raise RuntimeError("tissue motion: the convection matrix has an unsymmetric sparsity pattern")
        off = cols != row + first
        upwind = np.where(off, np.maximum(0.0, np.maximum(-lv, -ltv)), 0.0)
        values = lv + upwind
        diagonal = ~off
        values[diagonal] -= np.bincount(row, weights=upwind, minlength=len(indptr) - 1)[row[diagonal]]
        A = PETSc.Mat().createAIJ(size, csr=(indptr.astype(PETSc.IntType), cols.astype(PETSc.IntType), values),
                                  comm=self.comm)
        A.assemble()
        L.destroy()
        Lt.destroy()
        self._diagonal = np.zeros(len(indptr) - 1)
        self._diagonal[row[diagonal]] = values[diagonal]
        return A

    def advect(self, fields: list[dolfinx.fem.Function], dt: float) -> MotionStep:
        """Move the densities ``fields`` with the current velocity over ``dt`` [s] (in place, conservative)."""
        A = self._operator()
        n = self.n_owned
        rate = float(np.max(-self._diagonal / self.mass[:n], initial=0.0))
        rate = self.comm.allreduce(rate, op=MPI.MAX)
        substeps = max(1, math.ceil(0.5 * rate * dt))  # half the positivity bound
        if substeps > MAX_SUBSTEPS:
            raise RuntimeError(f"tissue motion would need {substeps} sub-steps in one growth step (at most "
                               f"{MAX_SUBSTEPS}); shorten physics.growth.step")
        tau = dt / substeps
        change = A.createVecLeft()
        for f in fields:
            for _ in range(substeps):
                A.mult(f.x.petsc_vec, change)
                f.x.array[:n] += tau * change.array / self.mass[:n]
                f.x.scatter_forward()
        change.destroy()
        A.destroy()
        return MotionStep(substeps)
