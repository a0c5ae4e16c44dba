"""Logging that prints on rank 0 only (as in fenicsx-pulse)."""

from __future__ import annotations

import logging
import sys

from mpi4py import MPI

LOGGER_NAME = "oncotwin"


class RankZeroFilter(logging.Filter):
    """Drop records on every rank but 0 of ``comm``."""

    def __init__(self, comm: MPI.Comm):
        super().__init__()
        self.rank = comm.rank

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        return self.rank == 0


def get_logger(name: str | None = None) -> logging.Logger:
    """Return the package logger or a child of it."""
    return logging.getLogger(LOGGER_NAME if name is None else f"{LOGGER_NAME}.{name}")


def configure(comm: MPI.Comm, level: int = logging.INFO) -> logging.Logger:
    """Send ``oncotwin`` log records of rank 0 to stderr with a short format."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[oncotwin] %(message)s"))
    handler.addFilter(RankZeroFilter(comm))
    logger.addHandler(handler)
    logger.propagate = False
    return logger
