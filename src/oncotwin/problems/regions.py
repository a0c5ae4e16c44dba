"""Region-wise (cell-wise constant) coefficients and region measures on a tagged mesh."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.mesh.distribute import TaggedMesh

_DG0_ATTR = "_oncotwin_dg0"
_REGION_DOFS_ATTR = "_oncotwin_region_dofs"


def dg0_space(tmesh: TaggedMesh) -> dolfinx.fem.FunctionSpace:
    """Cell-wise constant scalar space, one per mesh (cached on the mesh: every problem of a run has its
    region coefficients in it, and a space on a 1M-vertex mesh costs 0.16 s to build)."""
    mesh = tmesh.mesh
    space = mesh.__dict__.get(_DG0_ATTR)
    if space is None:
        space = mesh.__dict__[_DG0_ATTR] = dolfinx.fem.functionspace(mesh, ("DG", 0))
    return space


def _region_dofs(space: dolfinx.fem.FunctionSpace, tmesh: TaggedMesh) -> dict[int, np.ndarray]:
    """The DG0 dofs of the cells of each region tag (owned and ghost), computed once per space and
    cell-tag object (a problem sets several coefficients on the same regions)."""
    cached = space.__dict__.get(_REGION_DOFS_ATTR)
    if cached is not None and cached[0] is tmesh.cell_tags:
        return cached[1]
    tags = tmesh.cell_tags
    order = np.argsort(tags.values, kind="stable")
    keys, starts = np.unique(tags.values[order], return_index=True)
    cells = np.split(tags.indices[order], starts[1:])
    dofs = space.dofmap.list[:, 0]
    by_tag = {int(k): dofs[c] for k, c in zip(keys, cells, strict=True)}
    space.__dict__[_REGION_DOFS_ATTR] = (tags, by_tag)
    return by_tag


def region_field(space: dolfinx.fem.FunctionSpace, tmesh: TaggedMesh, values: dict[int, float],
                 name: str = "f") -> dolfinx.fem.Function:
    """A DG0 function with ``values[tag]`` on the cells of each region tag."""
    f = dolfinx.fem.Function(space, name=name)
    set_region_values(f, tmesh, values)
    return f


def region_coefficient[Tissue](space: dolfinx.fem.FunctionSpace, tmesh: TaggedMesh, tissue: Mapping[str, Tissue],
                               value: Callable[[Tissue], float], name: str = "f") -> dolfinx.fem.Function:
    """A DG0 coefficient with ``value(tissue[r])`` on the cells of every region ``r`` of the mesh.

    Args:
        space: the DG0 space of the coefficient.
        tmesh: the tagged mesh.
        tissue: parameters per region name (regions absent from the mesh are skipped).
        value: the parameter of one region's tissue.
        name: name of the function (in output files).
    """
    tags = tmesh.regions
    return region_field(space, tmesh, {tags[r]: value(t) for r, t in tissue.items() if r in tags}, name)


def set_region_values(f: dolfinx.fem.Function, tmesh: TaggedMesh, values: dict[int, float]) -> None:
    """Assign region-wise values to a DG0 function (owned and ghost cells)."""
    dofs = _region_dofs(f.function_space, tmesh)
    empty = np.zeros(0, dtype=np.int32)
    for tag, value in values.items():
        f.x.array[dofs.get(tag, empty)] = value
    f.x.scatter_forward()


def region_indicator(tmesh: TaggedMesh, names: list[str] | tuple[str, ...]) -> dolfinx.fem.Function:
    """DG0 indicator (1 inside the named regions, 0 elsewhere)."""
    space = dg0_space(tmesh)
    return region_field(space, tmesh, {tmesh.regions[n]: 1.0 for n in names if n in tmesh.regions},
                        name="indicator")


def measures(tmesh: TaggedMesh) -> tuple[ufl.Measure, ufl.Measure, ufl.Measure]:
    """Cell, exterior-facet and interior-facet measures with the mesh tags as subdomain data."""
    mesh = tmesh.mesh
    dx = ufl.Measure("dx", domain=mesh, subdomain_data=tmesh.cell_tags)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=tmesh.facet_tags)
    dS = ufl.Measure("dS", domain=mesh, subdomain_data=tmesh.facet_tags)
    return dx, ds, dS


def region_ids(tmesh: TaggedMesh, names) -> tuple[int, ...]:
    """Tags of the named regions present in the mesh."""
    return tuple(tmesh.regions[n] for n in names if n in tmesh.regions)


def integrate(comm, form) -> float:
    """Assemble a scalar form and sum over ranks."""
    return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)), op=MPI.SUM)


class Integrals:
    """Scalar integrals compiled once per problem and reassembled at every call (summed over ranks).

    Compiling a form (UFL signature, JIT cache look-up, integration entities of its subdomains) costs
    more than assembling it on the meshes of a run, and metrics are evaluated at every output; so each
    integrand is built and compiled at its first use under a key and reused. The integrand must refer
    only to the problem's persistent Functions and Constants (values that change are set in place).
    """

    def __init__(self, comm):
        self.comm = comm
        self._forms: dict[str, dolfinx.fem.Form] = {}

    def __call__(self, key: str, integrand: Callable[[], ufl.Form]) -> float:
        """The integral of ``integrand()`` (built only at the first call with this key)."""
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = dolfinx.fem.form(integrand())
        return self.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def typical_cell_size(comm, mesh: dolfinx.mesh.Mesh) -> float:
    """Edge of the regular tetrahedron of the mean cell volume [mesh units] (same value on every rank).

    Problems compute it once (the preconditioner switch of :func:`oncotwin.la.petsc.preconditioner_defaults`
    needs it for every new step size).
    """
    cells = comm.allreduce(mesh.topology.index_map(mesh.topology.dim).size_local, op=MPI.SUM)
    return float((6.0 * np.sqrt(2.0) * mesh_volume(comm, mesh) / max(cells, 1)) ** (1.0 / 3.0))


def mesh_volume(comm, mesh: dolfinx.mesh.Mesh) -> float:
    """Volume of the mesh (same value on every rank).

    On a straight-sided mesh whose facet-to-cell connectivity exists (tagged meshes have it) this is the
    boundary integral of ``x . n / d`` (divergence theorem, exact for polyhedra): on a 6M-cell
    box its 120k boundary facets cost 1% of an assembly over the cells. Otherwise the cell integral.
    """
    tdim = mesh.topology.dim
    facet_cells = mesh.topology._cpp_object.connectivity(tdim - 1, tdim)  # None when not computed
    if mesh.geometry.cmaps[0].degree == 1 and mesh.geometry.dim == tdim and facet_cells is not None:
        x, n = ufl.SpatialCoordinate(mesh), ufl.FacetNormal(mesh)
        return integrate(comm, ufl.dot(x, n) / tdim * ufl.ds(domain=mesh))
    return cell_volume(comm, mesh)


def cell_volume(comm, mesh: dolfinx.mesh.Mesh) -> float:
    """Volume of the mesh as the integral over its cells (same value on every rank)."""
    one = dolfinx.fem.Constant(mesh, np.float64(1.0))
    return integrate(comm, one * ufl.dx(domain=mesh))


def max_over(comm, values: np.ndarray) -> float:
    """Global maximum of a local array (-inf when empty everywhere)."""
    local = float(values.max()) if values.size else -np.inf
    return comm.allreduce(local, op=MPI.MAX)


def region_dofs(V: dolfinx.fem.FunctionSpace, tmesh: TaggedMesh, tags) -> np.ndarray:
    """Local dofs (blocks) of ``V`` on the cells of the given region tags, found once per space and tags
    (the tags are fixed; metrics ask at every output)."""
    cache = V.__dict__.setdefault("_oncotwin_region_dofs", {})
    key = (id(tmesh.cell_tags), tuple(sorted(tags)))
    if key not in cache:
        cells = [tmesh.cell_tags.find(t) for t in tags]
        cells = np.concatenate(cells) if cells else np.zeros(0, np.int32)
        cache[key] = np.unique(V.dofmap.list[cells].ravel())
    return cache[key]


def region_max(comm, f: dolfinx.fem.Function, tmesh: TaggedMesh, tags) -> float:
    """Max of a Lagrange function over the dofs of the cells of the given region tags."""
    return max_over(comm, f.x.array[region_dofs(f.function_space, tmesh, tags)])


class TumourBlend:
    """Region-wise DG0 coefficients that follow the tumour as it invades other regions.

    Each registered field keeps its region values ``base`` and moves, cell by cell, towards the value of
    the viable tumour region in proportion to the local tumour fraction ``chi`` in [0, 1]:
    ``f = base + chi (tumour - base)`` (e.g. tumour vasculature and perfusion where the tumour grows).
    """

    def __init__(self):
        self._fields: list[tuple[dolfinx.fem.Function, float, np.ndarray]] = []

    def add(self, field: dolfinx.fem.Function, tumour_value: float) -> None:
        """Register a DG0 field with the value it takes inside the tumour."""
        self._fields.append((field, float(tumour_value), field.x.array.copy()))

    def apply(self, chi: np.ndarray) -> None:
        """Blend every field with the cell-wise tumour fraction ``chi`` (local cells incl. ghosts)."""
        for field, tumour, base in self._fields:
            dofs = field.function_space.dofmap.list[:, 0]
            field.x.array[dofs] = base[dofs] + chi * (tumour - base[dofs])
            field.x.scatter_forward()


def owned_cells(V) -> tuple[np.ndarray, np.ndarray]:
    """Nodal indices (local, with ghosts) and volumes [mm^3] of the owned tetrahedra of a P1 space."""
    n = V.mesh.topology.index_map(V.mesh.topology.dim).size_local
    cells = np.asarray(V.dofmap.list[:n])
    x = V.tabulate_dof_coordinates()[cells]
    edges = x[:, 1:] - x[:, :1]
    return cells, np.abs(np.linalg.det(edges)) / 6.0
