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
from oncotwin.la.assembly import NativeMatrix
from oncotwin.la.petsc import ProjectedInitialGuess, create_ksp, solve

PRESSURE_PETSC_DEFAULTS = {
    "ksp_type": "cg",
    "pc_type": "gamg",
    # the calibration's misfit must not depend on the partition (1e-9, tests/calibration/test_parallel_runs.py):
    # 1e-8 (121 instead of 154 CG iterations on BraTS, 8 days) moved it by 4e-8 between 1 and 2 ranks
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


@dataclass(frozen=True)
class _UpwindStructure:
    """Sorted CSR layout of the convection matrix and its transpose (the same pattern, sorted rows)."""

    indptr: np.ndarray
    cols: np.ndarray
    row: np.ndarray
    order: np.ndarray
    order_t: np.ndarray
    off: np.ndarray
    diagonal: np.ndarray
    n: int

    @classmethod
    def of(cls, L: PETSc.Mat, Lt: PETSc.Mat) -> _UpwindStructure:
        first = L.getOwnershipRange()[0]
        sorted_csr = []
        for matrix in (L, Lt):
            indptr, cols, _ = matrix.getValuesCSR()
            row = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            order = np.lexsort((cols, row))
            sorted_csr.append((indptr, cols[order], row[order], order))
        (indptr, cols, row, order), (indptr_t, cols_t, _, order_t) = sorted_csr
        if not (np.array_equal(indptr, indptr_t) and np.array_equal(cols, cols_t)):
            raise RuntimeError("tissue motion: the convection matrix has an unsymmetric sparsity pattern")
        off = cols != row + first
        return cls(indptr.astype(PETSc.IntType), cols.astype(PETSc.IntType), row, order, order_t, off, ~off,
                   len(indptr) - 1)


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
        # the source changes little from one growth step to the next: CG starts from the projection of
        # the new pressure on the earlier ones (154 -> 126 CG iterations in 8 days on BraTS, BENCHMARKS.md)
        self.initial_guess = ProjectedInitialGuess(self._A)
        self.ksp.setInitialGuessNonzero(True)
        velocity = -ufl.grad(self.pressure)
        self._convection = p * ufl.inner(velocity, ufl.grad(q)) * ufl.dx  # UFL: assembled on the broken space
        self._native: NativeMatrix | None = None
        self._Lt = self._A_upwind = self._structure = None

    def solve_velocity(self, source: np.ndarray) -> None:
        """Tissue pressure for the nodal net volume source ``S`` [1/s] (local values including ghosts)."""
        self.source.x.array[:] = source
        with self._b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self._b, self._L)
        # p = 0 on the boundary: the lifting of the Dirichlet condition is zero
        self._b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self._b, [self._bc])
        x = self.pressure.x.petsc_vec
        if self._b.norm() == 0.0:  # no source: a relative tolerance cannot be met from a non-zero guess
            x.set(0.0)
        else:
            if not self.initial_guess.guess(self._b, x):
                x.set(0.0)
            solve(self.ksp, self._b, x, "tissue motion (pressure)")
            self.initial_guess.add(x)
        self.pressure.x.scatter_forward()

    def _operator(self) -> PETSc.Mat:
        """L + D: the upwinded convection matrix of the current velocity (owned rows, global columns).

        The pattern is fixed: the first call builds L, its transpose, the sort orders of both CSR arrays
        and L + D; later calls reassemble L in place, reuse the transpose and write the values only."""
        if self._native is None:
            self._native = NativeMatrix(self._convection, space=self.V)
            L = self._native.mat
            self._Lt = L.transpose(PETSc.Mat())
            self._structure = _UpwindStructure.of(L, self._Lt)
        else:
            L = self._native.assemble()
            L.transpose(self._Lt)  # MAT_REUSE_MATRIX: same pattern
        st = self._structure
        lv, ltv = L.getValuesCSR()[2][st.order], self._Lt.getValuesCSR()[2][st.order_t]
        upwind = np.where(st.off, np.maximum(0.0, np.maximum(-lv, -ltv)), 0.0)
        values = lv + upwind
        values[st.diagonal] -= np.bincount(st.row, weights=upwind, minlength=st.n)[st.row[st.diagonal]]
        if self._A_upwind is None:
            self._A_upwind = PETSc.Mat().createAIJ(L.getSizes(), csr=(st.indptr, st.cols, values), comm=self.comm)
        else:
            self._A_upwind.setValuesCSR(st.indptr, st.cols, values)
        self._A_upwind.assemble()
        self._diagonal = np.zeros(st.n)
        self._diagonal[st.row[st.diagonal]] = values[st.diagonal]
        return self._A_upwind

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
        return MotionStep(substeps)
