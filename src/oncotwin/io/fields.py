"""Field time series that ParaView opens directly: VTK XML (``fields.pvd`` indexing one parallel
``.pvtu`` per output time in ``fields/``, one ``.vtu`` piece per rank).

Each output time is written as its own small file set and the ``.pvd`` index is rewritten (atomically,
rank 0) after every output, so the series on disk is always complete up to the last output, even after
a kill, and a resumed run continues it.

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

from oncotwin.fenics import dolfinx


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
        mesh: the mesh.
        fields: functions to write at each ``write(t)``; vertex fields (Lagrange) are interpolated to
            P1, cell fields (DG0) are written as they are.
        cell_tags: written as the ``regions`` cell field when given.
        entries: ``(time, file)`` entries already written (a resumed run continues the series).
    """

    def __init__(self, comm, path: Path, mesh, fields: list[dolfinx.fem.Function],
                 cell_tags: dolfinx.mesh.MeshTags | None = None, entries: list | tuple = ()):
        self.comm, self.path = comm, Path(path)
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
        file = dolfinx.io.VTKFile(self.comm, str(self.folder / f"{stem}.pvd"), "w")
        file.write_function([out for _, out in self._pairs], t)
        file.close()
        del file  # its destructor writes the step's own .pvd again: let it happen now
        self.entries.append((float(t), f"{self.folder.name}/{stem}000000.pvtu"))
        if self.comm.rank == 0:
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
