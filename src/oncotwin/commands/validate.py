"""``oncotwin validate``: check a case file and print it resolved in internal units.

With ``treatment.patient.profile`` the output also lists the profile rules that fired and the parameter
priors they produced (``profile``: ``rules_fired`` in order, ``priors`` of every target).
"""

from __future__ import annotations

import argparse
import json

from mpi4py import MPI

from oncotwin.case import load_case
from oncotwin.case.schema import Case


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Print the resolved case as JSON (rank 0); returns the exit status."""
    case, digest = load_case(comm, args.case)
    if comm.rank == 0:
        resolved = json.loads(case.model_dump_json())
        out = {"case_file": str(args.case), "sha256": digest, "case": resolved}
        if case.treatment.patient.profile is not None:
            out["profile"] = profile_summary(case)
        print(json.dumps(out, indent=2))
    return 0


def profile_summary(case: Case) -> dict:
    """The rules that fired for the case's profile (with the prior before and after) and the priors."""
    priors, fired = case.treatment.patient.profile.priors()
    return {
        "rules_fired": [{"rule": f.rule.name, "target": f.rule.target, "before": f.before, "after": f.after,
                         "effect_size": f.rule.effect_size, "source": f.rule.source} for f in fired],
        "priors": priors,
    }
