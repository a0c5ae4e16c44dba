"""The misfit does not depend on the mesh partition, and concurrent forward runs give the same calibration.

On a small twin lesion (tests/calibration/test_twin.py, 12 days, two scans, two parameters): the residual
computed on all ranks equals, cell by cell in the original cell numbering, the residual computed on each
rank alone; a calibration whose Jacobian columns run concurrently on groups of one rank finds the same
MAP as one whose runs use all ranks. Run under ``mpirun -n 2`` (serially the partitions coincide).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration.calibrate import Calibrator, Subject
from oncotwin.calibration.synthetic import write_synthetic_observations
from oncotwin.case.load import read_case
from oncotwin.case.observations import read_observations
from oncotwin.core.parallel import on_root
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh
from tests.calibration.test_twin import CASE, TRUTH, _lesion
from tests.conftest import run_cli

SMALL = (CASE.replace('size_tumour: "1.5 mm", size_far: "2.5 mm"', 'size_tumour: "2 mm", size_far: "3.5 mm"')
         .replace('end: "24 day"', 'end: "12 day"')
         .replace('schedule: "days 1-5 every 7 days x 2"', 'schedule: "days 1-5"')
         .replace("    radiosensitivity: {prior: \"0.03 1/Gy\", prior_log_sd: 2.0}\n", "")
         .replace("  parameters:", "  optimiser: {max_iterations: 4, tolerance: 0.01}\n  parameters:"))
TWO = {k: TRUTH[k] for k in ("proliferation_rate", "invasion_diffusivity")}


@pytest.fixture(scope="module")
def lesion(tmp_path_factory):
    comm = MPI.COMM_WORLD
    folder = Path(comm.bcast(str(tmp_path_factory.mktemp("partition")) if comm.rank == 0 else None, root=0))
    if comm.rank == 0:
        _lesion(folder / "labels.nii.gz")
        (folder / "case.yaml").write_text(SMALL)
    comm.barrier()
    case, digest = on_root(comm, read_case, folder / "case.yaml")
    mesh, _ = ensure_mesh(comm, case, folder / "meshes")
    tmesh = read_tagged_mesh(comm, mesh)
    observations = write_synthetic_observations(comm, case, tmesh, TWO, [6, 12],
                                                folder / "obs")
    obs = on_root(comm, read_observations, observations, case)
    return {"comm": comm, "case": case, "digest": digest, "mesh": mesh, "tmesh": tmesh, "obs": obs,
            "folder": folder}


def _subject(lesion, comm) -> Subject:
    tmesh = lesion["tmesh"] if comm is lesion["comm"] else read_tagged_mesh(comm, lesion["mesh"])
    return Subject(lesion["case"], lesion["folder"] / "case.yaml", lesion["digest"], lesion["obs"], tmesh,
                   lesion["mesh"])


@pytest.mark.mpi
def test_the_misfit_is_the_same_on_any_partition(lesion):
    world = lesion["comm"]
    everywhere = Calibrator(world, [_subject(lesion, world)])
    alone = Calibrator(MPI.COMM_SELF, [_subject(lesion, MPI.COMM_SELF)])  # each rank: the whole mesh
    x = np.log([0.07 / 86400, 0.3 / 86400])
    r_world, r_self = everywhere.evaluate(x), alone.evaluate(x)
    full_world = everywhere.layout().to_global(world, r_world.spatial)
    full_self = alone.layout().to_global(MPI.COMM_SELF, r_self.spatial)
    if world.rank == 0:
        assert len(full_world) == len(full_self) == 1 and full_world[0].shape == full_self[0].shape
        scale = np.abs(full_self[0]).max()
        assert np.sum(full_self[0] ** 2) > 1.0  # the point is far from the truth: not trivially zero
        assert np.max(np.abs(full_world[0] - full_self[0])) < 1e-9 * scale
    assert np.allclose(r_world.scalar, r_self.scalar, rtol=1e-10, atol=1e-12)
    for key, info in everywhere.diagnostics.items():
        assert info["dice"] == pytest.approx(alone.diagnostics[key]["dice"], rel=1e-10)
        assert info["volume_simulated_mm3"] == pytest.approx(alone.diagnostics[key]["volume_simulated_mm3"],
                                                             rel=1e-10)


@pytest.mark.mpi
def test_concurrent_forward_runs_give_the_same_calibration(lesion):
    world = lesion["comm"]
    if world.size < 2:
        pytest.skip("groups need at least two ranks (run under mpirun -n 2)")
    plain = Calibrator(world, [_subject(lesion, world)])
    grouped = Calibrator(world, [_subject(lesion, world)], ranks_per_run=1)
    assert grouped.grouped is not None and grouped.grouped.n_groups == world.size
    a, b = plain.run(), grouped.run()
    # the same path; the groups run the start with its Jacobian and damped trials side by side
    assert len(a.path) == len(b.path) and b.runs >= a.runs and b.rounds < a.rounds == a.runs
    for p, q in zip(a.path, b.path, strict=True):
        assert np.allclose(p["x"], q["x"], rtol=0, atol=1e-6)
    assert np.allclose(a.x, b.x, rtol=0, atol=1e-6)
    assert b.objective == pytest.approx(a.objective, rel=1e-6)
    assert np.allclose(a.covariance, b.covariance, rtol=1e-4)
    assert a.path[-1]["objective"] < 0.5 * a.path[0]["objective"]  # it did move towards the truth
    # the manifest's forward time counts the groups' runs (it read the world copy's few runs only)
    own = grouped.subjects[0].forward.seconds
    assert grouped.grouped.seconds > 0 and grouped.forward_seconds() == pytest.approx(own + grouped.grouped.seconds)
    assert plain.forward_seconds() == pytest.approx(plain.subjects[0].forward.seconds)


def test_ranks_not_divisible_by_the_group_size_is_a_one_line_error(lesion, tmp_path):
    if lesion["comm"].size > 1:
        pytest.skip("a CLI test: runs its own mpirun")
    folder = lesion["folder"]
    out = tmp_path / "calibration"
    result = run_cli("calibrate", "case.yaml", "--observations", "obs/observations.yaml", "--out", str(out),
                     "--mesh-dir", "meshes", "--ranks-per-run", "3", ranks=2, cwd=folder)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--ranks-per-run 3 must divide the number of ranks (2)" in lines[0], result.stderr
    assert not out.exists()
