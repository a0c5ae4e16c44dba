"""Helpers shared by the mesh tests and benchmarks/mesh_brats.py: cases, gmsh runs, rasterisation, Dice."""

from __future__ import annotations

from pathlib import Path

import gmsh
import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.mesh.generate import model_tets
from oncotwin.mesh.job import mesh_job

DATA = Path(__file__).parents[2].parent / "shared" / "data"


def make_case(data: dict, base_dir: Path | str = ".") -> Case:
    """Validate a case dictionary (paths relative to ``base_dir``)."""
    return Case.model_validate(data, context={"base_dir": str(base_dir)})


def sections(case: Case) -> tuple:
    """The geometry, mesh options and region tags of a case (what the mesh builders take)."""
    job = mesh_job(case)
    return job.geometry, job.options, job.regions


def run_gmsh(build, case: Case):
    """Run ``build(case.name, geometry, options, regions, progress)`` in a fresh gmsh model.

    Returns:
        (frame, points, tets, tags, facet group tags by name).
    """
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(case.name)
        frame = build(case.name, *sections(case), lambda _: None)
        points, tets, tags = model_tets()
        facets = {gmsh.model.getPhysicalName(2, t): t for _, t in gmsh.model.getPhysicalGroups(2)}
        return frame, points, tets, tags, facets
    finally:
        gmsh.finalize()


def tet_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volumes of tetrahedra."""
    a, b, c, d = (points[tets[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6.0


def rasterise(points: np.ndarray, tets: np.ndarray, tags: np.ndarray, frame: dict) -> np.ndarray:
    """Cell tag at every voxel centre of the crop box of ``frame`` (0 outside), on the full grid."""
    import vtk
    from vtk.util import numpy_support

    grid = vtk.vtkUnstructuredGrid()
    vtk_points = vtk.vtkPoints()
    vtk_points.SetData(numpy_support.numpy_to_vtk(points.astype(float), deep=True))
    grid.SetPoints(vtk_points)
    cells = vtk.vtkCellArray()
    cells.SetData(numpy_support.numpy_to_vtkIdTypeArray(np.arange(0, 4 * len(tets) + 1, 4), deep=True),
                  numpy_support.numpy_to_vtkIdTypeArray(tets.ravel().astype(np.int64), deep=True))
    grid.SetCells(vtk.VTK_TETRA, cells)
    cell_tags = numpy_support.numpy_to_vtk(tags.astype(np.int32), deep=True)
    cell_tags.SetName("tag")
    grid.GetCellData().AddArray(cell_tags)
    start = np.maximum(np.asarray(frame["crop_start"]), 0)
    stop = np.minimum(np.asarray(frame["crop_stop"]), frame["shape"])
    ijk = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(start, stop)], indexing="ij"), -1).reshape(-1, 3)
    affine = np.asarray(frame["affine"])
    world = ijk @ affine[:3, :3].T + affine[:3, 3]
    probe_points = vtk.vtkPoints()
    probe_points.SetData(numpy_support.numpy_to_vtk(world, deep=True))
    probe_input = vtk.vtkPolyData()
    probe_input.SetPoints(probe_points)
    probe = vtk.vtkProbeFilter()
    probe.SetInputData(probe_input)
    probe.SetSourceData(grid)
    probe.Update()
    values = numpy_support.vtk_to_numpy(probe.GetOutput().GetPointData().GetArray("tag"))
    valid = numpy_support.vtk_to_numpy(probe.GetOutput().GetPointData().GetArray("vtkValidPointMask"))
    out = np.zeros(frame["shape"], dtype=np.int32)
    out[tuple(ijk.T)] = np.where(valid > 0, values, 0)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean arrays."""
    return 2.0 * np.count_nonzero(a & b) / max(np.count_nonzero(a) + np.count_nonzero(b), 1)


def need_data(folder: str) -> Path:
    """The real-data folder ``../shared/data/<folder>``; skip the test when it is absent."""
    if not (DATA / folder).is_dir():
        pytest.skip(f"real data {DATA / folder} not available (see ../shared/data/README.md)")
    return DATA / folder
