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


def signal_job(pid: int, sig: int) -> None:
    """Send ``sig`` to a job started with ``start_new_session=True`` and to every process it spawned.

    mpirun's Hydra proxy starts each rank in a session of its own, so a signal to the job's process group
    reaches only mpirun: SIGSTOP, which mpirun cannot forward, would leave the ranks running.
    """
    for child in [*_descendants(pid), pid]:
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_cli(*args: str, ranks: int = 1, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess (a hang fails the test through the timeout)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for key in [k for k in env if k.startswith(("PMI_", "MPI_", "HYDRA_", "OMPI_"))]:
        env.pop(key)  # run as a fresh job even when pytest itself runs under mpirun
    return subprocess.run(oncotwin_cmd(*args, ranks=ranks), capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)
