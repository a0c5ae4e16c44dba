"""Shared fixtures. Tests marked ``mpi`` also run under ``mpirun -n 2`` (see the Makefile)."""
# ruff: noqa: I001  (oncotwin.core.fenics, which loads dolfinx_solver, comes before mpi4py)

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import oncotwin.core.fenics  # noqa: F401  (dolfinx_solver before anything else)
from mpi4py import MPI

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BIN = Path(sys.executable).parent


@pytest.fixture
def comm():
    """The world communicator."""
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path, comm):
    """A temporary folder that every rank sees (rank 0's)."""
    return Path(comm.bcast(str(tmp_path), root=0))


@pytest.fixture
def data_dir():
    """../shared/data, or a clean skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"real imaging data not found at {DATA} (needs ../shared/data beside the repository)")
    return DATA


def oncotwin_cmd(*args: str, ranks: int = 1) -> list[str]:
    """Command line for the installed ``oncotwin`` (optionally under mpirun)."""
    exe = shutil.which("oncotwin", path=str(BIN)) or "oncotwin"
    cmd = [exe, *args]
    return [str(BIN / "mpirun"), "-n", str(ranks), *cmd] if ranks > 1 else cmd


def run_cli(*args: str, ranks: int = 1, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess (a hang fails the test through the timeout)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for key in [k for k in env if k.startswith(("PMI_", "MPI_", "HYDRA_", "OMPI_"))]:
        env.pop(key)  # run as a fresh job even when pytest itself runs under mpirun
    return subprocess.run(oncotwin_cmd(*args, ranks=ranks), capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)
