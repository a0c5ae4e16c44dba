"""``oncotwin run``: run a case into its run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpi4py import MPI

from oncotwin.case import load_case
from oncotwin.run.simulation import Simulation


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Run the simulation and print where its results are (rank 0); returns the exit status."""
    case, digest = load_case(comm, args.case)
    out = args.out or Path("results") / case.name
    final = Simulation(comm, case, args.case, digest, out, args.mesh_dir, force=args.force,
                       remesh=args.remesh, resume=args.resume).run()
    if comm.rank == 0:
        print(f"results: {final}")
        print(f"  open in ParaView: paraview {final / 'fields.pvd'}")
        print(f"  metrics: {final / 'metrics.csv'}; provenance: {final / 'manifest.json'}")
    return 0
