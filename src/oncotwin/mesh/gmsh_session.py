"""A gmsh session as a context manager (gmsh is process-global state)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import gmsh


@contextlib.contextmanager
def gmsh_session(name: str, verbosity: int = 1, threads: int = 1) -> Iterator[None]:
    """Initialise gmsh with a fresh model ``name`` and finalise it afterwards.

    gmsh's own signal handlers are disabled so that Ctrl-C and MPI aborts behave normally.
    """
    gmsh.initialize(["-noenv"], readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 1 if verbosity > 1 else 0)
        gmsh.option.setNumber("General.Verbosity", verbosity)
        gmsh.option.setNumber("General.NumThreads", threads)
        gmsh.model.add(name)
        yield
    finally:
        gmsh.finalize()
