"""MPI helpers: rank-0 work with broadcast results, and errors raised on every rank.

An error detected on one rank must reach all ranks, otherwise the others wait forever in the next
collective call. :func:`on_root` runs a function on rank 0 and broadcasts either its result or its
exception; :func:`collective` runs a function on every rank and re-raises the first error on all ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mpi4py import MPI

T = TypeVar("T")


def on_root(comm: MPI.Comm, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on rank 0 and return its result on every rank.

    Exceptions raised on rank 0 are re-raised on all ranks (same type and message).
    """
    payload: tuple[bool, Any] = (True, None)
    if comm.rank == 0:
        try:
            payload = (True, fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - forwarded to every rank
            payload = (False, exc)
    ok, value = comm.bcast(payload, root=0)
    if not ok:
        raise value
    return value


def collective(comm: MPI.Comm, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on every rank; if any rank raises, raise the lowest failing rank's error everywhere.

    ``fn`` must not itself call collectives after a rank-local failure point that other ranks could
    skip; use it around rank-local work (file reads, checks), not around PETSc solves.
    """
    error: Exception | None = None
    result: Any = None
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - forwarded to every rank
        error = exc
    failed = comm.allgather(error is not None)
    if any(failed):
        first = failed.index(True)
        raise comm.bcast(error, root=first)
    return result


def check_all(comm: MPI.Comm, ok: bool, error: Exception) -> None:
    """Raise ``error`` on all ranks if ``ok`` is False on any rank."""
    if not comm.allreduce(bool(ok), op=MPI.LAND):
        raise error
