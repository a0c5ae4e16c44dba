"""The quasi-steady oxygen problem: region coefficients, Dirichlet/no-flux boundaries, Newton, hypoxia metrics."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.errors import SolverError
from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.core.log import get_logger
from oncotwin.la.assembly import assemble_matrix
from oncotwin.la.coefficients import PackedCoefficients
from oncotwin.la.petsc import m_matrix_correction, newton_forcing
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.physics.oxygen import OxygenTransport, VesselRegression
from oncotwin.problems.oxygen_solver import NewtonInfo, NewtonStepSolver
from oncotwin.problems.regions import (
    TumourBlend,
    dg0_space,
    measures,
    region_coefficient,
    region_indicator,
    set_region_values,
)

EXTRA_SOURCE_QUADRATURE_DEGREE = 4

log = get_logger("oxygen")


@dataclass(frozen=True)
class OxygenTissue:
    """Oxygen-transport parameters of one region (internal units).

    Attributes:
        diffusivity: D [mm^2/s].
        supply_rate: vascular oxygen transfer rate per volume S_v [1/s].
        vascular_po2: c_v [mmHg].
        tissue_consumption: V_max of the normal tissue [mmHg/s] (independent of the tumour density).
        half_saturation: Michaelis-Menten constant K_m [mmHg] (> 0).
    """

    diffusivity: float
    supply_rate: float
    vascular_po2: float
    tissue_consumption: float
    half_saturation: float


class OxygenProblem:
    """Quasi-steady oxygen reaction-diffusion (P1, lumped supply and consumption) solved by Newton's method.

    Each :meth:`solve` starts from the previous solution (the tumour density changes slowly between
    growth steps), so an unchanged or slightly changed problem needs zero or a few Newton steps. The
    lumped reaction makes the Jacobian the constant diffusion matrix (with its Dirichlet rows and the
    monotone correction, assembled once) plus a diagonal: each Newton step copies the constant part and
    adds the reaction derivative, a vector assembly. Reused across Newton steps and solves: the compiled
    forms, the matrices and the KSP (symmetric SOR; multigrid, keeping its aggregation and prolongators
    across steps, once SOR needs too many iterations: :mod:`oncotwin.problems.oxygen_solver`). Changing the
    density or the vascular scaling needs no rebuild; changing the diffusivity in place needs
    :meth:`coefficients_changed`.

    With ``vessel_regression`` the supply is ``S_v r(n)`` (:class:`~oncotwin.physics.oxygen.VesselRegression`)
    for the tumour occupancy ``n`` held in :attr:`occupancy` (a P1 field, initially the consuming
    ``density``; the caller sets it to all the cells the tumour holds with :meth:`set_occupancy`).

    Args:
        tmesh: distributed mesh with region and boundary tags.
        tissue: oxygen parameters for every region name of the mesh (internal units).
        density: tumour cell density fraction N [-]: a P1 function, a UFL expression or a number.
        tumour_consumption: V_max of tumour cells at full density [mmHg/s].
        hypoxic_threshold: pO2 below which tissue counts as hypoxic [mmHg].
        necrotic_threshold: pO2 below which tissue counts as anoxic/necrotic [mmHg].
        boundary_conditions: pO2 [mmHg] per tagged boundary name (Dirichlet); other boundaries are no-flux.
        petsc_options: overrides of the PETSc options (prefix ``oxygen_``).
        extra_source: optional additional UFL source [mmHg/s] (verification), integrated with a
            degree-4 rule.
        newton_rtol: stop when the residual norm is below ``newton_rtol`` times the larger of the initial
            residual norm and the norm of the individual source/sink terms. 1e-12: the residual norm
            hardly sees pO2 errors in avascular tissue, where only the weak diffusion sets it; at 1e-10
            the minimum pO2 of a sphere with a necrotic core differed by 3e-6 between 1 and 2 ranks
            with the SOR preconditioner (oxygen_solver), 8e-9 at 1e-12.
        newton_max_it: maximum number of Newton steps.
        monotone: add the M-matrix correction of the diffusion term (discrete maximum principle on
            meshes with obtuse cells; see :meth:`_monotone_correction`).
        vessel_regression: co-option then regression of the vessels with the tumour occupancy (None: the
            supply does not depend on the tumour).

    Raises:
        ValueError: a region of the mesh has no parameters, K_m <= 0, or an unknown boundary name.
    """

    prefix = "oxygen_"

    @property
    def ksp(self):
        """The KSP of the Newton steps (SOR, or multigrid after a switch)."""
        return self.linear.ksp

    @property
    def multigrid(self) -> bool:
        """Whether the Newton steps use multigrid (chosen by the case's options, or switched to)."""
        return self.linear.multigrid

    def __init__(self, tmesh: TaggedMesh, tissue: dict[str, OxygenTissue], density,
                 tumour_consumption: float, *, hypoxic_threshold: float, necrotic_threshold: float,
                 boundary_conditions: dict[str, float] | None = None, petsc_options: dict | None = None,
                 extra_source: ufl.core.expr.Expr | None = None, newton_rtol: float = 1e-12,
                 newton_max_it: int = 50, monotone: bool = True,
                 vessel_regression: VesselRegression | None = None):
        self.tmesh = tmesh
        self.comm = tmesh.comm
        mesh = tmesh.mesh
        self._check_tissue(tissue)
        self.tissue = tissue
        self.hypoxic_threshold = float(hypoxic_threshold)
        self.necrotic_threshold = float(necrotic_threshold)
        self.newton_rtol, self.newton_max_it = newton_rtol, newton_max_it
        self.V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self.Q0 = dg0_space(tmesh)
        self.dx, self.ds, _ = measures(tmesh)
        # lumped supply and consumption (vertex quadrature): M-matrix Jacobian, discrete maximum principle
        self.dx_lumped = self.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        field = functools.partial(region_coefficient, self.Q0, tmesh, tissue)
        if isinstance(density, int | float):
            density = dolfinx.fem.Constant(mesh, PETSc.ScalarType(density))
        self.density = density
        self.tumour_consumption = dolfinx.fem.Constant(mesh, PETSc.ScalarType(tumour_consumption))
        self.base_supply = field(lambda t: t.supply_rate, "S_v")
        self.vascular_scale = field(lambda t: 1.0, "vascular_scale")
        self.vessel_regression = vessel_regression
        self.occupancy = self._initial_occupancy(density) if vessel_regression is not None else None
        supply = self.vascular_scale * self.base_supply
        if vessel_regression is not None:
            supply = supply * vessel_regression.factor(self.occupancy)
        self.physics = OxygenTransport(
            diffusivity=field(lambda t: t.diffusivity, "D"),
            supply_rate=supply,
            vascular_po2=field(lambda t: t.vascular_po2, "c_v"),
            tissue_consumption=field(lambda t: t.tissue_consumption, "V_tissue"),
            tumour_consumption=self.tumour_consumption,
            half_saturation=field(lambda t: t.half_saturation, "K_m"),
            density=density,
        )
        self.boundary_values = dict(boundary_conditions or {})
        self.bcs = self._boundary_conditions(self.boundary_values)
        self.po2 = dolfinx.fem.Function(self.V, name="oxygen_mmHg")
        # initial guess: the largest vascular or boundary pO2 (an upper bound of the solution)
        self.reference_po2 = max([t.vascular_po2 for t in tissue.values()] + list(self.boundary_values.values())
                                 + [1.0])
        self.po2.x.array[:] = self.reference_po2
        self._compile_forms(extra_source)
        self._correction_supply = self.base_supply if vessel_regression is None \
            else self.base_supply * vessel_regression.factor(self.occupancy)
        # diffusion matrices without and with the Dirichlet rows: rebuilt only when the coefficients change
        self._plain_diffusion: PETSc.Mat | None = None
        self._dirichlet_diffusion: PETSc.Mat | None = None
        self._lumped_forms = None
        self._lumped_fixed: tuple[np.ndarray, np.ndarray] | None = None
        self._correction = self._monotone_correction() if monotone else None
        self._constant_part = self._assemble_constant_part()
        self.A = self._constant_part.copy()  # the Jacobian: same sparsity, values set per Newton step
        self._diagonal = dolfinx.fem.petsc.create_vector(self.V)
        self._dirichlet_owned = np.concatenate(
            [bc.dof_indices()[0][: bc.dof_indices()[1]] for bc in self.bcs] + [np.zeros(0, np.int32)])
        self.b = dolfinx.fem.petsc.create_vector(self.V)
        self.du = dolfinx.fem.petsc.create_vector(self.V)
        self._petsc_options = petsc_options
        self.linear = NewtonStepSolver(self.comm, self.A, self.prefix, petsc_options)
        self._tumour_indicator = region_indicator(tmesh, tmesh.tumour_regions)
        self._one = dolfinx.fem.Constant(mesh, PETSc.ScalarType(1.0))
        self._weight_forms: dict[int, tuple] = {}
        self.last_solve: NewtonInfo | None = None
        self._warned = False

    # ---------------------------------------------------------------- set-up
    def _check_tissue(self, tissue: dict[str, OxygenTissue]) -> None:
        missing = sorted(set(self.tmesh.regions) - set(tissue))
        if missing:
            raise ValueError(f"oxygen: no parameters for region(s) {missing}; got {sorted(tissue)}")
        bad = [name for name, t in tissue.items() if not t.half_saturation > 0]
        if bad:
            raise ValueError(f"oxygen: half_saturation must be > 0 mmHg in region(s) {bad}")

    def _initial_occupancy(self, density) -> dolfinx.fem.Function:
        """The vessels' tumour occupancy as a P1 field, initially the consuming density."""
        occupancy = dolfinx.fem.Function(self.V, name="tumour_occupancy")
        if isinstance(density, dolfinx.fem.Constant):
            occupancy.x.array[:] = float(density.value)
        elif isinstance(density, dolfinx.fem.Function):
            occupancy.interpolate(density)
        else:
            occupancy.interpolate(dolfinx.fem.Expression(density, self.V.element.interpolation_points))
        return occupancy

    def set_occupancy(self, values: np.ndarray) -> None:
        """Nodal tumour occupancy the vessels see (local and ghost P1 dofs, e.g. viable + doomed + necrotic);
        rebuilds the monotone correction for the regressed supply (collective).

        Raises:
            ValueError: the problem has no vessel regression, or ``values`` has the wrong size.
        """
        if self.occupancy is None:
            raise ValueError("oxygen: set_occupancy needs vessel_regression")
        if np.shape(values) != self.occupancy.x.array.shape:
            raise ValueError(f"oxygen: occupancy has {np.size(values)} values, expected "
                             f"{self.occupancy.x.array.size} (local and ghost P1 dofs)")
        self.occupancy.x.array[:] = values
        if self._correction is not None:
            self._correction.destroy()
            self._correction = self._monotone_correction()
            self._rebuild_constant_part()

    def _compile_forms(self, extra_source: ufl.core.expr.Expr | None) -> None:
        """Residual, diffusion, diagonal reaction derivative and residual scale (compiled once)."""
        q, dc = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        F = self.physics.residual(self.po2, q, self.dx, self.dx_lumped)
        # a fixed rule for the (verification) source: its estimated degree is often ~20 (cos, quotients)
        dx_source = self.dx(metadata={"quadrature_degree": EXTRA_SOURCE_QUADRATURE_DEGREE})
        if extra_source is not None:
            F -= extra_source * q * dx_source
        self._F = dolfinx.fem.form(F)
        # UFL: the matrix without Dirichlet rows is assembled on the broken space (la.broken)
        self._diffusion = ufl.inner(self.physics.diffusivity * ufl.grad(dc), ufl.grad(q)) * self.dx
        # the lumped reaction's Jacobian is diagonal: its entries are the derivative in the direction 1
        ones = dolfinx.fem.Function(self.V)
        ones.x.array[:] = 1.0
        self._reaction_diagonal = dolfinx.fem.form(
            ufl.derivative(self.physics.reaction(self.po2) * q * self.dx_lumped, self.po2, ones))
        ph = self.physics
        scale = (ph.supply_rate * ph.vascular_po2 + ph.max_consumption) * q * self.dx_lumped
        if extra_source is not None:
            scale += abs(extra_source) * q * dx_source
        self._scale = dolfinx.fem.form(scale)
        # a Newton step changes only the iterate: the other coefficients are packed once per solve
        self._packed = {form: PackedCoefficients(form, [self.po2]) for form in (self._F, self._reaction_diagonal)}
        self._packed_this_solve: set = set()

    def _boundary_conditions(self, values: dict[str, float]) -> list:
        tmesh, fdim = self.tmesh, self.tmesh.mesh.topology.dim - 1
        unknown = sorted(set(values) - set(tmesh.boundaries))
        if unknown:
            raise ValueError(f"oxygen: unknown boundary name(s) {unknown}; the mesh has {sorted(tmesh.boundaries)}")
        bcs = []
        for name, po2 in values.items():
            dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, tmesh.facet_tags.find(tmesh.boundaries[name]))
            value = dolfinx.fem.Constant(tmesh.mesh, PETSc.ScalarType(po2))
            bcs.append(dolfinx.fem.dirichletbc(value, dofs, self.V))
        return bcs

    def _monotone_correction(self) -> PETSc.Mat:
        """M-matrix correction of the diffusion term where the supply dominates; zero on Dirichlet rows.

        The oxygen boundary layers (sqrt(D / S_v), tens of micrometres) are far thinner than image-based
        cells, so on meshes with obtuse tetrahedra the Galerkin solution undershoots below zero next to
        avascular regions. The correction (:func:`~oncotwin.la.petsc.m_matrix_correction`) is weighted by
        Da / (1 + Da) per node, with Da the ratio of lumped supply to diffusion: full where the pO2 is set
        by the local supply balance anyway, vanishing where diffusion matters (avascular regions, the
        verification problems); it also vanishes on meshes without obtuse cells. With vessel regression
        the supply is the regressed one (:meth:`set_occupancy` rebuilds the correction): where the vessels
        are gone diffusion sets the pO2, and a correction weighted by the intact supply would distort it.
        """
        if self._plain_diffusion is None:
            self._plain_diffusion = assemble_matrix(self._diffusion, space=self.V)
        K = self._plain_diffusion
        if self._lumped_forms is None:
            q = ufl.TestFunction(self.V)
            self._lumped_forms = [dolfinx.fem.form(coefficient * q * self.dx_lumped) for coefficient in
                                  (1.0 + 0.0 * self.base_supply, self._correction_supply, self.physics.diffusivity)]
        # weights Da / (1 + Da) with the nodal Damkoehler number Da = S_v h^2 / D (h = cube root of the
        # lumped volume): 1 where the supply balance sets the pO2, 0 where diffusion matters (avascular).
        # Geometric, not from K's diagonal, which slivers inflate exactly where the correction is needed.
        def lumped(form) -> np.ndarray:
            vec = dolfinx.fem.assemble_vector(form)
            vec.scatter_reverse(dolfinx.la.InsertMode.add)
            return vec.array[: self.V.dofmap.index_map.size_local]

        # the volume never changes and the diffusivity only with coefficients_changed(): assembled once
        if self._lumped_fixed is None:
            self._lumped_fixed = lumped(self._lumped_forms[0]), lumped(self._lumped_forms[2])
        (volume, diffusivity), supply = self._lumped_fixed, lumped(self._lumped_forms[1])
        damkoehler = supply * np.cbrt(volume) ** 2 / np.maximum(diffusivity, 1e-300)
        weights = K.createVecRight()
        weights.array[:] = damkoehler / (1.0 + damkoehler)
        D = m_matrix_correction(K, weights)
        weights.destroy()
        imap = self.V.dofmap.index_map
        owned = [bc.dof_indices()[0][: bc.dof_indices()[1]] for bc in self.bcs]
        if owned:
            rows = imap.local_to_global(np.concatenate(owned).astype(np.int32)).astype(PETSc.IntType)
            D.zeroRowsColumns(rows, 0.0)
        else:
            D.zeroRowsColumns(np.zeros(0, dtype=PETSc.IntType), 0.0)
        return D

    def coefficients_changed(self) -> None:
        """The diffusivity was updated in place (tissue remodelling): rebuild the constant Jacobian part."""
        for matrix in (self._plain_diffusion, self._dirichlet_diffusion):
            if matrix is not None:
                matrix.destroy()
        self._plain_diffusion = self._dirichlet_diffusion = None
        self._lumped_fixed = None
        self._rebuild_constant_part()

    def _rebuild_constant_part(self) -> None:
        self._constant_part.destroy()
        self._constant_part = self._assemble_constant_part()

    def _assemble_constant_part(self) -> PETSc.Mat:
        """Diffusion matrix (Dirichlet rows and columns: identity) plus the monotone correction."""
        if self._dirichlet_diffusion is None:
            self._dirichlet_diffusion = assemble_matrix(self._diffusion, self.bcs, space=self.V)
        K = self._dirichlet_diffusion.copy()
        if self._correction is not None:
            K.axpy(1.0, self._correction, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
        return K

    def _assemble_jacobian(self) -> None:
        """``A`` = the constant part + the diagonal reaction derivative (zero on Dirichlet rows)."""
        self._constant_part.copy(self.A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        d = self._diagonal
        with d.localForm() as local:
            local.set(0.0)
        form = self._reaction_diagonal
        dolfinx.fem.petsc.assemble_vector(d, form, coeffs=self._coefficients(form))
        d.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        d.array[self._dirichlet_owned] = 0.0
        self.A.setDiagonal(d, addv=PETSc.InsertMode.ADD_VALUES)

    def follow_tumour(self, region: str) -> TumourBlend:
        """The coefficients that take the values of ``region`` where the tumour invades other regions."""
        t, ph = self.tissue[region], self.physics
        blend = TumourBlend()
        for field, value in ((ph.diffusivity, t.diffusivity), (self.base_supply, t.supply_rate),
                             (ph.vascular_po2, t.vascular_po2), (ph.tissue_consumption, t.tissue_consumption),
                             (ph.half_saturation, t.half_saturation)):
            blend.add(field, value)
        return blend

    def set_vascular_scaling(self, factors: dict[str, float]) -> None:
        """Scale the vascular transfer rate S_v per region (anti-angiogenic normalisation); others keep 1."""
        values = {self.tmesh.regions[r]: 1.0 for r in self.tissue if r in self.tmesh.regions}
        values.update({self.tmesh.regions[r]: float(f) for r, f in factors.items() if r in self.tmesh.regions})
        set_region_values(self.vascular_scale, self.tmesh, values)

    # ---------------------------------------------------------------- Newton
    def _residual(self) -> float:
        """Assemble F(po2) into ``b`` (zero on Dirichlet rows: po2 already holds the boundary values)."""
        with self.b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self._F, coeffs=self._coefficients(self._F))
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        if self._correction is not None:
            self._correction.multAdd(self.po2.x.petsc_vec, self.b, self.b)
        dolfinx.fem.petsc.set_bc(self.b, self.bcs, self.po2.x.petsc_vec, -1.0)
        return self.b.norm()

    def _coefficients(self, form: dolfinx.fem.Form) -> dict:
        """The packed coefficients of ``form``: all of them at its first assembly in a solve, then the iterate."""
        if form in self._packed_this_solve:
            return self._packed[form].refresh()
        self._packed_this_solve.add(form)
        return self._packed[form].pack()

    def _scale_norm(self) -> float:
        vec = dolfinx.fem.petsc.assemble_vector(self._scale)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(vec, self.bcs, alpha=0.0)
        norm = vec.norm()
        vec.destroy()
        return norm

    def solve(self) -> NewtonInfo:
        """Newton's method from the previous solution; clips tiny negative nodal values to 0.

        Raises:
            SolverError: Newton did not converge in ``newton_max_it`` steps, produced non-finite values,
                or a linear solve failed.
        """
        c = self.po2
        dolfinx.fem.petsc.set_bc(c.x.petsc_vec, self.bcs)
        c.x.scatter_forward()
        self._packed_this_solve.clear()  # the density, occupancy or coefficients may have changed
        initial = residual = self._residual()
        tolerance = self.newton_rtol * max(self._scale_norm(), initial)
        iterations = linear = 0
        previous = eta = None
        inexact = "ksp_rtol" not in (self._petsc_options or {})
        while not residual <= tolerance:
            if iterations >= self.newton_max_it or not math.isfinite(residual):
                raise SolverError(
                    f"oxygen: Newton's method did not converge: residual norm {residual:.3e} after "
                    f"{iterations} steps (initial {initial:.3e}, tolerance {tolerance:.3e}); check the "
                    "oxygen parameters (K_m > 0, rates >= 0) or raise the solver's newton_max_it")
            self._assemble_jacobian()
            if inexact:
                eta = newton_forcing(residual, previous, eta, tolerance)
            previous = residual
            step = self.linear.solve(self.b, self.du, eta)
            linear += step.iterations
            c.x.petsc_vec.axpy(-1.0, self.du)
            c.x.scatter_forward()
            iterations += 1
            residual = self._residual()
            log.debug("oxygen: Newton step %d: residual %.3e, %d linear iterations (rtol %s)", iterations, residual,
                      step.iterations, eta)
        clipped = self._clip_negative()
        self.last_solve = NewtonInfo(iterations, linear, residual, initial, clipped)
        return self.last_solve

    def _clip_negative(self) -> float:
        """Set negative nodal values to 0; returns the most negative value found (0 if none)."""
        values = self.po2.x.array
        local = float(values.min()) if values.size else 0.0
        lowest = min(self.comm.allreduce(local, op=MPI.MIN), 0.0)
        if lowest < 0.0:
            np.maximum(values, 0.0, out=values)
            if lowest < -1e-3 * self.reference_po2 and not self._warned:
                log.warning("oxygen: clipped negative pO2 (min %.3g mmHg) to 0: undershoots at obtuse cells next "
                            "to avascular regions; later clippings are logged at debug level", lowest)
                self._warned = True
            else:
                log.debug("oxygen: clipped negative pO2 (min %.3e mmHg) to 0", lowest)
        return lowest

    # ---------------------------------------------------------------- outputs
    def _lumped_weights(self, indicator) -> np.ndarray:
        """Owned entries of ``int indicator phi_i`` with vertex quadrature (lumped volume per dof) [mm^3]."""
        key = id(indicator)
        if key not in self._weight_forms:
            if len(self._weight_forms) >= 8:  # callers may build a new indicator expression per step
                self._weight_forms.pop(next(iter(self._weight_forms)))
            q = ufl.TestFunction(self.V)
            self._weight_forms[key] = (indicator, dolfinx.fem.form(indicator * q * self.dx_lumped))
        vec = dolfinx.fem.petsc.assemble_vector(self._weight_forms[key][1])
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        weights = vec.array.copy()
        vec.destroy()
        return weights

    def metrics(self, tumour_indicator: ufl.core.expr.Expr | None = None) -> dict[str, float]:
        """Oxygenation metrics of the tumour (same values on every rank).

        Volumes are lumped integrals: with ``w_i = int chi phi_i`` (vertex quadrature) the hypoxic volume
        is ``sum_i w_i [c_i < threshold]``, i.e. the exact vertex-quadrature integral of
        ``chi * (c < threshold)``.

        Args:
            tumour_indicator: UFL expression in [0, 1] marking the tumour (e.g. ``N > 0.2`` as a
                conditional of the density); default: the cells of ``tmesh.tumour_regions``.
        """
        chi = self._tumour_indicator if tumour_indicator is None else tumour_indicator
        w = self._lumped_weights(chi)
        c = self.po2.x.array[: w.size]
        comm = self.comm

        def total(values) -> float:
            return comm.allreduce(float(np.sum(values)), op=MPI.SUM)

        volume = total(w)
        inside = w > 0
        local_min = float(c[inside].min()) if np.any(inside) else math.inf
        lowest = comm.allreduce(local_min, op=MPI.MIN)
        hypoxic = total(w[c < self.hypoxic_threshold])
        necrotic = total(w[c < self.necrotic_threshold])

        def fraction(v: float) -> float:
            return v / volume if volume > 0 else math.nan

        return {
            "tumour_volume_mm3": volume,
            "po2_mean_tumour_mmHg": fraction(total(w * c)),
            "po2_min_tumour_mmHg": lowest if math.isfinite(lowest) else math.nan,
            "hypoxic_volume_mm3": hypoxic,
            "hypoxic_fraction": fraction(hypoxic),
            "necrotic_volume_mm3": necrotic,
            "necrotic_fraction": fraction(necrotic),
            "hypoxic_threshold_mmHg": self.hypoxic_threshold,
            "necrotic_threshold_mmHg": self.necrotic_threshold,
            "oxygen_newton_iterations": self.last_solve.iterations if self.last_solve else -1,
        }

    def volume_below(self, threshold: float, indicator: ufl.core.expr.Expr | None = None) -> float:
        """Lumped volume where pO2 < ``threshold`` [mm^3], optionally weighted by an indicator."""
        w = self._lumped_weights(self._one if indicator is None else indicator)
        c = self.po2.x.array[: w.size]
        return self.comm.allreduce(float(np.sum(w[c < threshold])), op=MPI.SUM)
