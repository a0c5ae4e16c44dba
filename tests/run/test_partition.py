"""Partition-independent checkpoint arrays: written on N ranks, read on M (here 2 <-> 1) unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from oncotwin.core.errors import RunDirectoryError
from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.run import checkpoint
from oncotwin.run.partition import classify, layouts


def _mesh(comm):
    return dolfinx.mesh.create_unit_cube(comm, 3, 4, 2, ghost_mode=dolfinx.mesh.GhostMode.shared_facet)


def _state(comm):
    """A P1 field, a P2 vector field, a cell array, PETSc-like rows, scalars: all from closed forms."""
    mesh = _mesh(comm)
    P1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    P2 = dolfinx.fem.functionspace(mesh, ("Lagrange", 2, (3,)))
    p, u = dolfinx.fem.Function(P1), dolfinx.fem.Function(P2)
    p.interpolate(lambda x: 1.0 + x[0] + 2.0 * x[1] ** 2 + 3.0 * x[2] ** 3)
    u.interpolate(lambda x: np.stack([x[0] * x[1], x[1] + x[2] ** 2, np.sin(x[0] + 2 * x[2])]))
    tdim = mesh.topology.dim
    n_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, np.arange(n_cells, dtype=np.int32))
    owned = P2.dofmap.index_map.size_local * 3
    arrays = {"p": p.x.array.copy(), "u": u.x.array.copy(), "chi": midpoints @ [1.0, 10.0, 100.0],
              "basis": np.stack([u.x.array[:owned], 2.0 * u.x.array[:owned]]), "scalars": np.array([1.5, 7.0])}
    return mesh, arrays, layouts(mesh, [p, u])


def test_layouts_classify_every_kind_and_dg0_dofs_are_the_cells():
    comm = MPI.COMM_WORLD
    mesh, arrays, found = _state(comm)
    assert {"cells", "P1x1", "P2x3"} <= set(found)
    stored = classify(comm, {**arrays, "partition": np.arange(3 + comm.rank * comm.size)}, found)
    assert stored["p"] == ["field", "P1x1"] and stored["u"] == ["field", "P2x3"]
    assert stored["chi"] == ["field", "cells"] and stored["basis"] == ["rows", "P2x3"]
    assert stored["scalars"] == ["global", ""]
    assert stored["partition"] == (["local", ""] if comm.size > 1 else ["global", ""])
    # cell arrays are indexed by local cell; DG0 functions by dof: the same in DOLFINx (else cell arrays and
    # DG0 functions would need two layouts)
    V0 = dolfinx.fem.functionspace(mesh, ("DG", 0))
    assert np.array_equal(V0.dofmap.list[:, 0], np.arange(len(arrays["chi"])))


def _roundtrip(write_comm, read_comm, folder):
    if write_comm != MPI.COMM_NULL:
        _, arrays, found = _state(write_comm)
        checkpoint.save(write_comm, folder, {"time": 1.0}, arrays, found)
    MPI.COMM_WORLD.barrier()
    if read_comm != MPI.COMM_NULL:
        _, expected, found = _state(read_comm)
        got = checkpoint.load(read_comm, folder).arrays(read_comm, found)
        assert set(got) == set(expected)
        for name, value in expected.items():
            assert got[name].shape == value.shape, name
            assert got[name] == pytest.approx(value, rel=1e-13, abs=1e-13), name


@pytest.mark.mpi
def test_written_on_all_ranks_read_on_one_and_the_reverse(tmp_path_factory):
    world = MPI.COMM_WORLD
    folder = world.bcast(tmp_path_factory.mktemp("n_to_1") if world.rank == 0 else None)
    single = world.Split(0 if world.rank == 0 else MPI.UNDEFINED, world.rank)
    _roundtrip(world, single, folder)  # N -> 1
    folder = world.bcast(tmp_path_factory.mktemp("1_to_n") if world.rank == 0 else None)
    _roundtrip(single, world, folder)  # 1 -> N
    if single != MPI.COMM_NULL:
        single.Free()


def test_a_checkpoint_of_another_mesh_is_refused(tmp_path):
    comm = MPI.COMM_WORLD
    _, arrays, found = _state(comm)
    checkpoint.save(comm, tmp_path, {"time": 1.0}, arrays, found)
    other = dolfinx.mesh.create_unit_cube(comm, 2, 2, 2, ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    with pytest.raises(RunDirectoryError, match="do not match this run's mesh"):
        checkpoint.load(comm, tmp_path).arrays(comm, layouts(other, []))


@pytest.mark.mpi
def test_partition_bound_arrays_and_earlier_checkpoints_keep_their_rank_count(tmp_path):
    comm = MPI.COMM_WORLD
    _, arrays, found = _state(comm)
    folder = comm.bcast(tmp_path if comm.rank == 0 else None)
    checkpoint.save(comm, folder, {"time": 1.0}, {**arrays, "order": np.arange(2 + comm.rank)}, found)
    meta = checkpoint.load(comm, folder).meta
    assert checkpoint.partition_bound(meta) == (["order"] if comm.size > 1 else [])
    # the earlier format: every rank's local arrays as they were, no "stored" table; read back unchanged
    old = folder / "old" / checkpoint.FOLDER
    if comm.rank == 0:
        old.mkdir(parents=True)
    comm.barrier()
    np.savez(old / f"state_g0_r{comm.rank}.npz", **arrays)
    if comm.rank == 0:
        (old / checkpoint.META).write_text(json.dumps({"time": 2.0, "generation": 0, "ranks": comm.size}))
    comm.barrier()
    stored = checkpoint.load(comm, folder / "old")
    assert checkpoint.partition_bound(stored.meta) == ["every array (checkpoint of an earlier version)"]
    got = stored.arrays(comm, found)
    assert all(np.array_equal(got[k], v) for k, v in arrays.items())
