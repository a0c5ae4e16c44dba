"""The effector T-cell field: P1 space, lumped-mass backward Euler, nodal tumour interaction, balance.

Forms are in :mod:`oncotwin.physics.immune`. The lumped mass and lumped death keep the update monotone
when the stiffness matrix is an M-matrix; on meshes with obtuse tetrahedra the conservative discrete
upwinding of :func:`oncotwin.la.petsc.m_matrix_correction` restores that (``monotone=True``), at the cost
of first-order accuracy where it acts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.kinetics.immune import ImmuneKinetics
from oncotwin.la.petsc import SolveInfo, create_ksp, m_matrix_correction, solve
from oncotwin.physics.immune import TCellTransport

IMMUNE_PETSC_DEFAULTS = {"ksp_type": "cg", "pc_type": "jacobi", "ksp_rtol": 1e-12, "ksp_atol": 1e-30,
                         "ksp_max_it": 2000}


@dataclass
class Balance:
    """Integrated effector balance [cells]: entered by extravasation, died, changed by the nodal reactions
    (stimulation, inactivation, radiotherapy), the content at the start and now."""

    entered: float = 0.0
    died: float = 0.0
    content: float = 0.0
    reacted: float = 0.0
    initial: float = 0.0

    @property
    def error(self) -> float:
        """|content - (initial + entered - died + reacted)| relative to the largest of them (0: exact)."""
        expected = self.initial + self.entered - self.died + self.reacted
        scale = max(abs(self.content), abs(self.initial), abs(self.entered), abs(self.died), 1e-300)
        return abs(self.content - expected) / scale

    def as_array(self) -> np.ndarray:
        return np.array([self.entered, self.died, self.content, self.reacted, self.initial])


class TCellProblem:
    """Effector density on a mesh, advanced by backward Euler with cached operators per step size."""

    prefix = "immune_"

    def __init__(self, mesh: dolfinx.mesh.Mesh, transport_of, monotone: bool = False,
                 petsc_options: dict | None = None):
        """Args:
            mesh: the mesh (mm).
            transport_of: function of the P1 space returning the :class:`TCellTransport` (so that the
                coefficients may be functions on it, e.g. the vessel density).
            monotone: add the conservative M-matrix correction to the diffusion operator.
            petsc_options: user overrides of :data:`IMMUNE_PETSC_DEFAULTS`.
        """
        self.comm = mesh.comm
        self.V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        physics = transport_of(self.V)
        # numbers become constants, so that a zero coefficient keeps its form (UFL drops literal zeros)
        self.physics: TCellTransport = replace(physics, **{
            k: dolfinx.fem.Constant(mesh, PETSc.ScalarType(v)) for k, v in vars(physics).items()
            if isinstance(v, (int, float))})
        self.dx = ufl.Measure("dx", domain=mesh)
        self.dx_lumped = self.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        e, q = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self._stiffness = _matrix(self.physics.operator(e, q, self.dx, self.dx_lumped))
        if monotone:
            self._stiffness.axpy(1.0, m_matrix_correction(self._stiffness))
        self._mass = _vector(q * self.dx_lumped)
        self._source = _vector(self.physics.source(q, self.dx))
        self._death = _vector(self.physics.death * q * self.dx_lumped)
        self._source_total = self._source.sum()
        self._options = petsc_options
        self._levels: dict[float, tuple] = {}
        self.e = dolfinx.fem.Function(self.V, name="effector_density")
        self.e_old = dolfinx.fem.Function(self.V)
        self.balance = Balance()
        self.t = 0.0

    def _level(self, dt: float):
        key = float(f"{dt:.12g}")
        if key not in self._levels:
            diagonal = self._mass.copy()
            diagonal.scale(1.0 / dt)
            A = self._stiffness.copy()
            A.setDiagonal(diagonal, addv=PETSc.InsertMode.ADD_VALUES)
            ksp = create_ksp(self.comm, A, self.prefix, IMMUNE_PETSC_DEFAULTS, self._options)
            self._levels[key] = (A, diagonal, ksp, A.createVecRight())
        return self._levels[key]

    def step(self, dt: float) -> SolveInfo:
        """Advance the transport by ``dt`` (backward Euler) and update the balance."""
        _, diagonal, ksp, b = self._level(dt)
        self.e_old.x.array[:] = self.e.x.array
        b.pointwiseMult(diagonal, self.e_old.x.petsc_vec)
        b.axpy(1.0, self._source)
        info = solve(ksp, b, self.e.x.petsc_vec, "effector transport")
        self.e.x.scatter_forward()
        self.balance.entered += dt * self._source_total
        self.balance.died += dt * self._dot(self._death)
        self.balance.content = self.total()
        self.t += dt
        return info

    def settle(self) -> SolveInfo:
        """Start from the tumour-free steady state (extravasation balanced by death and motility): one
        backward-Euler step of a step far beyond every time scale; the clock and the balance start here."""
        info = self.step(1e16)
        self._levels.pop(float(f"{1e16:.12g}"), None)
        self.t = 0.0
        self.balance = Balance(content=self.total(), initial=self.total())
        return info

    def react(self, tumour: np.ndarray, kinetics: ImmuneKinetics, dt: float, occupancy=0.0) -> int:
        """Apply the tumour interaction at the nodes over ``dt`` (recruitment and death are in the transport,
        the tumour's own growth in the growth problem): stimulated proliferation, inactivation, and the kill.

        Args:
            tumour: nodal tumour density [cells/mm^3] (owned and ghost entries, changed in place).
            kinetics: rates in density form (per cells/mm^3).
            dt: step [s].
            occupancy: PD-1 occupancy (number or function of time).

        Returns:
            The RK4 sub-steps (the same on every rank: from the global largest densities).
        """
        interaction = replace(kinetics, recruitment=0.0, death=0.0, growth=0.0)
        e_max = self.comm.allreduce(float(np.max(self.e.x.array, initial=0.0)), op=MPI.MAX)
        t_max = self.comm.allreduce(float(np.max(tumour, initial=0.0)), op=MPI.MAX)
        n = interaction.substeps(e_max, t_max, dt, 0.02)
        before = self.total()
        interaction.advance(self.e.x.array, tumour, self.t - dt, dt, occupancy, substeps=n)
        self._changed(before)
        return n

    def scale(self, factor: np.ndarray | float) -> None:
        """Multiply the nodal density by a surviving fraction (e.g. of a radiotherapy fraction)."""
        before = self.total()
        self.e.x.array[:] *= factor
        self._changed(before)

    def _changed(self, before: float) -> None:
        self.balance.content = self.total()
        self.balance.reacted += self.balance.content - before

    def state(self) -> dict[str, np.ndarray]:
        """The density (local and ghost entries), the clock and the balance, for checkpoints."""
        return {"effector_density": self.e.x.array.copy(),
                "scalars": np.concatenate([[self.t], self.balance.as_array()])}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Set the state of :meth:`state` (on this partition)."""
        self.e.x.array[:] = state["effector_density"]
        self.t = float(state["scalars"][0])
        self.balance = Balance(*(float(v) for v in state["scalars"][1:]))

    def total(self) -> float:
        """Effector cells in the domain, int E dx (lumped, exact for P1 with the partition of unity)."""
        return self._dot(self._mass)

    def minimum(self) -> float:
        """Global minimum of the nodal density (positivity monitor)."""
        local = float(self.e.x.array.min()) if self.e.x.array.size else np.inf
        return self.comm.allreduce(local, op=MPI.MIN)

    def _dot(self, weights: PETSc.Vec) -> float:
        return float(weights.dot(self.e.x.petsc_vec))


def _matrix(form: ufl.Form) -> PETSc.Mat:
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(form))
    A.assemble()
    return A


def _vector(form: ufl.Form) -> PETSc.Vec:
    b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(form))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return b
