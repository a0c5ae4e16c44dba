"""Progress of a time loop on rank 0: simulated time, percentage and estimated time to completion."""

from __future__ import annotations

import sys
import time

from mpi4py import MPI


class Progress:
    """Rank-0 progress display.

    On a terminal it redraws one line; otherwise (logs, CI) it prints a line at most every
    ``interval`` seconds of wall time.
    """

    def __init__(self, comm: MPI.Comm, end: float, label: str = "run", interval: float = 10.0,
                 stream=None):
        self.active = comm.rank == 0
        self.end, self.label, self.interval = end, label, interval
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self._last = -float("inf")

    def update(self, t: float) -> None:
        """Report simulated time ``t`` [s]."""
        if not self.active:
            return
        now = time.perf_counter()
        if not self.tty and now - self._last < self.interval and t < self.end:
            return
        self._last = now
        fraction = min(max(t / self.end, 0.0), 1.0) if self.end > 0 else 1.0
        elapsed = now - self.start
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        bar = "#" * int(30 * fraction)
        text = (f"[oncotwin] {self.label} [{bar:<30s}] day {t / 86400:.2f}/{self.end / 86400:.2f} "
                f"({100 * fraction:.0f}%), elapsed {_clock(elapsed)}, ETA {_clock(eta)}")
        self.stream.write(("\r" + text) if self.tty else (text + "\n"))
        self.stream.flush()

    def close(self) -> None:
        """Finish the line on a terminal."""
        if self.active and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "--"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"
