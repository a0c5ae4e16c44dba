"""Baseline tumour density from an ADC map (Atuegwu et al. 2011): the closed form at the interior nodes,
units read from the case, and one-line errors for a map that does not cover the tumour or has the wrong unit."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.core.errors import InputDataError
from oncotwin.core.fenics import MPI
from oncotwin.imaging.cellularity import cellularity_from_adc
from oncotwin.mesh.distribute import mesh_in_memory
from oncotwin.model.tumour_problems import create_growth_problem

ADC_MIN = 0.6e-3  # mm^2/s, a cellular tumour
FREE_WATER_ADC = 3.0e-3  # mm^2/s, the default (Holz, Heil & Sacco 2000)
SLOPE = 0.3e-3  # mm^2/s per mm: ADC rises linearly along x


def test_cellularity_is_one_at_the_smallest_adc_and_zero_at_free_water():
    adc = np.array([ADC_MIN, 0.5 * (ADC_MIN + FREE_WATER_ADC), FREE_WATER_ADC, 4e-3])
    assert np.allclose(cellularity_from_adc(adc, ADC_MIN, FREE_WATER_ADC), [1.0, 0.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="must lie below free water"):
        cellularity_from_adc(adc, 3.5e-3, FREE_WATER_ADC)


def write_adc(path, scale: float, extent: float = 12.0) -> None:
    """ADC = ADC_MIN + SLOPE (x + 3) on a 0.25 mm grid over [-extent, extent]^3, stored in units of ``scale``."""
    h = 0.25
    n = int(2 * extent / h) + 1
    affine = np.diag([h, h, h, 1.0])
    affine[:3, 3] = -extent
    x = -extent + h * np.arange(n)
    adc = np.broadcast_to((ADC_MIN + SLOPE * (x + 3.0))[:, None, None], (n, n, n))
    nib.save(nib.Nifti1Image((adc / scale).astype(np.float64), affine), str(path))


def sphere_case(adc, unit: str) -> Case:
    cellularity = {"cellularity": {"adc": str(adc), "voxel_unit": unit}} if adc else {}
    return Case.model_validate({
        "name": "adc", "geometry": {"kind": "sphere", "tumour_radius": "3 mm", "host_radius": "9 mm"},
        "mesh": {"size_tumour": "0.6 mm", "size_far": "2 mm", "grading_distance": "3 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
        "physics": {"growth": cellularity}, "time": {"end": "1 day"}})


@pytest.fixture(scope="module")
def tmesh():
    """One mesh for every test (the cellularity settings do not change it)."""
    return mesh_in_memory(MPI.COMM_WORLD, sphere_case(None, ""))


def shared_path(tmp_path_factory, name: str) -> str:
    """One file name for every rank (rank 0 makes the folder)."""
    comm = MPI.COMM_WORLD
    folder = str(tmp_path_factory.mktemp("adc")) if comm.rank == 0 else None
    return f"{comm.bcast(folder, root=0)}/{name}"


@pytest.mark.mpi
def test_interior_density_follows_the_adc_relation(tmp_path_factory, tmesh):
    comm = MPI.COMM_WORLD
    path = shared_path(tmp_path_factory, "adc.nii.gz")
    if comm.rank == 0:
        write_adc(path, 1e-6)  # stored in um^2/s
    comm.barrier()
    case = sphere_case(path, "1e-6 mm^2/s")
    assert case.physics.growth.cellularity.free_water_adc == pytest.approx(FREE_WATER_ADC)
    problem, _ = create_growth_problem(case, tmesh)
    inside = problem.interior_nodes(["tumour"])
    x = problem.V.tabulate_dof_coordinates()
    # the smallest ADC at the interior nodes sits at the node of smallest x inside the tumour
    x_min = comm.allreduce(float(x[:problem.n_owned][inside[:problem.n_owned], 0].min()), op=MPI.MIN)
    expected = (FREE_WATER_ADC - (ADC_MIN + SLOPE * (x[inside, 0] + 3.0))) / (
        FREE_WATER_ADC - (ADC_MIN + SLOPE * (x_min + 3.0)))
    assert np.allclose(problem.viable.x.array[inside], np.clip(expected, 0, 1), atol=1e-9)
    assert comm.allreduce(float(problem.viable.x.array[inside].max()), op=MPI.MAX) == pytest.approx(1.0)
    # the resistant share is split as at construction
    share = case.physics.growth.initial_resistant_fraction
    assert np.allclose(problem.resistant.x.array[inside], share * problem.viable.x.array[inside])


@pytest.mark.mpi
@pytest.mark.parametrize(("unit", "extent", "message"), [
    ("1 mm^2/s", 12.0, "not below free water's 0.003 mm\\^2/s: check physics.growth.cellularity.voxel_unit"),
    ("1e-6 mm^2/s", 1.0, "does not cover .* nodes of the tumour regions tumour"),
])
def test_a_map_with_the_wrong_unit_or_extent_is_one_line(tmp_path_factory, tmesh, unit, extent, message):
    comm = MPI.COMM_WORLD
    path = shared_path(tmp_path_factory, "adc.nii.gz")
    if comm.rank == 0:
        write_adc(path, 1e-6, extent)
    comm.barrier()
    case = sphere_case(path, unit)
    with pytest.raises(InputDataError, match=message):
        create_growth_problem(case, tmesh)
