"""The tumour growth problem: two clones and necrosis on P1, advanced by Strang splitting.

Each step is kinetics(dt/2) -> invasion(dt) -> kinetics(dt/2): the kinetics (proliferation, oxygen
dependence, necrosis, mutation) are integrated pointwise at the nodes, the invasion is one
backward-Euler diffusion solve per clone with a lumped mass matrix. The invasion stiffness is assembled
again only when the mechanical stress changes. With volume exclusion (the default of the case schema) the
step matrix follows the space dead cells leave free at every step (:mod:`oncotwin.la.exclusion`; a few
vector operations on the stiffness) and is not symmetric, so GMRES replaces CG. At patient mesh sizes it is
mass-dominated (``dt D / h^2`` small), so Jacobi converges in a handful of iterations; on fine meshes
(``dt D / h^2 > 2``) smoothed-aggregation multigrid takes over, whose iterations do not grow under
refinement.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.core.parallel import collective
from oncotwin.kinetics.response import CloneKinetics, move_to_doomed
from oncotwin.la.assembly import NativeMatrix
from oncotwin.la.exclusion import exclusion_step_matrix
from oncotwin.la.petsc import (
    SolveInfo,
    create_ksp,
    diffusion_number,
    preconditioner_defaults,
    solve,
)
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.physics.growth import CellInvasion
from oncotwin.problems.initial_cells import ImagingEdges, place_edges
from oncotwin.problems.level_sets import visible_volumes
from oncotwin.problems.regions import (
    dg0_space,
    measures,
    owned_cells,
    region_coefficient,
    typical_cell_size,
)
from oncotwin.problems.tissue_motion import TissueMotion

MOTION_GUESS_KEY = "motion_guess_basis"

GROWTH_PETSC_DEFAULTS = {
    "ksp_type": "cg",
    "pc_type": "jacobi",
    "ksp_rtol": 1e-10,
    "ksp_atol": 1e-30,
    "ksp_max_it": 2000,
}


@dataclass(frozen=True)
class GrowthTissue:
    """Growth parameters of one region (internal units).

    Attributes:
        diffusivity: invasion diffusivity D_0 [mm^2/s] (0: no invasion into or through the region).
        proliferation_scale: multiplies the clones' proliferation rates (0: cells cannot proliferate).
        initial_density: viable tumour cells at baseline [fraction of carrying capacity].
        initial_necrotic: dead cells at baseline [fraction of carrying capacity].
        initial_depth: depth [mm] below the region's surface over which the initial density rises from
            the detection threshold to ``initial_density`` (None: uniform).
        host: normal tissue around the lesion (its surface against the lesion is the lesion's outer edge).
    """

    diffusivity: float
    proliferation_scale: float = 1.0
    initial_density: float = 0.0
    initial_necrotic: float = 0.0
    initial_depth: float | None = None
    host: bool = False


@dataclass(frozen=True)
class GrowthStep:
    """What one growth step did."""

    kinetic_substeps: int
    iterations: int
    clipped: float
    motion_substeps: int = 0


class GrowthProblem:
    """Two-clone tumour growth with necrosis, oxygen-dependent proliferation and stress-slowed invasion.

    Args:
        tmesh: the tagged mesh.
        tissue: growth parameters per region name.
        kinetics: proliferation, mutation and necrosis rates.
        initial_resistant_fraction: resistant share of the initial viable cells.
        stress: von Mises stress [mmHg] as a P1 or DG0 function updated by the caller (None: uncoupled);
            call :meth:`stress_changed` after updating it.
        stress_coupling: gamma [1/mmHg] of D = D_0 exp(-gamma sigma_vm).
        detection_threshold: density above which tissue counts as (visible) tumour.
        carrying_capacity: cells per mm^3 at density 1 (for the cell count).
        petsc_options: overrides (prefix ``growth_``).
        tissue_motion: move the tissue with the net volume the kinetics produce or clear
            (:mod:`oncotwin.problems.tissue_motion`).
        motion_petsc_options: overrides of the tissue-pressure solver (prefix ``motion_``).
        edges: put the baseline's imaging edges on the region surfaces (None: region averages at the nodes).
        readouts: imaging readouts besides the total tumour: ``enhancing`` (viable and doomed cells at or
            above its threshold, necrosis excluded: T1c-like) and ``flair`` (all cells at or above its
            threshold: FLAIR/T2-like), name -> threshold.
        volume_exclusion: viable cells move only into the space doomed and necrotic cells leave free
            (:mod:`oncotwin.la.exclusion`); otherwise Fisher diffusion that ignores them.
    """

    prefix = "growth_"

    def __init__(self, tmesh: TaggedMesh, tissue: dict[str, GrowthTissue], kinetics: CloneKinetics,
                 initial_resistant_fraction: float = 0.0, stress: dolfinx.fem.Function | None = None,
                 stress_coupling: float = 0.0, detection_threshold: float = 0.2,
                 carrying_capacity: float = 1e6, petsc_options: dict | None = None, tissue_motion: bool = False,
                 motion_petsc_options: dict | None = None, edges: ImagingEdges | None = None,
                 readouts: dict[str, float] | None = None, volume_exclusion: bool = False):
        self.tmesh, self.comm = tmesh, tmesh.comm
        self.kinetics = kinetics
        self.detection_threshold = detection_threshold
        self.carrying_capacity = carrying_capacity
        mesh = tmesh.mesh
        self.V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
        self.dx, _, _ = measures(tmesh)
        self.dx_lumped = self.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
        self.n_owned = self.V.dofmap.index_map.size_local
        self.mass = self._lumped(ufl.TestFunction(self.V) * self.dx_lumped)

        q0 = dg0_space(tmesh)
        nodal = functools.partial(self._nodal, q0, tissue)
        self.proliferation_scale = nodal(lambda t: t.proliferation_scale)
        viable = nodal(lambda t: t.initial_density)
        necrotic = nodal(lambda t: t.initial_necrotic)
        present = [n for n in tissue if n in tmesh.regions]
        self._shares = {n: nodal(lambda s, n=n: float(s is tissue[n])) for n in present}
        if edges is not None:
            viable, necrotic = place_edges(viable, necrotic, self._shares, {
                n: (tissue[n].initial_density, tissue[n].initial_necrotic) for n in present},
                {n for n in present if tissue[n].host}, edges, self.V.tabulate_dof_coordinates())
        self.readouts = dict(readouts or {})
        for name, t in tissue.items():
            if t.initial_depth and name in tmesh.regions:
                viable = self._graded(viable, self._shares[name], t)
        self.initial_resistant_fraction = initial_resistant_fraction
        self.sensitive = self._function("sensitive_cells", (1.0 - initial_resistant_fraction) * viable)
        self.resistant = self._function("resistant_cells", initial_resistant_fraction * viable)
        self.doomed = self._function("doomed_cells", np.zeros_like(viable))
        self.necrotic = self._function("necrotic_cells", necrotic)
        self.viable = self._function("tumour_cells", viable)

        self.diffusivity = region_coefficient(q0, tmesh, tissue, lambda t: t.diffusivity, "D0")
        self.invasion = CellInvasion(self.diffusivity, stress,
                                     dolfinx.fem.Constant(mesh, PETSc.ScalarType(stress_coupling)))
        self.volume_exclusion = volume_exclusion
        self._old = dolfinx.fem.Function(self.V)
        n, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self.k = self.invasion.stiffness_form(n, v, self.dx)  # UFL: NativeMatrix assembles it on the broken space
        self.L = dolfinx.fem.form(self._old * v * self.dx_lumped)
        self._stiffness = NativeMatrix(self.k, assemble=False, space=self.V)
        self.K = self._stiffness.mat
        self.assemblies = 0
        self._assemble_stiffness()
        self.A = self.K.duplicate(copy=True)
        self.b = dolfinx.fem.petsc.create_vector(self.V)
        self._mass_vec = self.b.duplicate()
        self._mass_vec.array[:] = self.mass[:self.n_owned]
        self._free = self.b.duplicate() if volume_exclusion else None
        self._petsc_options = petsc_options
        # the exclusion operator is not symmetric
        self._defaults = {**GROWTH_PETSC_DEFAULTS, "ksp_type": "gmres"} if volume_exclusion else GROWTH_PETSC_DEFAULTS
        self._max_diffusivity = max([t.diffusivity for t in tissue.values()] + [0.0])
        self._cell_size = typical_cell_size(self.comm, mesh)
        self.ksp = self._create_ksp(self._defaults)
        self._multigrid = False
        self._assembled_dt: float | None = None

        self._po2 = dolfinx.fem.Function(self.V)
        self._volume_forms = self._level_set_volumes()
        self._cells, self._cell_volumes = owned_cells(self.V)
        self.motion = TissueMotion(self.V, self.mass, motion_petsc_options) if tissue_motion else None

    def share(self, regions: list[str]) -> np.ndarray:
        """Nodal share of ``regions`` (local, with ghosts): 1 inside, 0 outside, between on their surface."""
        return sum((self._shares[n] for n in regions if n in self._shares), np.zeros_like(self.mass))

    def interior_nodes(self, regions: list[str]) -> np.ndarray:
        """Nodes (local, with ghosts) whose every cell belongs to one of ``regions`` (off their surfaces)."""
        return self.share(regions) >= 1.0 - 1e-9

    def set_baseline_viable(self, density: np.ndarray, where: np.ndarray) -> None:
        """Replace the baseline viable density at the nodes ``where`` (e.g. from a cellularity map), split
        between the clones as at construction and capped by the room the necrotic cells leave."""
        density = np.minimum(density[where], 1.0 - self.necrotic.x.array[where])
        self.sensitive.x.array[where] = (1.0 - self.initial_resistant_fraction) * density
        self.resistant.x.array[where] = self.initial_resistant_fraction * density
        self._update_viable()

    def set_baseline(self, viable: np.ndarray, necrotic: np.ndarray) -> None:
        """Replace the baseline viable and necrotic densities at every node (local, with ghosts; e.g. a
        travelling-wave profile), the viable cells split between the clones as at construction."""
        self.necrotic.x.array[:] = necrotic
        self.set_baseline_viable(viable, np.ones_like(viable, dtype=bool))

    # ------------------------------------------------------------------ helpers
    def _nodal(self, space: dolfinx.fem.FunctionSpace, tissue: dict[str, GrowthTissue], value) -> np.ndarray:
        """Region values averaged to the nodes with the lumped mass (exact where a region is uniform)."""
        cellwise = region_coefficient(space, self.tmesh, tissue, value)
        return self._lumped(cellwise * ufl.TestFunction(self.V) * self.dx_lumped) / self.mass

    def _function(self, name: str, values: np.ndarray) -> dolfinx.fem.Function:
        f = dolfinx.fem.Function(self.V, name=name)
        f.x.array[:] = values
        return f

    def _graded(self, viable: np.ndarray, share: np.ndarray, tissue: GrowthTissue) -> np.ndarray:
        """Initial density rising with depth below the surface of a region (``share``: its nodal share).

        Surface nodes (touching the region and another) take the detection threshold, so the segmented
        surface is the visible edge; inside, the density rises linearly to the region's value at
        ``initial_depth``.
        """
        from scipy.spatial import cKDTree

        x = self.V.tabulate_dof_coordinates()
        eps = 1e-9
        surface = (share > eps) & (share < 1 - eps)
        inside = share >= 1 - eps
        points = np.concatenate(self.comm.allgather(x[:self.n_owned][surface[:self.n_owned]]))
        out = viable.copy()
        if len(points) == 0:
            return out
        depth, _ = cKDTree(points).query(x[inside])
        top, edge = tissue.initial_density, min(self.detection_threshold, tissue.initial_density)
        out[inside] = edge + (top - edge) * np.clip(depth / tissue.initial_depth, 0.0, 1.0)
        out[surface] = edge
        return out

    def _lumped(self, form) -> np.ndarray:
        """Assemble a P1 vector and return its local values including ghosts (summed over ranks)."""
        vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(form))
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        return vec.array.copy()

    def _sum(self, values: np.ndarray) -> float:
        """Lumped integral of nodal values (owned nodes, summed over ranks)."""
        n = self.n_owned
        return self.comm.allreduce(float(np.dot(self.mass[:n], values[:n])), op=MPI.SUM)

    def _level_set_volumes(self) -> dict[str, dolfinx.fem.Form]:
        """The hypoxic volume's form (viable tumour at or above the detection threshold where pO2 is below
        the hypoxic threshold; an intersection of two level sets, by quadrature)."""
        theta = dolfinx.fem.Constant(self.tmesh.mesh, PETSc.ScalarType(self.detection_threshold))
        self._hypoxic_threshold = dolfinx.fem.Constant(self.tmesh.mesh, PETSc.ScalarType(10.0))
        viable = self.sensitive + self.resistant
        hypoxic = (ufl.conditional(ufl.ge(viable, theta), 1.0, 0.0)
                   * ufl.conditional(ufl.lt(self._po2, self._hypoxic_threshold), 1.0, 0.0))
        return {"hypoxic_volume_mm3": dolfinx.fem.form(hypoxic * self.dx(metadata={"quadrature_degree": 4}))}

    def readout_volumes(self) -> dict[str, float]:
        """Volumes [mm^3] of the level sets the readouts see, exact for the log-linear reconstruction between the
        nodes (:mod:`oncotwin.problems.level_sets`): the total tumour (all cells at or above the detection
        threshold), viable and necrotic cells at or above it, and every readout of the case at its threshold."""
        theta = self.detection_threshold
        viable = self.sensitive.x.array + self.resistant.x.array
        fields = {"tumour_volume_mm3": (self.occupied(), theta), "viable_volume_mm3": (viable, theta),
                  "necrotic_volume_mm3": (self.necrotic.x.array, theta)}
        fields.update({f"{name}_volume_mm3": (self.seen(name), level) for name, level in self.readouts.items()})
        local = visible_volumes(self._cells, self._cell_volumes, list(fields.values()))
        return dict(zip(fields, self.comm.allreduce(local, op=MPI.SUM).tolist(), strict=True))

    def _volume(self, name: str) -> float:
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(self._volume_forms[name]), op=MPI.SUM)

    def stress_changed(self) -> None:
        """The stress field was updated: reassemble the invasion stiffness at the next step."""
        self._stiffness_current = False

    def _assemble_stiffness(self) -> None:
        self._stiffness.assemble()
        self._stiffness_current = True
        self.assemblies += 1

    def _assemble(self, dt: float) -> None:
        """The step matrix ``M + dt A`` (:func:`oncotwin.la.exclusion.exclusion_step_matrix`).

        The finite-element stiffness is assembled only when the stress changed; with volume exclusion the
        step matrix follows the free space at every step (a few vector operations on the stiffness)."""
        if not self._stiffness_current:
            self._assemble_stiffness()
            self._assembled_dt = None
        if self._free is not None:
            n = self.n_owned
            occupied = self.doomed.x.array[:n] + self.necrotic.x.array[:n]
            self._free.array[:] = np.clip(1.0 - occupied, 0.0, 1.0)
        elif self._assembled_dt == dt:
            return
        exclusion_step_matrix(self.K, self._mass_vec, self._free, dt, self.A)
        number = diffusion_number(dt, self._max_diffusivity, self._cell_size)
        defaults = preconditioner_defaults(self._defaults, number, self._petsc_options)
        if (defaults is not self._defaults) != self._multigrid:  # the step size crossed the threshold
            self.ksp.destroy()
            self.ksp = self._create_ksp(defaults)
            self._multigrid = not self._multigrid
        self.ksp.setOperators(self.A)
        self._assembled_dt = dt

    def _create_ksp(self, defaults: dict) -> PETSc.KSP:
        """The invasion solver. It starts from the density before the step: a backward-Euler step of a
        mass-dominated operator changes it by ``dt K u``, so the first residual is that much smaller than
        the right-hand side ``M u`` and fewer iterations reach the same relative tolerance."""
        ksp = create_ksp(self.comm, self.A, self.prefix, defaults, self._petsc_options)
        ksp.setInitialGuessNonzero(True)
        return ksp

    # ------------------------------------------------------------------ stepping
    def _kinetics(self, dt: float, po2: np.ndarray | None) -> int:
        arrays = (self.sensitive.x.array, self.resistant.x.array, self.doomed.x.array, self.necrotic.x.array)
        # collective: a rank with a stiffer region must not raise alone while the others enter the solve
        return collective(self.comm, self.kinetics.advance, *arrays, dt, scale=self.proliferation_scale, po2=po2)

    def _invade(self, f: dolfinx.fem.Function) -> tuple[SolveInfo, float]:
        self._old.x.array[:] = f.x.array
        with self.b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self.L)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        info = solve(self.ksp, self.b, f.x.petsc_vec, f"growth ({f.name})")
        f.x.scatter_forward()
        # an M-matrix keeps densities >= 0; obtuse cells of real meshes may not: clip and report the amount
        negative = np.minimum(f.x.array, 0.0)
        clipped = -self._sum(negative)
        np.maximum(f.x.array, 0.0, out=f.x.array)
        return info, clipped

    def step(self, dt: float, po2: np.ndarray | None = None) -> GrowthStep:
        """Advance by ``dt`` [s] with the oxygen field ``po2`` (nodal values, mmHg; None: normoxia).

        Kinetics(dt/2), invasion(dt), kinetics(dt/2), then the tissue moves by the volume the two
        kinetic half-steps produced (net of clearance).
        """
        produced = -self.occupied()
        sub = self._kinetics(0.5 * dt, po2)
        produced += self.occupied()
        self._assemble(dt)
        iterations, clipped = 0, 0.0
        for f in (self.sensitive, self.resistant):
            info, lost = self._invade(f)
            iterations += info.iterations
            clipped += lost
        produced -= self.occupied()
        sub += self._kinetics(0.5 * dt, po2)
        produced += self.occupied()
        moved = 0
        if self.motion is not None:
            self.motion.solve_velocity(produced / dt)
            moved = self.motion.advect(list(self._evolving()), dt).substeps
        self._update_viable()
        return GrowthStep(sub, iterations, clipped, moved)

    def apply_survival(self, sensitive: np.ndarray | float, resistant: np.ndarray | float | None = None) -> None:
        """Multiply the clones by surviving fractions (treatment); killed cells become doomed, which keep
        occupying space until the kinetics clear them."""
        move_to_doomed(self.sensitive.x.array, self.resistant.x.array, self.doomed.x.array, sensitive, resistant)
        self._update_viable()

    def _evolving(self) -> tuple[dolfinx.fem.Function, ...]:
        return self.sensitive, self.resistant, self.doomed, self.necrotic

    def _update_viable(self) -> None:
        self.viable.x.array[:] = self.sensitive.x.array + self.resistant.x.array

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, np.ndarray]:
        """Local arrays of the evolving fields and the tissue-pressure guesses (for checkpoints)."""
        out = {f.name: f.x.array.copy() for f in self._evolving()}
        if self.motion is not None:  # a resumed run must make the same guesses as the uninterrupted one
            out[MOTION_GUESS_KEY] = self.motion.initial_guess.state()
        return out

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Set the fields from :meth:`state` of the same mesh partition."""
        for f in self._evolving():
            f.x.array[:] = state.get(f.name, 0.0)  # no doomed cells in checkpoints of earlier versions
        if self.motion is not None and MOTION_GUESS_KEY in state:  # absent in checkpoints of earlier versions
            self.motion.initial_guess.restore(state[MOTION_GUESS_KEY])
        self._update_viable()

    # ------------------------------------------------------------------ outputs
    def output_fields(self) -> list[dolfinx.fem.Function]:
        """Viable, resistant, doomed and necrotic densities."""
        return [self.viable, self.resistant, self.doomed, self.necrotic]

    def tumour_mask(self) -> np.ndarray:
        """Nodes that count as tumour: all cells (viable, doomed, necrotic) at or above the detection threshold."""
        return self.occupied() >= self.detection_threshold

    def seen(self, readout: str) -> np.ndarray:
        """Nodal density an imaging readout thresholds: ``enhancing`` sees viable and doomed cells (necrosis
        excluded), ``flair`` and ``total`` see everything the tumour occupies."""
        if readout == "enhancing":
            return self.sensitive.x.array + self.resistant.x.array + self.doomed.x.array
        return self.occupied()

    def occupied(self) -> np.ndarray:
        """Nodal density of everything the tumour occupies: viable, doomed and necrotic cells."""
        return self.sensitive.x.array + self.resistant.x.array + self.doomed.x.array + self.necrotic.x.array

    def metrics(self, po2: np.ndarray | None = None, hypoxic_threshold: float = 10.0) -> dict[str, float]:
        """Volumes above the detection threshold, cell counts and fractions of the current state.

        Args:
            po2: nodal oxygen [mmHg] for the hypoxic volume (viable tumour below ``hypoxic_threshold``).
            hypoxic_threshold: [mmHg].
        """
        cells = self._sum(self.viable.x.array)  # lumped sums of P1 nodal values are exact integrals
        out = self.readout_volumes()
        out["doomed_cells"] = self._sum(self.doomed.x.array) * self.carrying_capacity
        out["tumour_cells"] = cells * self.carrying_capacity
        out["resistant_fraction"] = self._sum(self.resistant.x.array) / cells if cells > 0 else 0.0
        if po2 is not None:
            self._po2.x.array[:] = po2
            self._hypoxic_threshold.value = hypoxic_threshold
            hypoxic = self._volume("hypoxic_volume_mm3")
            out["hypoxic_volume_mm3"] = hypoxic
            out["hypoxic_fraction"] = hypoxic / out["viable_volume_mm3"] if out["viable_volume_mm3"] > 0 else 0.0
        return out
