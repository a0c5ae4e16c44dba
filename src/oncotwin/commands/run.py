"""``oncotwin run``: run a case into its run folder (``--prior FILE``: at a population prior's medians)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from mpi4py import MPI

from oncotwin.calibration.parameters import at_prior_medians
from oncotwin.case import load_case
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import with_prior
from oncotwin.case.prior_file import read_prior_file
from oncotwin.core.hashing import file_sha256
from oncotwin.core.parallel import on_root
from oncotwin.run.simulation import Simulation


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Run the simulation and print where its results are (rank 0); returns the exit status."""
    case, digest = load_case(comm, args.case)
    if getattr(args, "prior", None) is not None:
        # the prior's medians replace the case's values (a new patient predicted from the population);
        # the run's hash chains the prior file's, as a derived case file's chains its base's
        names = list(on_root(comm, read_prior_file, args.prior))
        case = at_prior_medians(on_root(comm, with_prior, case, args.prior), names)
        prior_digest = on_root(comm, file_sha256, args.prior)
        digest = hashlib.sha256((digest + prior_digest).encode("ascii")).hexdigest()
        if comm.rank == 0:
            print("prior medians: " + ", ".join(f"{n} {PARAMETERS[n].text(case.calibration.parameters[n].prior)}"
                                                for n in names))
    out = args.out or Path("results") / case.name
    final = Simulation(comm, case, args.case, digest, out, args.mesh_dir, force=args.force,
                       remesh=args.remesh, resume=args.resume).run()
    if comm.rank == 0:
        print(f"results: {final}")
        print(f"  open in ParaView: paraview {final / 'fields.pvd'}")
        print(f"  metrics: {final / 'metrics.csv'}; provenance: {final / 'manifest.json'}")
    return 0
