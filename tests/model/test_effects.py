"""Radiotherapy dose on the mesh: uniform by default, an RTDOSE grid resampled to the nodes, the LQ kill per node.

The RTDOSE is a synthetic grid of the analytic field D(x) = D0 - k (x - a)^2 over the box x in [a, a + L]
(RAS mm); its dose-volume histogram is analytic: the fraction of the volume above d is
sqrt((D0 - d) / k) / L, so D95 = D0 - k (0.95 L)^2 and the mean is D0 - k L^2 / 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.case.radiotherapy import Radiotherapy
from oncotwin.core.errors import InputDataError
from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.kinetics.response import lq_survival
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.effects import fraction_survival, radiotherapy_target
from tests.imaging.dicom_factory import dose_on_grid, write_rtdose

A, L = 10.0, 40.0            # box x in [A, A + L], RAS mm
D0, K = 70.0, 35.0 / L**2    # Gy and Gy/mm^2: 70 Gy at x = A, 35 Gy at x = A + L
FRACTIONS = 5
ORIGIN, SPACING, SHAPE = (-55.0, 10.0, 96.0), (2.5, 3.0, 4.0), (25, 5, 4)  # LPS: RAS x -5..55, y -22..-10


def analytic(x, y=None, z=None):
    return D0 - K * (x - A) ** 2


def box(comm, shift: float = 0.0) -> TaggedMesh:
    """The box [A, A+L] x [-20, -14] x [100, 106] mm, tumour in x < A + L/2 and host beyond."""
    lo, hi = [A + shift, -20.0, 100.0], [A + L + shift, -14.0, 106.0]
    mesh = dolfinx.mesh.create_box(comm, [lo, hi], [40, 3, 3], ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = mesh.topology.dim
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)
    tags = np.where(midpoints[:, 0] < A + shift + L / 2, 1, 2).astype(np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, cells, tags)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, np.zeros(0, np.int32), np.zeros(0, np.int32))
    return TaggedMesh(mesh, cell_tags, facet_tags, {"tumour": 1, "host": 2}, {}, ("tumour",))


def radiotherapy(folder, **extra) -> Radiotherapy:
    data = {"dose_per_fraction": "2 Gy", "schedule": f"daily x {FRACTIONS}", **extra}
    return Radiotherapy.model_validate(data, context={"base_dir": str(folder)})


@pytest.fixture
def rtdose(shared_tmp, comm):
    path = shared_tmp / "rd.dcm"
    if comm.rank == 0:
        write_rtdose(path, dose_on_grid(analytic, ORIGIN, SPACING, SHAPE), ORIGIN, SPACING, absolute_offsets=True)
    comm.barrier()
    return path


def cell_dvh(V: dolfinx.fem.FunctionSpace, nodal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell-mean dose (exact mean of the P1 field) and cell volume of the owned cells of all ranks."""
    mesh = V.mesh
    owned = mesh.topology.index_map(mesh.topology.dim).size_local
    dofs = V.dofmap.list[:owned]
    W = dolfinx.fem.functionspace(mesh, ("DG", 0))
    volume = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(W) * ufl.dx)).array[:owned]
    gather = mesh.comm.allgather
    return np.concatenate(gather(nodal[dofs].mean(axis=1))), np.concatenate(gather(volume))


def dvh_mean_d95(dose: np.ndarray, volume: np.ndarray) -> tuple[float, float]:
    """Volume-weighted mean and D95 (the dose at least 95 % of the volume receives) of cell doses."""
    order = np.argsort(dose)[::-1]
    covered = (np.cumsum(volume[order]) - 0.5 * volume[order]) / volume.sum()
    return float(np.sum(dose * volume) / volume.sum()), float(np.interp(0.95, covered, dose[order]))


@pytest.mark.mpi
def test_rtdose_on_the_mesh_reproduces_the_analytic_dvh(comm, rtdose):
    tmesh = box(comm)
    V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
    rt = radiotherapy(rtdose.parent, dose=rtdose.name)
    per_fraction = radiotherapy_target(tmesh, rt, V)
    x = V.tabulate_dof_coordinates()[:, 0]
    assert np.allclose(per_fraction, analytic(x) / FRACTIONS, atol=0.01)
    mean, d95 = dvh_mean_d95(*cell_dvh(V, per_fraction * FRACTIONS))
    assert mean == pytest.approx(D0 - K * L**2 / 3, rel=0.01)
    assert d95 == pytest.approx(D0 - K * (0.95 * L) ** 2, rel=0.01)


@pytest.mark.mpi
def test_lq_kill_follows_the_local_dose(comm, rtdose):
    tmesh = box(comm)
    V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
    rt = radiotherapy(rtdose.parent, dose=rtdose.name)
    dose = radiotherapy_target(tmesh, rt, V)
    survival = fraction_survival(rt, dose, None)
    assert np.allclose(survival, lq_survival(dose, rt.alpha, rt.beta))
    x = V.tabulate_dof_coordinates()[:, 0]
    expected = np.exp(-rt.alpha * analytic(x) / FRACTIONS - rt.beta * (analytic(x) / FRACTIONS) ** 2)
    assert np.allclose(survival, expected, rtol=2e-3)
    near, far = np.isclose(x, A), np.isclose(x, A + L)  # 14 Gy vs 7 Gy per fraction
    if near.any() and far.any():
        assert survival[near].max() < survival[far].min()
    po2 = np.full_like(dose, 1.0)  # hypoxia protects: less kill at the same local dose
    assert np.all(fraction_survival(rt, dose, po2) >= survival - 1e-15)


@pytest.mark.mpi
def test_uniform_dose_is_the_default_and_targets_restrict_it(comm, rtdose):
    tmesh = box(comm)
    V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
    assert radiotherapy_target(tmesh, radiotherapy(rtdose.parent), V) == 2.0
    assert radiotherapy_target(tmesh, None, V) == 0.0
    targeted = radiotherapy_target(tmesh, radiotherapy(rtdose.parent, target_regions=["tumour"]), V)
    x = V.tabulate_dof_coordinates()[:, 0]
    assert np.all(targeted[x < A + L / 2 - 1e-9] == 2.0) and np.all(targeted[x > A + L / 2 + 1.5] == 0.0)
    planned = radiotherapy_target(tmesh, radiotherapy(rtdose.parent, dose=rtdose.name, target_regions=["tumour"]), V)
    assert np.all(planned[x > A + L / 2 + 1.5] == 0.0)
    inside = x < A + L / 2 - 1e-9
    assert np.allclose(planned[inside], analytic(x[inside]) / FRACTIONS, atol=0.01)


@pytest.mark.mpi
def test_tumour_outside_the_grid_stops_every_rank(comm, rtdose):
    tmesh = box(comm, shift=-30.0)  # the tumour half now starts at RAS x = -20, beyond the grid's -6.25
    V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
    with pytest.raises(InputDataError, match="the RTDOSE grid does not cover the tumour"):
        radiotherapy_target(tmesh, radiotherapy(rtdose.parent, dose=rtdose.name), V)


def test_fraction_grid_is_not_divided(tmp_path):
    write_rtdose(tmp_path / "rd.dcm", np.full((2, 3, 4), 2.0), ORIGIN, SPACING, summation="FRACTION")
    grid = radiotherapy(tmp_path, dose="rd.dcm").dose_grid()
    assert np.allclose(grid.dose, 2.0)
    write_rtdose(tmp_path / "rd.dcm", np.full((2, 3, 4), 10.0), ORIGIN, SPACING)
    assert np.allclose(radiotherapy(tmp_path, dose="rd.dcm").dose_grid().dose, 10.0 / FRACTIONS)


