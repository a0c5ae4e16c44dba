"""Tissue mechanics: displacement and stress caused by tumour growth (mass effect).

Small-strain linear elasticity with a growth eigenstrain ``beta N I`` (see
:mod:`oncotwin.physics.elasticity`), region-wise moduli, fixed displacement on named boundaries (the
skull or outer surface) and zero traction elsewhere. The operator does not depend on the cell density,
so the matrix and its algebraic-multigrid preconditioner (with the rigid-body near-null space) are built
once; each growth step re-assembles only the right-hand side and starts from the previous displacement.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.core.log import get_logger
from oncotwin.la.kept import kept_on, options_key
from oncotwin.la.nullspace import rigid_body_modes
from oncotwin.la.petsc import (
    ProjectedInitialGuess,
    SolveInfo,
    create_ksp,
    set_up,
    solve,
)
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.physics.elasticity import GrowthElasticity
from oncotwin.problems.regions import (
    Integrals,
    dg0_space,
    max_over,
    measures,
    region_coefficient,
    region_dofs,
    region_ids,
)

MECHANICS_PETSC_DEFAULTS = {
    "ksp_type": "cg",
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    # measured at nu = 0.49 (P2, 46k dofs): -1 / 0 / 0.01 / 0.05 -> 80 / 80 / 79 / 61 iterations, but
    # 0.05 doubles the set-up time (and the time per solve is unchanged); 0.01 costs nothing extra
    "pc_gamg_threshold": 0.01,
    # two aggressive (MIS-2) coarsenings instead of one: on the BraTS P1 operator (345k dofs) the set-up
    # drops from 16.8 s to 7.8 s, the CG iterations go from 33 to 35 (benchmarks in BENCHMARKS.md)
    "pc_gamg_aggressive_coarsening": 2,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
    # the solves start from the projection on earlier displacements; on BraTS (8 days, 5 solves) 1e-7
    # instead of 1e-8 takes 117 instead of 138 CG iterations and moves the displacement by 3.5e-7 relative
    # (BENCHMARKS.md, issue 21). 1e-6 (96 iterations) moved it by 3e-6, and serial and 2-rank runs (whose
    # preconditioners differ) then disagreed by 1.4e-6, more than the 1e-6 a run must reproduce
    "ksp_rtol": 1e-7,
    # an absolute floor on CG's preconditioned residual, which with multigrid is close to the l2 norm of the
    # displacement error over the dofs [mm]: 1e-12 mm is far below any displacement the model resolves. The
    # t = 0 load, beta (N - N0) with N0 the baseline, cancels to rounding (|b| 1.6e-13 against 110 a day
    # later on BraTS); a relative tolerance alone made CG iterate on that noise (26 iterations) and, on one
    # gmsh mesh of the 60-day case, break down with DIVERGED_INDEFINITE_PC (BENCHMARKS.md, issue 21)
    "ksp_atol": 1e-12,
    "ksp_max_it": 1000,
    "ksp_error_if_not_converged": False,
}

log = get_logger("mechanics")


@dataclass(frozen=True)
class MechanicsTissue:
    """Elastic parameters of one region (internal units).

    Attributes:
        young_modulus: Young's modulus E [mmHg].
        poisson_ratio: Poisson's ratio nu [-] (below 0.5; up to 0.49 with the default P2 displacement).
        growth_strain_coefficient: beta [-]: the isotropic growth eigenstrain is ``beta N`` with ``N`` the
            cell density as a fraction of the carrying capacity.
    """

    young_modulus: float
    poisson_ratio: float
    growth_strain_coefficient: float


class MechanicsProblem:
    """Linear elastic tissue deformed by a growth eigenstrain proportional to the cell density.

    Args:
        tmesh: distributed mesh with region and boundary tags (lengths in mm).
        tissue: elastic parameters per region name; every region of the mesh needs them.
        density: tumour cell density N (fraction of carrying capacity), a Function or any UFL expression
            (e.g. a DG0 indicator for a sharp verification); it is read at every :meth:`solve`.
        fixed_boundaries: names of the boundaries where the displacement is zero; the rest of the boundary
            is traction-free. At least one is needed (rigid motions are otherwise undetermined).
        degree: Lagrange degree of the displacement (2: free of volumetric locking up to nu = 0.49).
        petsc_options: overrides of the PETSc options (prefix ``mechanics_``).
        host_regions: region names over which ``host_displacement_max_mm`` is measured (the midline-shift
            proxy); empty: every region that is not a tumour region.
        body_force: optional body force [mmHg/mm] (verification with manufactured solutions).

    Raises:
        ValueError: no (or an unknown, or an empty) fixed boundary, a region without parameters, or a
            Poisson's ratio outside (-1, 0.5).
    """

    prefix = "mechanics_"

    def __init__(self, tmesh: TaggedMesh, tissue: dict[str, MechanicsTissue],
                 density: dolfinx.fem.Function | ufl.core.expr.Expr, fixed_boundaries: list[str] | tuple,
                 degree: int = 2, petsc_options: dict | None = None, host_regions: list[str] | tuple = (),
                 body_force: ufl.core.expr.Expr | None = None):
        self.tmesh = tmesh
        self.comm = tmesh.comm
        mesh = tmesh.mesh
        self.degree = degree
        self.tissue = tissue
        self.density = density
        self._check_tissue(tissue)
        self.Q0 = dg0_space(tmesh)
        self.dx, self.ds, _ = measures(tmesh)
        self.host_regions = tuple(host_regions) or tuple(
            r for r in tmesh.regions if r not in tmesh.tumour_regions)

        field = functools.partial(region_coefficient, self.Q0, tmesh, tissue)
        self.young = field(lambda t: t.young_modulus, "E")
        self.poisson = field(lambda t: t.poisson_ratio, "nu")
        self.growth_coefficient = field(lambda t: t.growth_strain_coefficient, "beta")
        self.physics = GrowthElasticity(self.young, self.poisson, self.growth_coefficient * density)
        # the matrix and its multigrid hierarchy (5 s of a BraTS regimen's set-up on one rank) depend on the
        # moduli, the fixed boundaries and the options only: the next problem on this mesh reuses them
        key = (degree, tuple(sorted((r, t.young_modulus, t.poisson_ratio) for r, t in tissue.items())),
               tuple(fixed_boundaries), options_key(petsc_options), tmesh.cell_tags, tmesh.facet_tags)
        self.V, self.bcs, self.A, self.near_nullspace, self.ksp = kept_on(
            mesh, "mechanics operator", key, lambda: self._operator(degree, fixed_boundaries, petsc_options))
        self.displacement = dolfinx.fem.Function(self.V, name="displacement_mm")
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self.L = dolfinx.fem.form(self.physics.forms(u, v, self.dx, body_force)[1])
        self.b = dolfinx.fem.petsc.create_vector(self.V)
        self.initial_guess = ProjectedInitialGuess(self.A)
        self.last_solve: SolveInfo | None = None
        self._von_mises = None
        self._vertex_projection = None
        self._integrals = Integrals(self.comm)
        self._p1 = None

    @functools.cached_property
    def a(self) -> dolfinx.fem.Form:
        """The compiled bilinear form (the matrix of :attr:`A` with its Dirichlet rows)."""
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        return dolfinx.fem.form(self.physics.forms(u, v, self.dx)[0])

    # ---------------------------------------------------------------- set-up
    def _operator(self, degree: int, fixed_boundaries, petsc_options: dict | None) -> tuple:
        """Space, Dirichlet conditions, matrix, near null space and solver (multigrid set up)."""
        mesh = self.tmesh.mesh
        V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (mesh.geometry.dim,)))
        bcs = self._fixed(V, fixed_boundaries)
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(self.physics.forms(u, v, self.dx)[0]), bcs=bcs)
        A.assemble()
        near_nullspace = rigid_body_modes(V)
        ksp = create_ksp(self.comm, A, self.prefix, MECHANICS_PETSC_DEFAULTS, petsc_options,
                         near_nullspace=near_nullspace)
        ksp.setInitialGuessNonzero(True)
        set_up(ksp)  # the multigrid hierarchy, once
        return V, bcs, A, near_nullspace, ksp

    def _check_tissue(self, tissue: dict[str, MechanicsTissue]) -> None:
        missing = [r for r in self.tmesh.regions if r not in tissue]
        if missing:
            raise ValueError(f"mechanics: no elastic parameters for region(s) {', '.join(missing)}")
        for name, t in tissue.items():
            if not -1.0 < t.poisson_ratio < 0.5:
                raise ValueError(f"mechanics: region '{name}': Poisson's ratio must be in (-1, 0.5), "
                                 f"got {t.poisson_ratio}")
            if not t.young_modulus > 0:
                raise ValueError(f"mechanics: region '{name}': Young's modulus must be positive, "
                                 f"got {t.young_modulus}")

    def _fixed(self, V: dolfinx.fem.FunctionSpace, names) -> list:
        if not names:
            raise ValueError("mechanics: no fixed (zero-displacement) boundary given; rigid motions would be "
                             "undetermined (name one, e.g. the outer/skull boundary)")
        unknown = [n for n in names if n not in self.tmesh.boundaries]
        if unknown:
            raise ValueError(f"mechanics: unknown boundary {', '.join(unknown)}; the mesh has "
                             f"{', '.join(self.tmesh.boundaries) or 'no tagged boundaries'}")
        fdim = self.tmesh.mesh.topology.dim - 1
        facets = np.unique(np.concatenate([self.tmesh.facet_tags.find(self.tmesh.boundaries[n]) for n in names]))
        dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facets.astype(np.int32))
        owned = V.dofmap.index_map.size_local
        if self.comm.allreduce(int(np.count_nonzero(dofs < owned)), op=MPI.SUM) == 0:
            raise ValueError(f"mechanics: the fixed boundaries {', '.join(names)} have no facets")
        zero = np.zeros(self.tmesh.mesh.geometry.dim, dtype=PETSc.ScalarType)
        return [dolfinx.fem.dirichletbc(zero, dofs, V)]

    # ---------------------------------------------------------------- solve
    def solve(self) -> SolveInfo:
        """Solve for the displacement with the current density (matrix and preconditioner reused).

        The initial guess is the energy-norm projection of the solution onto the earlier solutions
        (:class:`~oncotwin.la.petsc.ProjectedInitialGuess`). Raises :class:`~oncotwin.core.errors.SolverError` when
        the Krylov solver diverges.
        """
        with self.b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self.L)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self.b, self.bcs)  # homogeneous: no lifting needed
        x = self.displacement.x.petsc_vec
        if self.b.norm() == 0.0:  # no load: a relative tolerance cannot be met from a non-zero guess
            x.set(0.0)
            self.last_solve = SolveInfo(0, 0.0, "ZERO_RHS")
        else:
            self.initial_guess.guess(self.b, x)  # projection on earlier solutions (else: the previous one)
            self.last_solve = solve(self.ksp, self.b, x, "mechanics displacement")
            self.initial_guess.add(x)
            log.debug("mechanics: %d iterations, residual %.3e", self.last_solve.iterations,
                      self.last_solve.residual_norm)
        self.displacement.x.scatter_forward()
        return self.last_solve

    # ---------------------------------------------------------------- outputs
    def von_mises(self) -> dolfinx.fem.Function:
        """Von Mises stress of the current displacement per cell (DG0) [mmHg].

        The cell value is the stress at the cell midpoint (interpolation into DG0), not the cell mean; for
        a P2 displacement the stress is linear in each cell, so both coincide.
        """
        if self._von_mises is None:
            expr = dolfinx.fem.Expression(self.physics.von_mises(self.displacement),
                                          self.Q0.element.interpolation_points)
            self._von_mises = (expr, dolfinx.fem.Function(self.Q0, name="von_mises_mmHg"))
        expr, vm = self._von_mises
        vm.interpolate(expr)
        vm.x.scatter_forward()
        return vm

    def von_mises_at_vertices(self) -> dolfinx.fem.Function:
        """Von Mises stress as a continuous P1 field [mmHg] (coupling to stress-dependent diffusion).

        A lumped L2 projection of the DG0 cell values: the value at a vertex is the volume-weighted mean of
        the cell values around it, ``sum_K |K| s_K / sum_K |K|``. It is cheap (two vector assemblies; the
        lumped mass is assembled once) and stays within the range of the cell values (no overshoot).
        """
        vm = self.von_mises()
        if self._vertex_projection is None:
            P1 = dolfinx.fem.functionspace(self.tmesh.mesh, ("Lagrange", 1))
            q = ufl.TestFunction(P1)
            lumped = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(q * self.dx))
            lumped.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            form = dolfinx.fem.form(vm * q * self.dx)
            out = dolfinx.fem.Function(P1, name="von_mises_p1_mmHg")
            self._vertex_projection = (form, lumped, dolfinx.fem.petsc.create_vector(P1), out)
        form, lumped, rhs, out = self._vertex_projection
        with rhs.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(rhs, form)
        rhs.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        out.x.petsc_vec.pointwiseDivide(rhs, lumped)
        out.x.scatter_forward()
        return out

    def displacement_p1(self) -> dolfinx.fem.Function:
        """The displacement interpolated into vector P1 (vertex values) for output [mm]."""
        if self.degree == 1:
            return self.displacement
        if self._p1 is None:
            mesh = self.tmesh.mesh
            space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (mesh.geometry.dim,)))
            self._p1 = dolfinx.fem.Function(space, name="displacement_mm")
        self._p1.interpolate(self.displacement)
        self._p1.x.scatter_forward()
        return self._p1

    def output_fields(self) -> list[dolfinx.fem.Function]:
        """Displacement [mm] and von Mises stress (DG0) [mmHg] of the current solution."""
        return [self.displacement, self.von_mises()]

    def metrics(self) -> dict[str, float]:
        """Displacement, stress and volume metrics of the current solution (same values on every rank).

        Maxima of the displacement norm are over the owned nodes of the displacement space (vertices and,
        for P2, edge midpoints); ``host_displacement_max_mm`` is over the nodes of the cells of the host
        regions (the midline-shift proxy). Volume changes are the small-strain ``integral of div u``.
        """
        tm, comm, u = self.tmesh, self.comm, self.displacement
        gdim = tm.mesh.geometry.dim
        owned = self.V.dofmap.index_map.size_local
        norms = np.linalg.norm(u.x.array.reshape(-1, gdim)[:owned], axis=1)
        host_dofs = self._region_nodes(region_ids(tm, self.host_regions))
        vm = self.von_mises()
        num_cells = tm.mesh.topology.index_map(tm.mesh.topology.dim).size_local
        vm_owned = vm.x.array[self.Q0.dofmap.list[np.arange(num_cells), 0]]
        tumour = region_ids(tm, tm.tumour_regions)
        dxT = self.dx(tumour) if tumour else None
        integral = self._integrals
        tumour_volume = integral("tumour_volume", lambda: 1.0 * dxT) if tumour else 0.0
        tumour_change = integral("tumour_change", lambda: ufl.div(u) * dxT) if tumour else 0.0
        mean_vm = integral("von_mises", lambda: vm * dxT) / tumour_volume if tumour_volume > 0 else math.nan
        return {
            "displacement_max_mm": max(max_over(comm, norms), 0.0),
            "host_displacement_max_mm": max(max_over(comm, norms[host_dofs]), 0.0),
            "von_mises_max_mmHg": max(max_over(comm, vm_owned), 0.0),
            "von_mises_mean_tumour_mmHg": mean_vm,
            "tumour_volume_change_mm3": tumour_change,
            "tumour_volume_change_fraction": tumour_change / tumour_volume if tumour_volume > 0 else math.nan,
            "volume_change_mm3": integral("volume_change", lambda: ufl.div(u) * self.dx),
            "mechanics_iterations": self.last_solve.iterations if self.last_solve else -1,
        }

    def _region_nodes(self, tags) -> np.ndarray:
        """Owned nodes (block indices) of the displacement space on the cells of the given region tags."""
        nodes = region_dofs(self.V, self.tmesh, tags)
        return nodes[nodes < self.V.dofmap.index_map.size_local]
