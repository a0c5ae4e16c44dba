"""Read a tagged gmsh mesh on rank 0 and distribute it, with its tags, to every rank."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gmsh

from oncotwin.case.schema import Case
from oncotwin.core.errors import InputDataError
from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.core.parallel import on_root
from oncotwin.mesh.generate import build_model
from oncotwin.mesh.gmsh_session import gmsh_session
from oncotwin.mesh.job import mesh_job


@dataclass(frozen=True)
class TaggedMesh:
    """A distributed mesh with its region (cell) and boundary (facet) tags and their names."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    regions: dict[str, int]
    boundaries: dict[str, int]
    tumour_regions: tuple[str, ...]

    @property
    def comm(self) -> MPI.Comm:
        """The mesh communicator."""
        return self.mesh.comm


def from_mesh_data(data: dolfinx.io.gmsh.MeshData, tumour_regions: list[str]) -> TaggedMesh:
    """Wrap DOLFINx's gmsh ``MeshData``: names come from the physical groups."""
    tdim = data.mesh.topology.dim
    regions = {n: g.tag for n, g in data.physical_groups.items() if g.dim == tdim}
    boundaries = {n: g.tag for n, g in data.physical_groups.items() if g.dim == tdim - 1}
    data.mesh.topology.create_connectivity(tdim - 1, tdim)
    return TaggedMesh(data.mesh, data.cell_tags, data.facet_tags, regions, boundaries, tuple(tumour_regions))


def mesh_in_memory(comm: MPI.Comm, case: Case, progress=lambda _: None) -> TaggedMesh:
    """Mesh ``case`` with gmsh on rank 0 and distribute it without writing files (tests, benchmarks)."""
    job = mesh_job(case)
    return _distribute(comm, job.name, build_model, (job, progress), list(job.regions.tumour))


def _partitioner():
    # interior-facet integrals (tumour-rim fluxes) need the facet's two cells on one rank
    return dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)


def _distribute(comm: MPI.Comm, name: str, fill, args: tuple, tumour_regions) -> TaggedMesh:
    """Fill a gmsh model on rank 0 with ``fill(*args)`` and distribute it (errors reach every rank)."""
    if comm.rank != 0:
        on_root(comm, lambda: None)  # receive rank 0's success or error
        data = dolfinx.io.gmsh.model_to_mesh(None, comm, 0, gdim=3, partitioner=_partitioner())
        return from_mesh_data(data, tumour_regions)
    with gmsh_session(name, verbosity=0):
        on_root(comm, fill, *args)
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, 0, gdim=3, partitioner=_partitioner())
    return from_mesh_data(data, tumour_regions)


def read_tagged_mesh(comm: MPI.Comm, folder: Path) -> TaggedMesh:
    """Read ``folder/mesh.msh`` (and ``regions.json``) on rank 0 and distribute it over ``comm``."""
    folder = Path(folder)

    def read_table() -> dict:
        path = folder / "regions.json"
        if not (folder / "mesh.msh").is_file() or not path.is_file():
            raise InputDataError(f"{folder}: not a mesh folder (mesh.msh and regions.json expected)")
        return json.loads(path.read_text())

    table = on_root(comm, read_table)
    return _distribute(comm, "mesh", lambda: gmsh.open(str(folder / "mesh.msh")), (), table["tumour_regions"])


class DistributedMeshes:
    """The meshes one communicator has read, kept for its next runs (the jobs of an MPI group).

    A comparison or a forecast runs many cases of one patient one after the other on each group; reading
    and distributing the mesh once per group instead of once per run saves its distribution (4.5 s of a
    BraTS regimen on one rank) and keeps what later problems cache on the mesh (sparsity patterns, broken
    assembly positions, region dofs). A mesh is read again when its file changed.
    """

    def __init__(self):
        self._meshes: dict[Path, tuple[int, MPI.Comm, TaggedMesh]] = {}

    def read(self, comm: MPI.Comm, folder: Path) -> TaggedMesh:
        """:func:`read_tagged_mesh` of ``folder`` over ``comm``, or the mesh read earlier by the same ``comm``."""
        folder = Path(folder).resolve()
        stamp = comm.bcast(_stamp(folder) if comm.rank == 0 else None, root=0)
        kept = self._meshes.get(folder)
        if kept is not None and kept[0] == stamp and kept[1] is comm:
            return kept[2]
        tmesh = read_tagged_mesh(comm, folder)
        self._meshes[folder] = (stamp, comm, tmesh)
        return tmesh


def _stamp(folder: Path) -> int:
    try:
        return (folder / "mesh.msh").stat().st_mtime_ns
    except OSError:
        return -1  # read_tagged_mesh reports the missing file


def distribute_model(comm: MPI.Comm, name: str, fill, args: tuple, tumour_regions: list[str]) -> TaggedMesh:
    """Fill a gmsh model on rank 0 with ``fill(*args)`` (physical groups named) and distribute it.

    For verification geometries that no case describes (e.g. a hollow ball); errors reach every rank.
    """
    return _distribute(comm, name, fill, args, tumour_regions)
