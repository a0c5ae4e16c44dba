"""The interstitial fluid problem: spaces, region coefficients, boundary conditions, solver, outputs."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.core.log import get_logger
from oncotwin.la.assembly import NativeMatrix
from oncotwin.la.petsc import (
    SolveInfo,
    create_ksp,
    diffusion_number,
    preconditioner_defaults,
    solve,
)
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.physics.fluid import FarField, StarlingDarcy, effective_vascular_pressure
from oncotwin.problems.regions import (
    Integrals,
    TumourBlend,
    dg0_space,
    measures,
    region_coefficient,
    region_ids,
    region_indicator,
    region_max,
    set_region_values,
    typical_cell_size,
)
from oncotwin.problems.vector_projection import VectorProjection

# One-level (block Jacobi / incomplete Cholesky) where the exchange term dominates the operator, i.e. the
# pressure layers sqrt(K / a) are not wider than about the cells (typical of perfused tissue on patient
# meshes); smoothed-aggregation multigrid otherwise (:func:`~oncotwin.la.petsc.preconditioner_defaults`).
FLUID_PETSC_DEFAULTS = {
    "ksp_type": "cg",
    "pc_type": "bjacobi",
    "sub_pc_type": "icc",
    "ksp_rtol": 1e-10,
    "ksp_atol": 1e-30,
    "ksp_max_it": 1000,
    "ksp_error_if_not_converged": False,
}
UM_PER_MM = 1000.0

log = get_logger("fluid")


@dataclass(frozen=True)
class FluidTissue:
    """Starling/Darcy parameters of one region (internal units).

    Attributes:
        hydraulic_conductivity: K [mm^2/(mmHg s)].
        vascular_permeability: Lp [mm/(mmHg s)].
        vessel_surface_density: S/V [1/mm].
        vascular_pressure: p_v [mmHg].
        plasma_oncotic_pressure: pi_v [mmHg].
        interstitial_oncotic_pressure: pi_i [mmHg].
        reflection_coefficient: sigma_T [-].
        lymphatic_filtration: LpL SL/V [1/(mmHg s)].
        lymphatic_pressure: p_L [mmHg].
    """

    hydraulic_conductivity: float
    vascular_permeability: float
    vessel_surface_density: float
    vascular_pressure: float
    plasma_oncotic_pressure: float
    interstitial_oncotic_pressure: float
    reflection_coefficient: float
    lymphatic_filtration: float
    lymphatic_pressure: float

    @property
    def vascular_filtration(self) -> float:
        """Lp S/V [1/(mmHg s)] (before any vascular scaling)."""
        return self.vascular_permeability * self.vessel_surface_density

    @property
    def effective_vascular_pressure(self) -> float:
        """p_v - sigma_T (pi_v - pi_i) [mmHg]."""
        return effective_vascular_pressure(self.vascular_pressure, self.reflection_coefficient,
                                           self.plasma_oncotic_pressure, self.interstitial_oncotic_pressure)


@dataclass(frozen=True)
class PressureBoundary:
    """Fixed interstitial pressure [mmHg] on a tagged boundary."""

    boundary: str
    pressure: float


@dataclass(frozen=True)
class RobinBoundary:
    """Far-field condition on a tagged boundary: outward flux = conductance * (p - far_pressure).

    Attributes:
        boundary: name of the tagged boundary.
        conductance: h [mm/(mmHg s)].
        far_pressure: p_far [mmHg].
    """

    boundary: str
    conductance: float
    far_pressure: float


FluidBoundary = PressureBoundary | RobinBoundary


@dataclass(frozen=True)
class BoundaryLayer:
    """The pressure boundary layer at the rim of one tumour region."""

    region: str
    width_mm: float
    rim_cell_size_mm: float

    @property
    def resolved(self) -> bool:
        """At least two cells across the layer width."""
        return self.rim_cell_size_mm <= 0.5 * self.width_mm


class FluidProblem:
    """Steady Darcy-Starling flow on a tagged mesh.

    The matrix and its algebraic-multigrid preconditioner are built once and reused across solves;
    they are rebuilt only when the vascular scaling changes (anti-angiogenic normalisation).

    Args:
        tmesh: distributed mesh with region and boundary tags.
        tissue: fluid parameters per region name (internal units).
        boundary_conditions: pressure or Robin conditions on tagged boundaries; all other boundaries are
            no-flux.
        degree: Lagrange degree of the pressure.
        petsc_options: overrides of the PETSc options (prefix ``fluid_``).
        ifp_threshold: pressure threshold for the "fraction above" metric [mmHg].
        extra_source: optional additional UFL source term [1/s] (verification).
    """

    prefix = "fluid_"

    def __init__(self, tmesh: TaggedMesh, tissue: dict[str, FluidTissue],
                 boundary_conditions: list[FluidBoundary] | tuple = (), degree: int = 1,
                 petsc_options: dict | None = None, ifp_threshold: float = 5.0,
                 extra_source: ufl.core.expr.Expr | None = None):
        self.tmesh = tmesh
        self.comm = tmesh.comm
        mesh = tmesh.mesh
        self.degree = degree
        self.ifp_threshold = ifp_threshold
        self.V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree))
        self.Q0 = dg0_space(tmesh)
        self.tissue = tissue
        self.p = dolfinx.fem.Function(self.V, name="pressure")
        self.dx, self.ds, self.dS = measures(tmesh)

        field = functools.partial(region_coefficient, self.Q0, tmesh, tissue)
        self.conductivity = field(lambda t: t.hydraulic_conductivity, "K")
        self.base_filtration = field(lambda t: t.vascular_filtration, "LpSV")
        self.vascular_scale = field(lambda t: 1.0, "vascular_scale")
        self.physics = StarlingDarcy(
            conductivity=self.conductivity,
            vascular_filtration=self.vascular_scale * self.base_filtration,
            effective_vascular_pressure=field(lambda t: t.effective_vascular_pressure, "p_eff"),
            lymphatic_filtration=field(lambda t: t.lymphatic_filtration, "LpLSL"),
            lymphatic_pressure=field(lambda t: t.lymphatic_pressure, "p_L"),
        )
        self.bcs, far_fields = self._boundary_conditions(boundary_conditions)
        pt, q = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        # P1: lumped exchange terms (vertex quadrature), no over/undershoots at unresolved rims
        lumped = self.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1}) if degree == 1 else None
        self.dx_exchange = lumped or self.dx
        a, L = self.physics.forms(pt, q, self.dx, tuple(far_fields), extra_source, dx_exchange=lumped)
        self.a, self.L = dolfinx.fem.form(a), dolfinx.fem.form(L)
        # the lifting after an assembly takes the matrix's packed coefficients (no second packing)
        self._matrix = NativeMatrix(self.a, self.bcs, space=self.V, keep_coefficients=bool(self.bcs))
        self.A = self._matrix.mat
        self.b = dolfinx.fem.petsc.create_vector(self.V)
        self._petsc_options = petsc_options
        self._cell_size = typical_cell_size(self.comm, mesh)
        self._multigrid: bool | None = None
        self.ksp: PETSc.KSP | None = None
        self._configure_solver()
        self._matrix_stale = False
        self._projection = None
        self._net_source = None
        self._integrals = Integrals(self.comm)
        self._ifp_threshold = dolfinx.fem.Constant(mesh, PETSc.ScalarType(ifp_threshold))
        self.last_solve: SolveInfo | None = None

    # ---------------------------------------------------------------- set-up
    def _boundary_conditions(self, specs) -> tuple[list, list[FarField]]:
        tmesh, fdim = self.tmesh, self.tmesh.mesh.topology.dim - 1
        dirichlet, robin = [], []
        for spec in specs:
            tag = self.tmesh.boundaries[spec.boundary]
            if isinstance(spec, PressureBoundary):
                facets = tmesh.facet_tags.find(tag)
                dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
                value = dolfinx.fem.Constant(tmesh.mesh, PETSc.ScalarType(spec.pressure))
                dirichlet.append(dolfinx.fem.dirichletbc(value, dofs, self.V))
            elif isinstance(spec, RobinBoundary):
                c = dolfinx.fem.Constant
                robin.append(FarField(self.ds(tag), c(tmesh.mesh, PETSc.ScalarType(spec.conductance)),
                                      c(tmesh.mesh, PETSc.ScalarType(spec.far_pressure))))
            else:
                raise TypeError(f"fluid: not a pressure or Robin boundary condition: {spec!r}")
        return dirichlet, robin

    def diffusion_number(self) -> float:
        """Largest ``K / (a h^2)`` over the cells, with ``a`` the exchange rate (Lp S/V + LpL SL/V): the
        squared ratio of the pressure layer width to the node spacing ``h`` (cell size / degree; infinite
        where nothing exchanges)."""
        exchange = (self.vascular_scale.x.array * self.base_filtration.x.array
                    + self.physics.lymphatic_filtration.x.array)
        ratio = np.divide(self.conductivity.x.array, exchange, out=np.full(exchange.shape, np.inf),
                          where=exchange > 0)
        local = float(ratio.max()) if ratio.size else 0.0
        return diffusion_number(1.0, self.comm.allreduce(local, op=MPI.MAX), self._cell_size / self.degree)

    def _configure_solver(self) -> None:
        """(Re)create the KSP when the operator's regime (one-level or multigrid) is new or changed."""
        defaults = preconditioner_defaults(FLUID_PETSC_DEFAULTS, self.diffusion_number(), self._petsc_options)
        multigrid = defaults is not FLUID_PETSC_DEFAULTS
        if multigrid != self._multigrid:
            if self.ksp is not None:
                self.ksp.destroy()
            self.ksp = create_ksp(self.comm, self.A, self.prefix, defaults, self._petsc_options)
            self._multigrid = multigrid

    def follow_tumour(self, region: str) -> TumourBlend:
        """The coefficients that take the values of ``region`` where the tumour invades other regions."""
        t = self.tissue[region]
        blend = TumourBlend()
        blend.add(self.conductivity, t.hydraulic_conductivity)
        blend.add(self.base_filtration, t.vascular_filtration)
        blend.add(self.physics.effective_vascular_pressure, t.effective_vascular_pressure)
        blend.add(self.physics.lymphatic_filtration, t.lymphatic_filtration)
        blend.add(self.physics.lymphatic_pressure, t.lymphatic_pressure)
        return blend

    def coefficients_changed(self) -> None:
        """Region coefficients were updated in place: reassemble at the next solve."""
        self._matrix_stale = True

    def set_vascular_scaling(self, factors: dict[str, float]) -> None:
        """Scale Lp S/V per region (anti-angiogenic normalisation); regions not named keep 1."""
        values = {self.tmesh.regions[r]: 1.0 for r in self.tissue if r in self.tmesh.regions}
        values.update({self.tmesh.regions[r]: float(f) for r, f in factors.items() if r in self.tmesh.regions})
        set_region_values(self.vascular_scale, self.tmesh, values)
        self._matrix_stale = True

    # ---------------------------------------------------------------- solve
    def solve(self) -> SolveInfo:
        """Solve for the interstitial pressure (reusing matrix and preconditioner when unchanged)."""
        if self._matrix_stale:
            self._matrix.assemble()
            self._configure_solver()
            self.ksp.setOperators(self.A)  # forces a new preconditioner set-up
            self._matrix_stale = False
        with self.b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self.L)
        if self.bcs:  # without Dirichlet conditions the lifting is a no-op (that still packs coefficients)
            coeffs = self._matrix.take_coefficients()
            if coeffs is None:
                coeffs = dolfinx.fem.pack_coefficients(self.a)
            dolfinx.fem.petsc.apply_lifting(self.b, [self.a], [self.bcs], coeffs=[coeffs])
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self.b, self.bcs)
        self.last_solve = solve(self.ksp, self.b, self.p.x.petsc_vec, "fluid pressure")
        self.p.x.scatter_forward()
        return self.last_solve

    # ---------------------------------------------------------------- outputs
    @functools.cached_property
    def W(self) -> dolfinx.fem.FunctionSpace:
        """Continuous vector space of the recovered velocity (built on first use: a steady solve alone
        does not need it)."""
        mesh = self.tmesh.mesh
        return dolfinx.fem.functionspace(mesh, ("Lagrange", self.degree, (mesh.geometry.dim,)))

    def velocity(self) -> dolfinx.fem.Function:
        """Darcy velocity recovered by L2 projection of -K grad p onto continuous vector fields [mm/s].

        The projection averages the element-wise gradients consistently (no noisy raw gradient); its
        scalar mass matrix and solver are built once (:class:`~oncotwin.problems.vector_projection.VectorProjection`).
        """
        if self._projection is None:
            self._projection = VectorProjection(self.W, self.V, self.physics.flux(self.p), self.dx,
                                                "fluid_projection_", "velocity")
        return self._projection.project("velocity recovery")

    def output_fields(self) -> list[dolfinx.fem.Function]:
        """Pressure [mmHg], velocity [um/s] and net source [1/s] of the current solution.

        The same Function objects are returned (and refreshed in place) on every call, so a field writer
        opened once follows re-solves (e.g. vascular normalisation).
        """
        if not hasattr(self, "_outputs"):
            self._outputs = (dolfinx.fem.Function(self.W, name="velocity_um_per_s"),
                             dolfinx.fem.Function(self.Q0, name="fluid_source_per_s"))
        velocity, source = self._outputs
        velocity.x.array[:] = UM_PER_MM * self.velocity().x.array
        source.x.array[:] = self.net_source().x.array
        self.p.name = "pressure_mmHg"
        return [self.p, velocity, source]

    def net_source(self) -> dolfinx.fem.Function:
        """Net fluid source per unit volume (vascular gain - lymphatic loss) as a DG0 field [1/s]."""
        # Cell averages: exact integrals of the source over each cell divided by its volume.
        if self._net_source is None:
            v = ufl.TestFunction(self.Q0)
            cellvol = ufl.CellVolume(self.tmesh.mesh)
            form = dolfinx.fem.form(self.physics.source(self.p) / cellvol * v * self.dx)
            self._net_source = (form, dolfinx.fem.petsc.create_vector(self.Q0))
        form, vec = self._net_source
        with vec.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(vec, form)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        f = dolfinx.fem.Function(self.Q0, name="fluid_source")
        vec.copy(f.x.petsc_vec)
        f.x.scatter_forward()
        return f

    def metrics(self) -> dict[str, float]:
        """IFP and rim-flow metrics of the current solution (same values on every rank)."""
        tm, comm, p, integral = self.tmesh, self.comm, self.p, self._integrals
        tumour = region_ids(tm, tm.tumour_regions)
        dxT = self.dx(tumour) if tumour else None
        volume = integral("volume", lambda: 1.0 * dxT)
        self._ifp_threshold.value = self.ifp_threshold
        rim = tm.boundaries.get("tumour_boundary")
        rim_area = integral("rim_interior", lambda: 1.0 * self.dS(rim)) + integral(
            "rim_exterior", lambda: region_indicator(tm, tm.tumour_regions) * self.ds(rim))
        # Conservative rim flux: by the divergence theorem, the outflow through the tumour boundary
        # equals the net fluid production inside the tumour, integrated exactly as the discrete
        # equations do (discrete mass balance), unlike a pointwise -K grad p . n at the rim.
        source = integral("source", lambda: self.physics.source(p) * self.dx_exchange(tumour)) if tumour else 0.0
        def above():
            return ufl.conditional(ufl.gt(p, self._ifp_threshold), 1.0, 0.0) * dxT

        return {
            "segmented_tumour_volume_mm3": volume,
            "ifp_max_tumour_mmHg": region_max(comm, p, tm, tumour),
            "ifp_mean_tumour_mmHg": integral("pressure", lambda: p * dxT) / volume,
            "ifp_fraction_above_threshold": integral("above", above) / volume,
            "ifp_threshold_mmHg": self.ifp_threshold,
            "rim_outward_velocity_mean_um_per_s": UM_PER_MM * source / rim_area if rim_area > 0 else math.nan,
            "tumour_net_fluid_source_mm3_per_s": source,
            "fluid_iterations": self.last_solve.iterations if self.last_solve else -1,
        }

    # ---------------------------------------------------------------- diagnostics
    def boundary_layers(self) -> list[BoundaryLayer]:
        """Width of the pressure layer (1/sqrt(a/K)) of every perfused region vs. the rim cell size."""
        tm = self.tmesh
        mesh = tm.mesh
        tdim = mesh.topology.dim
        rim = tm.boundaries.get("tumour_boundary")
        rim_cells = np.zeros(0, dtype=np.int32)
        if rim is not None:
            facets = tm.facet_tags.find(rim)
            f2c = mesh.topology.connectivity(tdim - 1, tdim)
            if facets.size:
                rim_cells = np.unique(np.concatenate([f2c.links(f) for f in facets])).astype(np.int32)
        num_owned = mesh.topology.index_map(tdim).size_local
        rim_cells = rim_cells[rim_cells < num_owned]
        local_h = float(mesh.h(tdim, rim_cells).max()) if rim_cells.size else 0.0
        h = self.comm.allreduce(local_h, op=MPI.MAX)
        tag_of_cell = np.zeros(mesh.topology.index_map(tdim).size_local
                               + mesh.topology.index_map(tdim).num_ghosts, dtype=np.int32)
        tag_of_cell[tm.cell_tags.indices] = tm.cell_tags.values
        at_rim = set().union(*self.comm.allgather(set(np.unique(tag_of_cell[rim_cells]).tolist())))
        layers = []
        for name, tag in tm.regions.items():  # both sides of the rim have a layer (host: lymphatics)
            t = self.tissue.get(name)
            if t is None or tag not in at_rim:
                continue
            a = t.vascular_filtration + t.lymphatic_filtration
            if a > 0:
                layers.append(BoundaryLayer(name, math.sqrt(t.hydraulic_conductivity / a), h))
        return layers

    def warn_unresolved_layers(self) -> list[BoundaryLayer]:
        """Log one warning listing every unresolved rim pressure layer; returns those layers."""
        bad = [layer for layer in self.boundary_layers() if not layer.resolved]
        if bad:
            widths = ", ".join(f"{layer.region} {layer.width_mm:.3g} mm" for layer in bad)
            finest = min(layer.width_mm for layer in bad)
            log.warning(
                "fluid: the IFP drop at the tumour rim is under-resolved: layer widths 1/sqrt((Lp S/V + LpL "
                "SL/V)/K) are %s, rim cells are up to %.3g mm; set mesh.size_rim <= %.2g mm with a "
                "mesh.rim_band of a few widths (or raise physics.fluid.degree) to resolve it",
                widths, bad[0].rim_cell_size_mm, 0.5 * finest)
        return bad
