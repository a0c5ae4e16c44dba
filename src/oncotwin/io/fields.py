"""Field time series that ParaView opens directly: VTK XML (``fields.pvd`` indexing one parallel
``.pvtu`` per output time, one ``.vtu`` piece per rank).

VTK XML is read by ParaView and by VTK's own readers without plugins (VTK's XDMF2 reader in the VTK
wheels crashes on DOLFINx XDMF files, so XDMF is not used). Coordinates are world millimetres (the mesh
is built in the image's RAS frame), so fields overlay the original scan. Functions of higher degree are
interpolated to P1 (vertex data); DG0 functions are written as cell data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

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
        path: ``.pvd`` file path.
        mesh: the mesh.
        fields: functions to write at each ``write(t)``; vertex fields (Lagrange) are interpolated to
            P1, cell fields (DG0) are written as they are.
        cell_tags: written as the ``regions`` cell field when given.
    """

    def __init__(self, comm, path: Path, mesh, fields: list[dolfinx.fem.Function],
                 cell_tags: dolfinx.mesh.MeshTags | None = None):
        self._file = dolfinx.io.VTKFile(comm, str(path), "w")
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
        """Write every field at time ``t``."""
        for source, out in self._pairs:
            if out is not source:
                out.interpolate(source)
        self._file.write_function([out for _, out in self._pairs], t)

    def close(self) -> None:
        """Close the files (and drop the DOLFINx object now: its destructor writes the .pvd again, which
        must happen before the run folder is renamed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
