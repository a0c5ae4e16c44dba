"""``oncotwin report``: a self-contained HTML report of a run, comparison, calibration or forecast."""

from __future__ import annotations

import argparse

from mpi4py import MPI

from oncotwin.core.errors import InputDataError
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import new_file
from oncotwin.report.write import write_report


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Write the report on rank 0 and print its path; returns the exit status."""
    def write():
        if not (args.run_dir / "manifest.json").is_file():
            raise InputDataError(f"{args.run_dir}: not a run, comparison, calibration or forecast folder (manifest.json expected)")
        target = args.out or args.run_dir / "report.html"
        # The default report.html belongs to the result it describes and is regenerated freely; a file
        # the user named is replaced only with --force.
        with new_file(target, args.force or args.out is None) as tmp:
            write_report(args.run_dir, tmp)
        return target

    path = on_root(comm, write)
    if comm.rank == 0:
        print(f"report: {path}")
    return 0
