"""Forward runs of a calibration evaluated concurrently on MPI groups, as ``compare`` and ``forecast`` do.

The columns of a finite-difference Jacobian, the points of a design and the members of an ensemble are
independent runs: with ``G`` groups of ``ranks_per_run`` ranks (:func:`oncotwin.studies.groups.split`)
``G`` of them run at once, each on its own copy of the mesh distributed over its group.

A residual's spatial part lives on the cells of the partition it was computed on. To combine residuals
of different groups (and with those of the whole communicator) each is put back into the layout of the
whole communicator through the mesh's original cell numbers, which do not depend on the partition:
the group's root gathers the residual in that numbering and broadcasts it, and every rank keeps the
entries of its own cells. The misfit itself is a sum over cells of partition-independent terms (the
observed fractions are sampled at sub-cell points of each cell, :func:`~oncotwin.calibration.calibrate.
observed_fractions`), so any split gives the same residual up to the round-off of the sums and the
linear solvers' tolerances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from oncotwin.calibration.misfit import Residual
from oncotwin.core.errors import OncotwinError
from oncotwin.studies.groups import Job, run_in_groups, split


def check_group_size(comm: MPI.Comm, ranks_per_run: int, flag: str = "--ranks-per-run") -> None:
    """One-line error unless ``ranks_per_run`` divides the number of ranks (before anything is written)."""
    if ranks_per_run < 1 or comm.size % ranks_per_run:
        raise OncotwinError(f"{flag} {ranks_per_run} must divide the number of ranks ({comm.size})")


def original_cells(tmesh) -> np.ndarray:
    """Original (input file) numbers of the owned cells: the same for any partition of the mesh."""
    topology = tmesh.mesh.topology
    n = topology.index_map(topology.dim).size_local
    return np.asarray(topology.original_cell_index[:n], dtype=np.int64)


@dataclass(frozen=True)
class Layout:
    """Where the spatial entries of a residual sit: ``blocks[s]`` blocks of the owned cells of mesh ``s``.

    Attributes:
        cells: per mesh, the original numbers of this rank's owned cells.
        blocks: per mesh, the number of cell-sized blocks (one per observation date).
        totals: per mesh, the number of cells.
    """

    cells: tuple[np.ndarray, ...]
    blocks: tuple[int, ...]
    totals: tuple[int, ...]

    @classmethod
    def create(cls, comm: MPI.Comm, cells: Sequence[np.ndarray], blocks: Sequence[int]) -> Layout:
        """The layout of this rank (collective: counts the cells)."""
        totals = tuple(int(comm.allreduce(len(c), op=MPI.SUM)) for c in cells)
        return cls(tuple(cells), tuple(blocks), totals)

    def to_global(self, comm: MPI.Comm, spatial: np.ndarray) -> list[np.ndarray] | None:
        """Per mesh, the ``(blocks, cells)`` array in original cell order on the root of ``comm``."""
        out, start = [], 0
        for cells, blocks, total in zip(self.cells, self.blocks, self.totals, strict=True):
            local = spatial[start:start + blocks * len(cells)].reshape(blocks, len(cells))
            start += blocks * len(cells)
            parts = comm.gather((cells, local), root=0)
            if comm.rank == 0:
                full = np.zeros((blocks, total))
                for c, values in parts:
                    full[:, c] = values
                out.append(full)
        if start != len(spatial):
            raise ValueError(f"residual has {len(spatial)} spatial entries, the layout {start}")
        return out if comm.rank == 0 else None

    def from_global(self, full: list[np.ndarray]) -> np.ndarray:
        """This rank's spatial entries from the per-mesh arrays in original cell order."""
        parts = [f[:, cells].ravel() for f, cells in zip(full, self.cells, strict=True)]
        return np.concatenate(parts) if parts else np.zeros(0)


class GroupedRuns:
    """Evaluate residuals at several points concurrently on groups of ``ranks_per_run`` ranks.

    Args:
        comm: the whole communicator (every rank constructs this).
        ranks_per_run: ranks of each group; must divide ``comm.size``.
        build: given the group communicator, returns ``(evaluate, layout, readouts)``: the residual
            function on the group's copy of the meshes, its :class:`Layout`, and a function of the
            replicated readouts (a vector, the same on every rank of the group).
        layout: the layout of the whole communicator's residuals.
        flag: how the user set ``ranks_per_run`` (for the error message).

    Raises:
        OncotwinError: ``ranks_per_run`` does not divide the number of ranks (on every rank).
    """

    def __init__(self, comm: MPI.Comm, ranks_per_run: int,
                 build: Callable[[MPI.Comm], tuple[Callable, Layout, Callable]], layout: Layout,
                 flag: str = "--ranks-per-run"):
        self.comm, self.ranks_per_run, self.layout = comm, ranks_per_run, layout
        self.group_comm, self.group, self.n_groups = split(comm, ranks_per_run, flag)
        self.evaluate, self.group_layout, self.readouts = build(self.group_comm)
        self.seconds = 0.0  # wall time of the concurrent batches (the forward runs' share of the calibration)

    def __call__(self, points: Sequence[np.ndarray]) -> list[Residual]:
        """Residuals at ``points`` (world layout, in order); the groups share the points round-robin."""
        jobs = [Job(f"forward run {k}", lambda _, x=np.asarray(x): self.evaluate(x)) for k, x in enumerate(points)]
        done = self._run(jobs)
        out = []
        for k in range(len(points)):
            root = (k % self.n_groups) * self.ranks_per_run  # world rank of the group root that ran job k
            payload = None
            if k in done:
                full = self.group_layout.to_global(self.group_comm, done[k].spatial)
                payload = (full, done[k].scalar) if self.group_comm.rank == 0 else None
            full, scalar = self.comm.bcast(payload, root=root)
            out.append(Residual(self.layout.from_global(full), np.asarray(scalar)))
        return out

    def scalars(self, points: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Replicated readout vectors at ``points`` (in order, on every rank), run round-robin on the groups."""
        jobs = [Job(f"forward run {k}", lambda _, x=np.asarray(x): self.readouts(x)) for k, x in enumerate(points)]
        done = self._run(jobs)
        return [np.asarray(self.comm.bcast(done.get(k), root=(k % self.n_groups) * self.ranks_per_run))
                for k in range(len(points))]

    def _run(self, jobs: list[Job]) -> dict:
        started = time.perf_counter()
        done = run_in_groups(self.comm, self.group_comm, self.group, self.n_groups, jobs)
        self.seconds += time.perf_counter() - started
        return done

    def free(self) -> None:
        """Release the group communicator."""
        self.group_comm.Free()
