"""Stop requests (SIGINT, SIGTERM) honoured at the next safe point of the time loop.

A scheduler's time limit sends SIGTERM; Ctrl-C sends SIGINT. Inside :func:`deferred_stop` either signal
only records itself; the time loop asks :func:`requested` once per step (collective: a signal seen by
any rank stops every rank at the same step), so the last checkpoint stays complete and resumable.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from mpi4py import MPI

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_received: list[int] = []


def _record(signum, _frame) -> None:
    _received.append(signum)


@contextmanager
def deferred_stop() -> Iterator[None]:
    """Record SIGINT and SIGTERM instead of acting on them; the previous handlers return on exit."""
    _received.clear()
    previous = {sig: signal.signal(sig, _record) for sig in EXIT_CODES}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _received.clear()


def requested(comm: MPI.Comm) -> int:
    """The signal number received by any rank since :func:`deferred_stop` began, or 0 (collective)."""
    return comm.allreduce(int(_received[0]) if _received else 0, op=MPI.MAX)


def exit_code(signum: int) -> int:
    """Shell convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return EXIT_CODES.get(signum, 128 + int(signum))
