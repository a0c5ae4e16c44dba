"""MPI groups: every job runs exactly once, on its group, with the serial results (also under mpirun -n 2)."""

from __future__ import annotations

from functools import partial

import pytest
from mpi4py import MPI

from oncotwin.core.errors import OncotwinError
from oncotwin.studies.groups import Job, run_in_groups, split

JOBS = 7


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _work(k: int, calls: list[int], group_comm: MPI.Comm) -> float:
    calls.append(k)
    return group_comm.allreduce(k * k + 1.0) / group_comm.size  # collective: the whole group takes part


def _gather_results(comm: MPI.Comm, group_comm: MPI.Comm, results: dict) -> list[tuple[int, float]]:
    """(job, result) of every group, once per group (from its first rank)."""
    per_group = comm.allgather(results if group_comm.rank == 0 else None)
    return sorted((k, v) for r in per_group if r is not None for k, v in r.items())


@pytest.mark.mpi
@pytest.mark.parametrize("ranks_per_group", [1, 2])
def test_jobs_over_groups_give_the_serial_results_and_run_once(comm, ranks_per_group):
    if comm.size % ranks_per_group:
        pytest.skip(f"{ranks_per_group} rank(s) per group do not divide {comm.size}")
    group_comm, group, n_groups = split(comm, ranks_per_group)
    try:
        assert n_groups == comm.size // ranks_per_group and group == comm.rank // ranks_per_group
        assert group_comm.size == ranks_per_group
        calls: list[int] = []
        results = run_in_groups(comm, group_comm, group, n_groups,
                                [Job(f"job {k}", partial(_work, k, calls)) for k in range(JOBS)])
        assert sorted(results) == [k for k in range(JOBS) if k % n_groups == group]
        assert _gather_results(comm, group_comm, results) == [(k, k * k + 1.0) for k in range(JOBS)]
        assert calls == sorted(results)  # in order, each once on this rank
        every_call = sorted(k for c in comm.allgather(calls) for k in c)
        assert every_call == sorted(list(range(JOBS)) * ranks_per_group)  # once per rank of its group
    finally:
        group_comm.Free()


def _fail_at(k: int, bad: int, calls: list[int], group_comm: MPI.Comm) -> int:
    calls.append(k)
    if k == bad:
        raise OncotwinError("no convergence")
    return k


@pytest.mark.mpi
def test_a_failing_job_stops_its_group_and_fails_every_rank_after_all_finished(comm):
    group_comm, group, n_groups = split(comm, 1)
    try:
        calls: list[int] = []
        bad = 2 if n_groups == 1 else 3  # a job of the last group when there are two
        with pytest.raises(OncotwinError, match=f"^job {bad}: no convergence$"):
            run_in_groups(comm, group_comm, group, n_groups,
                          [Job(f"job {k}", partial(_fail_at, k, bad, calls)) for k in range(JOBS)])
        mine = [k for k in range(JOBS) if k % n_groups == group]
        expected = [k for k in mine if k <= bad] if bad in mine else mine  # the others carry on to the end
        assert calls == expected
    finally:
        group_comm.Free()


@pytest.mark.parametrize("ranks_per_group", [0, -1, MPI.COMM_WORLD.size + 1])
def test_group_size_must_divide_the_ranks(ranks_per_group):
    with pytest.raises(OncotwinError, match="must divide the number of ranks"):
        split(MPI.COMM_WORLD, ranks_per_group)
