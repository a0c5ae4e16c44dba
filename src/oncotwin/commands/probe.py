"""``oncotwin probe``: sample a field of a run at world coordinates (mm) into CSV."""

from __future__ import annotations

import argparse
import sys

from mpi4py import MPI

from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import new_file
from oncotwin.io.probe import probe, read_points, write_probe_csv


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Probe on rank 0 into ``--out`` or standard output; returns the exit status."""
    def run():
        names, points = read_points(args.points)
        times, values = probe(args.run_dir, args.field, points, args.time)
        if args.out:
            with new_file(args.out, args.force) as tmp, open(tmp, "w", newline="") as fh:
                write_probe_csv(fh, names, points, args.field, times, values)
        else:
            write_probe_csv(sys.stdout, names, points, args.field, times, values)

    on_root(comm, run)
    return 0
