"""Partition-independent names of the local arrays of a run, so a checkpoint written on N ranks resumes on M.

A run's state is a dict of NumPy arrays (see ``TumourModel.state`` and ``DrugDelivery.state``). Each
array is classified by its shape against the *layouts* of the mesh: the degrees of freedom of a P1 or
P2 Lagrange space (scalar or vector) and the mesh cells (cell-wise arrays, and DG0 functions, whose
dofs are the cells in DOLFINx). Every entry of a layout gets a key that does not depend on the
partition, taken from the input mesh file (the run re-reads the same ``mesh.msh`` on any rank count):

* a vertex dof: ``(input node index, -1)``;
* an edge dof (P2): the two input node indices of the edge, sorted;
* a cell: ``(original cell index, -1)``.

This is the scheme of adios4dolfinx's "original checkpoint" (``write_function_on_input_mesh``:
values addressed through the input mesh's numbering), done with NumPy because adios4dolfinx needs an
MPI-enabled ADIOS2, which PyPI does not provide (its ``adios2`` wheels are serial).

Classification (collective, the same on every rank):

* ``field``: a 1D array of the local length (owned + ghost entries, times the block size) of exactly
  one layout on every rank;
* ``rows``: a 2D array whose rows have the owned length of exactly one layout (PETSc vectors, e.g. the
  projected CG initial-guess basis: the values of a dof do not depend on the partition);
* ``global``: equal on every rank (scalars, counters);
* ``local``: anything else (partition-bound: a checkpoint holding one resumes on the same rank count only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import basix
import numpy as np

from oncotwin.core.fenics import MPI, dolfinx

KINDS = ("field", "rows", "global", "local")


@dataclass(frozen=True)
class Layout:
    """Keys of the local entries (owned first, then ghosts) of a space or of the cells.

    Attributes:
        name: ``P1``, ``P2x3`` (degree and block size) or ``cells``.
        keys: int64 keys, one per local entry (owned then ghost), see :func:`combine`.
        owned: number of owned entries.
        bs: block size (values per entry).
    """

    name: str
    keys: np.ndarray
    owned: int
    bs: int

    @property
    def local_length(self) -> int:
        """Length of a local array (owned + ghost entries, times the block size)."""
        return len(self.keys) * self.bs

    @property
    def owned_length(self) -> int:
        """Length of the owned part (a PETSc vector's local size)."""
        return self.owned * self.bs


def combine(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One int64 per key pair (``first`` < 2**31, ``second`` >= -1)."""
    return (np.asarray(first, dtype=np.int64) << 32) | (np.asarray(second, dtype=np.int64) + 1)


def cell_layout(mesh) -> Layout:
    """The mesh cells (local and ghost) by their index in the input mesh."""
    imap = mesh.topology.index_map(mesh.topology.dim)
    original = np.asarray(mesh.topology.original_cell_index, dtype=np.int64)
    n = imap.size_local + imap.num_ghosts
    return Layout("cells", combine(original[:n], np.full(n, -1)), imap.size_local, 1)


def space_layout(V) -> Layout | None:
    """The dofs of a continuous Lagrange space of degree 1 or 2 on linear tetrahedra (else None)."""
    element = V.ufl_element()
    mesh = V.mesh
    if (element.family_name not in ("P", "Lagrange") or element.discontinuous
            or element.embedded_superdegree not in (1, 2) or mesh.topology.dim != 3
            or mesh.geometry.dofmaps[0].shape[1] != 4):
        return None
    geometry = mesh.geometry.dofmaps[0]
    nodes = np.asarray(mesh.geometry.input_global_indices, dtype=np.int64)[geometry]  # (cells, 4)
    cells = V.dofmap.list
    imap = V.dofmap.index_map
    keys = np.full(imap.size_local + imap.num_ghosts, -1, dtype=np.int64)
    layout = V.dofmap.dof_layout
    for vertex in range(4):
        for position in layout.entity_dofs(0, vertex):
            keys[cells[:, position]] = combine(nodes[:, vertex], np.full(len(cells), -1))
    for edge, (a, b) in enumerate(basix.topology(basix.CellType.tetrahedron)[1]):
        for position in layout.entity_dofs(1, edge):
            pair = np.sort(nodes[:, [a, b]], axis=1)
            keys[cells[:, position]] = combine(pair[:, 0], pair[:, 1])
    if any(layout.entity_dofs(d, 0) for d in (2, 3)) or np.any(keys < 0):
        return None
    bs = V.dofmap.index_map_bs
    return Layout(f"P{element.embedded_superdegree}x{bs}", keys, imap.size_local, bs)


def layouts(mesh, functions) -> dict[str, Layout]:
    """The cells, P1 and the layouts of the spaces of ``functions`` (one per element), by name."""
    found = {"cells": cell_layout(mesh)}
    spaces = [dolfinx.fem.functionspace(mesh, ("Lagrange", 1))] + [f.function_space for f in functions]
    for V in spaces:
        element = V.ufl_element()
        if element.embedded_superdegree not in (1, 2):
            continue
        layout = space_layout(V)
        if layout is not None and layout.name not in found:
            found[layout.name] = layout
    return found


def classify(comm: MPI.Comm, arrays: dict[str, np.ndarray], found: dict[str, Layout]) -> dict[str, list[str]]:
    """``{name: [kind, layout name or ""]}`` for every array (collective: the same result on every rank)."""
    names = sorted(arrays)
    flags = np.zeros((len(names), 2 * len(found)), dtype=np.int8)
    for i, name in enumerate(names):
        a = arrays[name]
        for j, layout in enumerate(found.values()):
            flags[i, 2 * j] = a.ndim == 1 and a.size == layout.local_length
            flags[i, 2 * j + 1] = a.ndim == 2 and a.shape[1] == layout.owned_length
    every = np.empty_like(flags)
    comm.Allreduce(flags, every, op=MPI.MIN)
    digests = comm.allgather([_digest(arrays[name]) for name in names])
    rows = comm.allgather([arrays[n].shape[0] if arrays[n].ndim == 2 else -1 for n in names])
    out = {}
    for i, name in enumerate(names):
        matches = [(kind, layout) for j, layout in enumerate(found)
                   for kind, k in (("field", 0), ("rows", 1)) if every[i, 2 * j + k]]
        same_rows = len({r[i] for r in rows}) == 1
        if len(matches) == 1 and (matches[0][0] == "field" or same_rows):
            out[name] = list(matches[0])
        elif len({d[i] for d in digests}) == 1 and not matches:
            out[name] = ["global", ""]
        else:
            out[name] = ["local", ""]
    return out


def _digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def owned_part(a: np.ndarray, kind: str, layout: Layout) -> np.ndarray:
    """The owned values to store: ``(owned, bs)`` of a field, ``(rows, owned, bs)`` of rows."""
    if kind == "field":
        return a[:layout.owned_length].reshape(layout.owned, layout.bs)
    return a.reshape(a.shape[0], layout.owned, layout.bs)


class Lookup:
    """Where each local entry of a layout sits in the concatenation of the stored owned keys.

    Raises:
        KeyError: a local key is not among the stored ones (another mesh).
    """

    def __init__(self, layout: Layout, stored_keys: np.ndarray):
        order = np.argsort(stored_keys, kind="stable")
        position = np.searchsorted(stored_keys, layout.keys, sorter=order)
        position = np.minimum(position, len(order) - 1) if len(order) else position
        if len(order) == 0 or np.any(stored_keys[order[position]] != layout.keys):
            raise KeyError(layout.name)
        self.index = order[position]
        self.layout = layout

    def field(self, stored: np.ndarray) -> np.ndarray:
        """This rank's local array (owned and ghost) from the stored ``(entries, bs)`` values."""
        return stored[self.index].reshape(-1)

    def rows(self, stored: np.ndarray) -> np.ndarray:
        """This rank's ``(rows, owned * bs)`` from the stored ``(rows, entries, bs)`` values."""
        owned = self.index[:self.layout.owned]
        return stored[:, owned, :].reshape(stored.shape[0], -1)
