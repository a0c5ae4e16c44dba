"""``oncotwin version``: versions of oncotwin and its stack."""

from __future__ import annotations

import argparse

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.run.manifest import package_versions


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Print the versions (rank 0); returns the exit status."""
    if comm.rank == 0:
        print(f"oncotwin {__version__}")
        for name, version in package_versions().items():
            if name != "oncotwin":
                print(f"  {name} {version}")
    return 0
