"""MPI groups: independent jobs run round-robin on equal groups of ranks.

``MPI_COMM_WORLD`` is split into ``G`` groups of ``ranks_per_group`` consecutive ranks; group ``g`` runs
jobs ``g, g + G, g + 2G, ...`` one after the other on its own communicator. ``compare`` runs one
simulation per regimen this way, ``forecast`` one per regimen and posterior sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpi4py import MPI

from oncotwin.core.errors import OncotwinError
from oncotwin.la.petsc import release_garbage
from oncotwin.mesh.distribute import DistributedMeshes
from oncotwin.run.simulation import Simulation


@dataclass(frozen=True)
class Job:
    """One independent piece of work for a group.

    Attributes:
        what: what the job is, for the failure message (e.g. ``"regimen 'tmz'"``).
        run: called once on every rank of the group with the group communicator; returns the result.
    """

    what: str
    run: Callable[[MPI.Comm], Any]


def split(comm: MPI.Comm, ranks_per_group: int, flag: str = "--ranks-per-regimen") -> tuple[MPI.Comm, int, int]:
    """Split ``comm`` into groups of ``ranks_per_group`` consecutive ranks.

    Args:
        comm: the communicator to split (every rank calls this).
        ranks_per_group: ranks of each group; must divide ``comm.size``.
        flag: how the user set ``ranks_per_group`` (named in the error).

    Returns:
        The group communicator of this rank (free it after use), its group index and the number of groups.

    Raises:
        OncotwinError: when ``ranks_per_group`` does not divide the number of ranks.
    """
    if ranks_per_group < 1 or comm.size % ranks_per_group:
        raise OncotwinError(f"{flag} {ranks_per_group} must divide the number of ranks "
                            f"({comm.size})")
    group = comm.rank // ranks_per_group
    return comm.Split(color=group, key=comm.rank), group, comm.size // ranks_per_group


def run_in_groups(comm: MPI.Comm, group_comm: MPI.Comm, group: int, n_groups: int,
                  jobs: Sequence[Job]) -> dict[int, Any]:
    """Run ``jobs`` round-robin over the groups: group ``g`` runs jobs ``g, g + G, ...``.

    A group stops at its first failing job; the others carry on to the end of their share.

    Args:
        comm: the communicator that was split (every rank calls this).
        group_comm: this rank's group.
        group: this rank's group index.
        n_groups: number of groups.
        jobs: the jobs, in order.

    Returns:
        Job index -> result, for the jobs this rank's group ran.

    Raises:
        OncotwinError: on every rank, after all groups have finished, when a job failed (the failure of
            the lowest group).
    """
    results, failure = {}, None
    for index, job in enumerate(jobs):
        if index % n_groups != group:
            continue
        try:
            results[index] = job.run(group_comm)
        except OncotwinError as exc:  # reported after every group has finished
            failure = f"{job.what}: {exc}"
            break
    failures = [f for f in comm.allgather(failure if group_comm.rank == 0 else None) if f]
    if failures:
        raise OncotwinError(failures[0])
    return results


def simulation_job(what: str, label: str, case, out: Path, case_file: Path, case_sha256: str,
                   mesh_root: Path, meshes: DistributedMeshes | None = None) -> Job:
    """A job that runs one simulation of ``case`` into the run folder ``out`` on the group's ranks.

    Args:
        what: what the run is, for the failure message.
        label: progress label of the run.
        case: the validated case.
        out: its run folder.
        case_file: the case file (provenance).
        case_sha256: its hash.
        mesh_root: mesh cache (the mesh must exist: make it before splitting).
        meshes: the distributed meshes shared by the jobs of a group (:class:`DistributedMeshes`); one
            object for all jobs: each group then reads the mesh once.
    """
    def run(group_comm: MPI.Comm) -> Path:
        final = Simulation(group_comm, case, case_file, case_sha256, out, mesh_root, label=label,
                           meshes=meshes).run()
        release_garbage(group_comm)  # the next job of this group starts with its communicators free
        return final

    return Job(what, run)
