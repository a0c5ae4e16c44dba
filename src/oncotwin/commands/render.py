"""``oncotwin render``: re-render the figures of a run from its files."""

from __future__ import annotations

import argparse

from mpi4py import MPI

from oncotwin.core.errors import InputDataError
from oncotwin.core.parallel import on_root
from oncotwin.io.figures import render_run


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Render on rank 0 and print the written files; returns the exit status."""
    def render():
        if not (args.run_dir / "fields.pvd").is_file() or not (args.run_dir / "summary.json").is_file():
            raise InputDataError(f"{args.run_dir}: not a run folder (fields.pvd and summary.json expected)")
        return render_run(args.run_dir, background=not args.no_background)

    written = on_root(comm, render)
    if comm.rank == 0:
        for path in written:
            print(path)
    return 0
