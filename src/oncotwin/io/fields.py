"""Field time series that ParaView opens directly: VTK XML (``fields.pvd`` indexing one parallel
``.pvtu`` per output time in ``fields/``, one ``.vtu`` piece per rank).

Each output time is written as its own small file set and the ``.pvd`` index is rewritten (atomically,
rank 0) after every piece of that time is on disk, so the series on disk is always complete up to the
last output, even after a kill, and a resumed run continues it.

The pieces are binary VTK XML UnstructuredGrid files (``header_type="UInt64"``, raw little-endian arrays
in an ``<AppendedData encoding="raw">`` section). They are not compressed: on a 384k-cell mesh with
ten fields zlib at level 1 took ~30 times the write itself (0.6 s against 0.02 s) to save a third of the
size. Each rank writes its geometry nodes and its owned cells only (linear simplices), so every cell
appears once in the series; nodes on rank boundaries appear in several pieces with equal values.
Everything is numpy: the node of each degree of freedom and the connectivity are computed once, at
construction. File names are those of the earlier DOLFINx writer (``t00003000000.pvtu``,
``t00003_p<rank>_000000.vtu``), so a series started by it is continued without clashes.

VTK XML is read by ParaView and by VTK's own readers without plugins (VTK's XDMF2 reader in the VTK
wheels crashes on DOLFINx XDMF files, so XDMF is not used). Coordinates are world millimetres (the mesh
is built in the image's RAS frame), so fields overlay the original scan. Functions of higher degree are
interpolated to P1 (vertex data); DG0 functions are written as cell data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import quoteattr

import numpy as np

from oncotwin.core.fenics import dolfinx

# (cell, nodes per cell) of the linear simplices -> VTK cell type (VTK_LINE, VTK_TRIANGLE, VTK_TETRA)
VTK_CELL_TYPES = {("interval", 2): 3, ("triangle", 3): 5, ("tetrahedron", 4): 10}
VTK_TYPE_NAMES = {"f8": "Float64", "i4": "Int32", "i8": "Int64", "u1": "UInt8"}

Array = tuple[str, np.ndarray]  # (name, C-contiguous little-endian values, one row per tuple)


class Writer(Protocol):
    """What every output writer offers."""

    def write(self, t: float) -> None:
        """Write the current state at time ``t`` [s]."""

    def close(self) -> None:
        """Flush and close."""


class VtkSeries:
    """A time series of named fields on one mesh (``.pvd`` + ``.pvtu``/``.vtu``).

    Args:
        comm: communicator of the mesh.
        path: ``.pvd`` file path; the data go into the folder of the same name without suffix.
        mesh: the mesh (linear simplices).
        fields: functions to write at each ``write(t)``; vertex fields (Lagrange) are interpolated to
            P1, cell fields (DG0) are written as they are.
        cell_tags: written as the ``regions`` cell field when given.
        entries: ``(time, file)`` entries already written (a resumed run continues the series).
    """

    def __init__(self, comm, path: Path, mesh, fields: list[dolfinx.fem.Function],
                 cell_tags: dolfinx.mesh.MeshTags | None = None, entries: list | tuple = ()):
        self.comm, self.path, self.mesh = comm, Path(path), mesh
        self.folder = self.path.with_suffix("")
        if comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        self.entries: list[tuple[float, str]] = [(float(t), str(f)) for t, f in entries]
        self._pairs = [(f, self._output_function(mesh, f)) for f in fields]
        if cell_tags is not None:
            regions = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0)), name="regions")
            regions.x.array[regions.function_space.dofmap.list[cell_tags.indices, 0]] = cell_tags.values
            regions.x.scatter_forward()
            self._pairs.append((regions, regions))
        self._cells = linear_cells(mesh)
        num_owned = len(self._cells[2])
        maps: dict[int, np.ndarray] = {}  # per function space (by identity: the pairs keep them alive)
        self._point_fields, self._cell_fields = [], []
        for _, out in self._pairs:
            space, cellwise = out.function_space, _is_cellwise(out)
            if id(space) not in maps:
                maps[id(space)] = space.dofmap.list[:num_owned, 0].copy() if cellwise else node_dofs(mesh, space)
            (self._cell_fields if cellwise else self._point_fields).append((out, maps[id(space)]))

    @staticmethod
    def _output_function(mesh, f: dolfinx.fem.Function) -> dolfinx.fem.Function:
        element = f.function_space.ufl_element()
        shape = f.function_space.value_shape if hasattr(f.function_space, "value_shape") else ()
        if element.embedded_superdegree == 0:
            return f
        if element.embedded_superdegree == 1 and element.family_name in ("P", "Q", "Lagrange"):
            return f
        space = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, tuple(shape)))
        return dolfinx.fem.Function(space, name=f.name)

    def write(self, t: float) -> None:
        """Write every field at time ``t`` and update the index."""
        for source, out in self._pairs:
            if out is not source:
                out.interpolate(source)
        stem = f"t{len(self.entries):05d}"
        point_data = [(f.name, gathered_values(f, index)) for f, index in self._point_fields]
        cell_data = [(f.name, gathered_values(f, index)) for f, index in self._cell_fields]
        write_vtu(self.folder / piece_name(stem, self.comm.rank), self.mesh.geometry.x, self._cells,
                  point_data, cell_data, t)
        self.comm.barrier()  # every piece on disk before the index points to them
        pvtu = f"{stem}000000.pvtu"
        self.entries.append((float(t), f"{self.folder.name}/{pvtu}"))
        if self.comm.rank == 0:
            pieces = [piece_name(stem, rank) for rank in range(self.comm.size)]
            write_pvtu(self.folder / pvtu, pieces, point_data, cell_data)
            self._write_index()
        self.comm.barrier()

    def _write_index(self) -> None:
        lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="1.0">', "  <Collection>"]
        lines += [f'    <DataSet timestep="{t!r}" part="0" file={quoteattr(f)} />' for t, f in self.entries]
        lines += ["  </Collection>", "</VTKFile>", ""]
        tmp = self.path.with_suffix(".pvd.tmp")
        tmp.write_text("\n".join(lines))
        os.replace(tmp, self.path)

    def close(self) -> None:
        """Nothing stays open between outputs; kept for the writer protocol."""


def piece_name(stem: str, rank: int) -> str:
    """File name of one rank's piece at one output time."""
    return f"{stem}_p{rank}_000000.vtu"


def _is_cellwise(f: dolfinx.fem.Function) -> bool:
    return f.function_space.ufl_element().embedded_superdegree == 0


def linear_cells(mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VTK ``connectivity``, ``offsets`` and ``types`` of this rank's owned cells.

    Raises:
        ValueError: the cells are not linear simplices.
    """
    tdim = mesh.topology.dim
    dofmap = mesh.geometry.dofmaps[0]
    key = (mesh.topology.cell_type.name, dofmap.shape[1])
    if key not in VTK_CELL_TYPES:
        raise ValueError(f"VTK output supports linear simplices only, not {key[0]} cells with {key[1]} nodes")
    num_owned = mesh.topology.index_map(tdim).size_local
    connectivity = np.ascontiguousarray(dofmap[:num_owned], dtype="<i4").reshape(-1)
    offsets = np.arange(1, num_owned + 1, dtype="<i4") * dofmap.shape[1]
    types = np.full(num_owned, VTK_CELL_TYPES[key], dtype="u1")
    return connectivity, offsets, types


def node_dofs(mesh, space) -> np.ndarray:
    """The (block) degree of freedom of ``space`` (P1 Lagrange) at each geometry node of this rank.

    Raises:
        ValueError: a geometry node has no degree of freedom (``space`` is not P1 on ``mesh``).
    """
    geometry = mesh.geometry.dofmaps[0]
    dofs = space.dofmap.list
    if dofs.shape != geometry.shape:
        raise ValueError(f"point data need P1 Lagrange functions: dofmap {dofs.shape} vs geometry {geometry.shape}")
    index = np.full(mesh.geometry.x.shape[0], -1, dtype=np.int32)
    index[geometry] = dofs
    if index.min(initial=0) < 0:
        raise ValueError("point data: a geometry node without a degree of freedom")
    return index


def gathered_values(f: dolfinx.fem.Function, index: np.ndarray) -> np.ndarray:
    """``f``'s values at the dof (blocks) ``index``, float64, one row per point/cell; 2-vectors padded to 3."""
    bs = f.function_space.dofmap.bs
    values = np.asarray(f.x.array, dtype="<f8").reshape(-1, bs)[index]
    if bs == 2:  # ParaView shows 3-vectors as arrows/glyphs
        values = np.hstack([values, np.zeros((len(values), 1))])
    return values if bs > 1 else values.reshape(-1)


def _components(values: np.ndarray) -> int:
    return 1 if values.ndim == 1 else values.shape[1]


def _type_name(values: np.ndarray) -> str:
    return VTK_TYPE_NAMES[values.dtype.str[1:]]


def _data_array(name: str | None, values: np.ndarray, offset: int | None = None, tuples: bool = False) -> str:
    """A ``DataArray`` (``offset`` into the appended data) or, without ``offset``, a ``PDataArray`` tag."""
    attrs = f'type="{_type_name(values)}"'
    if name is not None:
        attrs += f" Name={quoteattr(name)}"
    attrs += f' NumberOfComponents="{_components(values)}"'
    if tuples:
        attrs += f' NumberOfTuples="{len(values)}"'
    if offset is None:
        return f"<PDataArray {attrs} />"
    return f'<DataArray {attrs} format="appended" offset="{offset}" />'


def write_vtu(path: Path, points: np.ndarray, cells: tuple[np.ndarray, np.ndarray, np.ndarray],
              point_data: list[Array], cell_data: list[Array], t: float) -> None:
    """One binary UnstructuredGrid piece: XML header, then every array raw in the appended section.

    Args:
        path: the ``.vtu`` file.
        points: node coordinates, shape (n, 3).
        cells: ``connectivity``, ``offsets`` and ``types`` (see :func:`linear_cells`).
        point_data: ``(name, values)`` with one row per point.
        cell_data: ``(name, values)`` with one row per cell.
        t: time [s], stored as the ``TimeValue`` field data.
    """
    blocks: list[np.ndarray] = []
    offset = 0  # of the next block in the appended data: each block is [UInt64 byte count][bytes]

    def tag(name: str | None, values: np.ndarray, indent: int = 8, tuples: bool = False) -> str:
        nonlocal offset
        blocks.append(np.ascontiguousarray(values))
        line = " " * indent + _data_array(name, values, offset, tuples)
        offset += 8 + values.nbytes
        return line

    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
             "  <UnstructuredGrid>", "    <FieldData>", tag("TimeValue", np.array([t], dtype="<f8"), 6, True),
             "    </FieldData>", f'    <Piece NumberOfPoints="{len(points)}" NumberOfCells="{len(cells[2])}">',
             "      <PointData>"]
    lines += [tag(name, values) for name, values in point_data]
    lines += ["      </PointData>", "      <CellData>"]
    lines += [tag(name, values) for name, values in cell_data]
    lines += ["      </CellData>", "      <Points>", tag(None, np.asarray(points, dtype="<f8")), "      </Points>",
              "      <Cells>"]
    lines += [tag(name, values) for name, values in zip(("connectivity", "offsets", "types"), cells, strict=True)]
    lines += ["      </Cells>", "    </Piece>", "  </UnstructuredGrid>", '  <AppendedData encoding="raw">', "   _"]
    with open(path, "wb") as fh:
        fh.write("\n".join(lines).encode())
        for block in blocks:
            fh.write(np.array([block.nbytes], dtype="<u8").tobytes())
            fh.write(block.reshape(-1).view(np.uint8))
        fh.write(b"\n  </AppendedData>\n</VTKFile>\n")


def write_pvtu(path: Path, pieces: list[str], point_data: list[Array], cell_data: list[Array]) -> None:
    """The parallel index of one output time: the arrays' names and types, and the pieces (relative paths)."""
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="PUnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
             '  <PUnstructuredGrid GhostLevel="0">', "    <PPointData>"]
    lines += ["      " + _data_array(name, values) for name, values in point_data]
    lines += ["    </PPointData>", "    <PCellData>"]
    lines += ["      " + _data_array(name, values) for name, values in cell_data]
    lines += ["    </PCellData>", "    <PPoints>", '      <PDataArray type="Float64" NumberOfComponents="3" />',
              "    </PPoints>"]
    lines += [f"    <Piece Source={quoteattr(piece)} />" for piece in pieces]
    lines += ["  </PUnstructuredGrid>", "</VTKFile>", ""]
    path.write_text("\n".join(lines))
