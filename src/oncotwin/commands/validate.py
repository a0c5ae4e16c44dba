"""``oncotwin validate``: check a case file and print it resolved in internal units."""

from __future__ import annotations

import argparse
import json

from mpi4py import MPI

from oncotwin.case import load_case


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Print the resolved case as JSON (rank 0); returns the exit status."""
    case, digest = load_case(comm, args.case)
    if comm.rank == 0:
        resolved = json.loads(case.model_dump_json())
        print(json.dumps({"case_file": str(args.case), "sha256": digest, "case": resolved}, indent=2))
    return 0
