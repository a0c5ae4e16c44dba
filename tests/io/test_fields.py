"""The binary VTK field series read back with VTK's own readers: values, cells, times and resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oncotwin.core.fenics import dolfinx
from oncotwin.io.fields import VtkSeries


def linear(x):
    return x[0] + 2.0 * x[1] + 3.0 * x[2]


def quadratic(x):
    return x[0] * x[1] + x[2] ** 2


def vector(x):
    return np.stack([x[0], -x[1], 2.0 * x[2]])


def planar(x):
    return np.stack([x[1], x[0] - x[2]])


def setup(comm):
    """A box with P1 scalar/3-vector/2-vector, P2 and DG0 fields and two region tags.

    The regions split at x = 0.45, away from every cell midpoint (the tetrahedra's midpoints in the
    middle slab lie at x = 1/3 + k/12).
    """
    mesh = dolfinx.mesh.create_box(comm, [[0.0, 0.0, 0.0], [1.0, 2.0, 1.5]], [3, 4, 2])
    spaces = {"p1": ("Lagrange", 1), "vec": ("Lagrange", 1, (3,)), "planar": ("Lagrange", 1, (2,)),
              "p2": ("Lagrange", 2), "dg0": ("DG", 0)}
    fields = {name: dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, e), name=name) for name, e in spaces.items()}
    tdim = mesh.topology.dim
    cells = np.arange(mesh.topology.index_map(tdim).size_local, dtype=np.int32)
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)
    tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.where(midpoints[:, 0] < 0.45, 1, 2).astype(np.int32))
    return mesh, fields, tags


def fill(fields, scale: float) -> None:
    """The analytic functions times ``scale`` (DG0: the linear one at the cell midpoints)."""
    for name, function in (("p1", linear), ("vec", vector), ("planar", planar), ("p2", quadratic),
                           ("dg0", linear)):
        fields[name].interpolate(lambda x, f=function: scale * f(x))


def read_pvtu(path: Path):
    """One output time, read with VTK's parallel reader, as a PyVista grid."""
    import pyvista as pv
    from vtkmodules.vtkIOXML import vtkXMLPUnstructuredGridReader

    reader = vtkXMLPUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    return pv.wrap(reader.GetOutput())


def check_values(grid, scale: float, num_cells: int) -> None:
    x = grid.points.T
    assert grid.n_cells == num_cells
    np.testing.assert_allclose(grid.point_data["p1"], scale * linear(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grid.point_data["vec"], scale * vector(x).T, rtol=0, atol=1e-12)
    padded = np.column_stack([scale * planar(x).T, np.zeros(grid.n_points)])
    np.testing.assert_allclose(grid.point_data["planar"], padded, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grid.point_data["p2"], scale * quadratic(x), rtol=0, atol=1e-12)
    centres = grid.cell_centers().points.T
    np.testing.assert_allclose(grid.cell_data["dg0"], scale * linear(centres), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(grid.cell_data["regions"], np.where(centres[0] < 0.45, 1.0, 2.0))
    assert grid.field_data["TimeValue"].size == 1


@pytest.mark.mpi
def test_series_reads_back_with_vtk_readers(comm, shared_tmp):
    """Two output times: pvd times, the pieces, every cell once, point/cell values == the analytic ones."""
    import pyvista as pv

    mesh, fields, tags = setup(comm)
    num_cells = mesh.topology.index_map(mesh.topology.dim).size_global
    series = VtkSeries(comm, shared_tmp / "fields.pvd", mesh, list(fields.values()), tags)
    for t, scale in ((0.0, 1.0), (2.5, -3.0)):
        fill(fields, scale)
        series.write(t)
    assert [t for t, _ in series.entries] == [0.0, 2.5]
    assert all(f.startswith("fields/") and f.endswith(".pvtu") for _, f in series.entries)

    reader = pv.get_reader(str(shared_tmp / "fields.pvd"))
    assert reader.time_values == [0.0, 2.5]
    for (t, file), scale in zip(series.entries, (1.0, -3.0), strict=True):
        assert len(list((shared_tmp / file).parent.glob(f"{Path(file).stem[:6]}_p*.vtu"))) == comm.size
        grid = read_pvtu(shared_tmp / file)
        check_values(grid, scale, num_cells)
        reader.set_active_time_value(t)
        combined = reader.read().combine()
        assert combined.n_cells == num_cells
        # every node written (nodes on rank boundaries once per piece)
        assert len(np.unique(combined.points.round(12), axis=0)) == mesh.geometry.index_map().size_global


@pytest.mark.mpi
def test_resumed_series_continues_the_index(comm, shared_tmp):
    """A second series given the first one's entries appends to the index; earlier files stay valid."""
    import pyvista as pv

    mesh, fields, tags = setup(comm)
    num_cells = mesh.topology.index_map(mesh.topology.dim).size_global
    first = VtkSeries(comm, shared_tmp / "fields.pvd", mesh, list(fields.values()), tags)
    fill(fields, 1.0)
    first.write(0.0)
    resumed = VtkSeries(comm, shared_tmp / "fields.pvd", mesh, list(fields.values()), tags, entries=first.entries)
    fill(fields, 2.0)
    resumed.write(86400.0)
    assert resumed.entries[0] == first.entries[0]
    assert len({f for _, f in resumed.entries}) == 2
    assert pv.get_reader(str(shared_tmp / "fields.pvd")).time_values == [0.0, 86400.0]
    for (_, file), scale in zip(resumed.entries, (1.0, 2.0), strict=True):
        check_values(read_pvtu(shared_tmp / file), scale, num_cells)


def test_non_simplex_mesh_is_refused(comm, tmp_path):
    mesh = dolfinx.mesh.create_unit_cube(comm, 1, 1, 1, dolfinx.mesh.CellType.hexahedron)
    with pytest.raises(ValueError, match="linear simplices"):
        VtkSeries(comm, tmp_path / "fields.pvd", mesh, [])
