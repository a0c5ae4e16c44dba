"""The drug transport problem: implicit time stepping with cached operators and a mass balance."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.core.log import get_logger
from oncotwin.la.assembly import assemble_matrix
from oncotwin.la.petsc import (
    MULTIGRID_ABOVE,
    SolveInfo,
    create_ksp,
    diffusion_number,
    preconditioner_defaults,
    solve,
)
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.physics.drug import DrugTransport, VascularExchange
from oncotwin.problems.regions import (
    TumourBlend,
    dg0_space,
    integrate,
    max_over,
    measures,
    region_coefficient,
    typical_cell_size,
)

DRUG_PETSC_DEFAULTS = {
    "ksp_type": "gmres",
    "pc_type": "bjacobi",
    "sub_pc_type": "ilu",
    # BraTS, 8 days of temozolomide: 1e-9 instead of 1e-12 takes 16 instead of 21 GMRES iterations per
    # step and moves every concentration readout by at most 2e-9 relative; the mass balance error stays
    # 5e-11 (BENCHMARKS.md, issue 21)
    "ksp_rtol": 1e-9,
    "ksp_atol": 1e-30,
    "ksp_max_it": 500,
}

log = get_logger("drug")


@dataclass(frozen=True)
class DrugTissue:
    """Transport parameters of one drug in one region (internal units).

    Attributes:
        diffusivity: D [mm^2/s].
        permeability: vascular permeability P [mm/s].
        reflection: solute reflection coefficient sigma_f [-].
        decay: degradation / cellular uptake rate [1/s].
        penetration: Kp,uu of a blood-tissue barrier (influx / efflux), 1 without one.
    """

    diffusivity: float
    permeability: float
    reflection: float
    decay: float
    penetration: float = 1.0


@dataclass
class MassBalance:
    """Cumulative drug bookkeeping in the tissue [mg]."""

    initial: float = 0.0
    content: float = 0.0
    gained: float = 0.0
    lost: float = 0.0

    @property
    def error(self) -> float:
        """|content - initial - gained + lost| relative to the largest amount involved."""
        scale = max(abs(self.gained), abs(self.lost), abs(self.content), 1e-300)
        return abs(self.content - self.initial - self.gained + self.lost) / scale


class DrugProblem:
    """Backward-Euler convection-diffusion-reaction of one drug in tissue.

    Operators are built once per distinct step size and cached with their preconditioners, so a
    schedule that reuses a few step sizes (refined around dose events) builds only a few. With P1 and no
    SUPG the mass matrix is lumped (diagonal), so the step-independent part (diffusion, convection,
    exchange, decay) is assembled once and a new step size only adds ``M / dt`` to a copy of it.

    Args:
        tmesh: the tagged mesh.
        tissue: drug parameters per region name.
        velocity: interstitial velocity [mm/s] (vector function).
        filtration: fluid filtration J_f [1/s] as a UFL expression (``FluidProblem.physics.source``'s
            vascular part, or 0 without a fluid problem).
        vessel_surface: S/V [1/mm] (DG0 function or expression).
        lymphatic_rate: LpL SL/V max(p - p_L, 0) [1/s] expression (0 without lymphatics).
        plasma: unbound plasma concentration [mg/mm^3] as a function of time [s].
        degree: Lagrange degree.
        supg: stabilise (None: decide from the cell Peclet number).
        petsc_options: overrides (prefix ``drug_``).
        extra_source: optional UFL source [mg/(mm^3 s)] constant in time (verification).
        extra_boundary_source: optional inward boundary flux [mg/(mm^2 s)] constant in time (verification).
    """

    prefix = "drug_"

    def __init__(self, tmesh: TaggedMesh, tissue: dict[str, DrugTissue], velocity, filtration, vessel_surface,
                 lymphatic_rate, plasma: Callable[[float], float], degree: int = 1, supg: bool | None = None,
                 petsc_options: dict | None = None, extra_source=None, extra_boundary_source=None):
        self.tmesh, self.comm = tmesh, tmesh.comm
        self.V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", degree))
        self.plasma = plasma
        self.dx, self.ds, _ = measures(tmesh)
        # P1: lumped mass and reaction (vertex quadrature) against over/undershoots after dose peaks
        self.dx_lumped = (self.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
                          if degree == 1 else self.dx)
        field = functools.partial(region_coefficient, dg0_space(tmesh), tmesh, tissue)
        self.tissue = tissue
        self.permeability = field(lambda t: t.permeability, "P")
        barrier = any(t.penetration != 1.0 for t in tissue.values())
        self.penetration = field(lambda t: t.penetration, "Kp_uu") if barrier else None
        self.physics = DrugTransport(
            diffusivity=field(lambda t: t.diffusivity, "D"),
            velocity=velocity,
            exchange=VascularExchange(filtration, self.permeability * vessel_surface,
                                      field(lambda t: t.reflection, "sigma_f"), self.penetration),
            lymphatic_rate=lymphatic_rate,
            decay=field(lambda t: t.decay, "k"),
        )
        self.supg = self._needs_supg() if supg is None else supg
        self.c = dolfinx.fem.Function(self.V, name="concentration")
        self.c_old = dolfinx.fem.Function(self.V)
        self.cmax = dolfinx.fem.Function(self.V, name="cmax")
        self.auc = dolfinx.fem.Function(self.V, name="auc")
        self._extra = extra_source
        self._extra_boundary = extra_boundary_source
        self._options = petsc_options
        self._levels: dict[float, tuple] = {}
        self._steady: tuple | None = None  # step-independent operator and vectors (lumped-mass path)
        self._cell_size = typical_cell_size(self.comm, tmesh.mesh)
        self._number = None  # diffusion-number expression (compiled at the first step size)
        self._degree = degree
        q = ufl.TestFunction(self.V)
        ones = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(q * self.dx_lumped))
        ones.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        self._volume_weights = ones  # sum_i c_i int phi_i = int c (P1 and higher: partition of unity)
        self._exchange_weights()
        self._extra_total = (integrate(self.comm, extra_source * self.dx) if extra_source is not None else 0.0) + (
            integrate(self.comm, extra_boundary_source * self.ds) if extra_boundary_source is not None else 0.0)
        self.balance = MassBalance()
        self.t = 0.0

    # ------------------------------------------------------------------ helpers
    def _exchange_weights(self) -> None:
        """Loss weights and total gain of the mass balance (depend on velocity and vessel coefficients)."""
        q = ufl.TestFunction(self.V)
        n = ufl.FacetNormal(self.tmesh.mesh)
        sink = (self.physics.loss * q * self.dx_lumped
                + ufl.max_value(ufl.dot(self.physics.velocity, n), 0.0) * q * self.ds)
        self._loss_weights = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(sink))
        self._loss_weights.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        self._gain_total = integrate(self.comm, self.physics.exchange.gain * self.dx_lumped)

    def follow_tumour(self, region: str) -> TumourBlend:
        """The coefficients that take the values of ``region`` where the tumour invades other regions."""
        t, ph = self.tissue[region], self.physics
        blend = TumourBlend()
        for field, value in ((ph.diffusivity, t.diffusivity), (self.permeability, t.permeability),
                             (ph.exchange.reflection, t.reflection), (ph.decay, t.decay)):
            blend.add(field, value)
        if self.penetration is not None:
            blend.add(self.penetration, t.penetration)
        return blend

    def diffusion_number(self, dt: float) -> float:
        """Largest ``dt D / ((1 + dt k) h^2)`` over the cells, with ``k`` the first-order loss rate: the
        stiffness against the mass and lumped loss of a step's operator ``(1/dt + k) M + D K`` (``h`` the
        typical cell size). The loss bounds the number for long steps as the exchange does for the fluid's
        ``K / (a h^2)``: temozolomide (hydrolysis half-life 1.8 h) keeps a one-level preconditioner at 6 h
        steps, where multigrid took as many iterations at 3.5x the cost (BENCHMARKS.md, issue 21)."""
        if self._number is None:  # compiled once; every new step size only interpolates it
            Q0 = dg0_space(self.tmesh)
            dt_c = dolfinx.fem.Constant(self.tmesh.mesh, PETSc.ScalarType(0.0))
            ratio = dt_c * self.physics.diffusivity / (1 + dt_c * ufl.max_value(self.physics.loss, 0.0))
            self._number = (dt_c, dolfinx.fem.Function(Q0),
                            dolfinx.fem.Expression(ratio, Q0.element.interpolation_points, comm=self.comm))
        dt_c, f, expr = self._number
        dt_c.value = dt
        f.interpolate(expr)
        local = float(f.x.array.max()) if f.x.array.size else 0.0
        return diffusion_number(1.0, self.comm.allreduce(local, op=MPI.MAX), self._cell_size)

    def _switch_number(self, dt: float) -> float:
        """:meth:`diffusion_number`, or its bound ``dt max D / h^2`` (the loss only lowers it) when that is
        already below the multigrid switch: the bound needs no interpolation of the loss rate (40 ms on BraTS
        at every new step size)."""
        bound = diffusion_number(dt, max_over(self.comm, self.physics.diffusivity.x.array), self._cell_size)
        return bound if bound <= MULTIGRID_ABOVE else self.diffusion_number(dt)

    def coefficients_changed(self) -> None:
        """Velocity, filtration or vessel coefficients were updated in place (e.g. vascular normalisation):
        drop the cached operators and recompute the balance weights."""
        for obj in [o for level in self._levels.values() for o in level] + list(self._steady or ()):
            if obj is not None:
                obj.destroy()  # shared vectors are destroyed once: petsc4py ignores a second destroy
        self._levels.clear()
        self._steady = None
        self._exchange_weights()

    def _matrix(self, form: ufl.Form) -> PETSc.Mat:
        return assemble_matrix(form, space=self.V)

    def _dot(self, weights: PETSc.Vec, f: dolfinx.fem.Function) -> float:
        return weights.dot(f.x.petsc_vec)

    def cell_peclet_max(self) -> float:
        """Max over cells of |u| h / (2 D)."""
        Q0 = dg0_space(self.tmesh)
        speed2 = ufl.dot(self.physics.velocity, self.physics.velocity)
        if isinstance(speed2, ufl.constantvalue.Zero):
            return 0.0
        expr = ufl.sqrt(speed2) * ufl.CellDiameter(self.tmesh.mesh) / (2 * self.physics.diffusivity)
        f = dolfinx.fem.Function(Q0)
        f.interpolate(dolfinx.fem.Expression(expr, Q0.element.interpolation_points, comm=self.comm))
        local = float(f.x.array.max()) if f.x.array.size else 0.0
        return self.comm.allreduce(local, op=MPI.MAX)

    def _needs_supg(self) -> bool:
        peclet = self.cell_peclet_max()
        if peclet > 1:
            log.info("drug: cell Peclet number up to %.3g > 1: SUPG stabilisation on", peclet)
        return peclet > 1

    def _sources(self, dt_c=None) -> tuple[ufl.Form, ufl.Form | None]:
        """Right-hand-side forms: the vascular gain per unit plasma concentration and the constant extra
        sources (with their SUPG test-function terms when ``dt_c`` is given)."""
        q = ufl.TestFunction(self.V)
        gain = self.physics.exchange.gain * q * self.dx_lumped
        extra = self._extra * q * self.dx if self._extra is not None else None
        if self._extra_boundary is not None:
            boundary = self._extra_boundary * q * self.ds
            extra = boundary if extra is None else extra + boundary
        if dt_c is not None:
            tau_test = self.physics.supg_test(q, self.tmesh.mesh, dt_c)
            gain += tau_test * self.physics.exchange.gain * self.dx
            if self._extra is not None:
                extra += tau_test * self._extra * self.dx
        return gain, extra

    def _steady_parts(self) -> tuple:
        """Step-independent operator, gain and extra-source vectors (lumped-mass path; built once)."""
        if self._steady is None:
            c, q = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
            K = self._matrix(self.physics.operator(c, q, self.dx, self.ds, dx_reaction=self.dx_lumped))
            gain, extra = self._sources()
            self._steady = (K, _vector(gain), _vector(extra) if extra is not None else None)
        return self._steady

    def _level(self, dt: float):
        """Matrix ``A``, mass operator ``B`` (``B c_old`` is the old-state term), gain and extra-source
        vectors, KSP and work vector for step size ``dt`` (built once, then cached)."""
        key = float(f"{dt:.12g}")
        if key in self._levels:
            return self._levels[key]
        if self.supg or self._degree != 1:
            c, q = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
            dt_c = dolfinx.fem.Constant(self.tmesh.mesh, PETSc.ScalarType(dt))
            mass = c * q / dt_c * self.dx_lumped
            a = mass + self.physics.operator(c, q, self.dx, self.ds, dx_reaction=self.dx_lumped)
            if self.supg:
                a += self.physics.supg(c, q, self.dx, dt_c)
                mass += self.physics.supg_test(q, self.tmesh.mesh, dt_c) * c / dt_c * self.dx
            A, B = self._matrix(a), self._matrix(mass)
            gain, extra = self._sources(dt_c if self.supg else None)
            g, e = _vector(gain), (_vector(extra) if extra is not None else None)
        else:
            K, g, e = self._steady_parts()
            diagonal = self._volume_weights.copy()  # lumped mass: int phi_i
            diagonal.scale(1.0 / dt)
            A = K.copy()
            A.setDiagonal(diagonal, addv=PETSc.InsertMode.ADD_VALUES)
            B = PETSc.Mat().createDiagonal(diagonal)
            diagonal.destroy()
        # multigrid only for diffusion-dominated transport (no SUPG): its smoothers assume a near-symmetric
        # operator; convection-dominated steps keep the ILU preconditioner
        number = 0.0 if self.supg else self._switch_number(dt)
        ksp = create_ksp(self.comm, A, self.prefix, preconditioner_defaults(DRUG_PETSC_DEFAULTS, number, self._options),
                         self._options)
        self._levels[key] = (A, B, g, e, ksp, A.createVecRight())
        return self._levels[key]

    # ------------------------------------------------------------------ time stepping
    def step(self, dt: float) -> SolveInfo:
        """Advance by ``dt`` (backward Euler) and update Cmax, AUC and the mass balance."""
        _, B, g, e, ksp, b = self._level(dt)
        t_new = self.t + dt
        cp = float(self.plasma(t_new))
        self.c_old.x.array[:] = self.c.x.array
        B.mult(self.c_old.x.petsc_vec, b)
        b.axpy(cp, g)
        if e is not None:
            b.axpy(1.0, e)
        info = solve(ksp, b, self.c.x.petsc_vec, "drug transport")
        self.c.x.scatter_forward()
        # bookkeeping (all exact discrete identities of backward Euler with test function 1)
        self.balance.gained += dt * (cp * self._gain_total + self._extra_total)
        self.balance.lost += dt * self._dot(self._loss_weights, self.c)
        self.balance.content = self._dot(self._volume_weights, self.c)
        np.maximum(self.cmax.x.array, self.c.x.array, out=self.cmax.x.array)
        self.auc.x.array[:] += 0.5 * dt * (self.c.x.array + self.c_old.x.array)
        self.t = t_new
        return info

    @property
    def operator_count(self) -> int:
        """Number of step sizes whose operator has been assembled (and cached)."""
        return len(self._levels)

    def minimum(self) -> float:
        """Global minimum of the concentration (positivity monitor)."""
        local = float(self.c.x.array.min()) if self.c.x.array.size else np.inf
        return self.comm.allreduce(local, op=MPI.MIN)


def _vector(form: ufl.Form) -> PETSc.Vec:
    b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(form))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return b
