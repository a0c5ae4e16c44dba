"""``oncotwin compare``: run several treatment regimens on one case and rank them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mpi4py import MPI

from oncotwin.case.regimens import read_regimens
from oncotwin.core.parallel import on_root
from oncotwin.studies.compare import Comparison


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Run the comparison and print its table (rank 0); returns the exit status."""
    case, digest, spec, regimens, regimens_digest = on_root(comm, read_regimens, args.case, args.regimens)
    out = args.out or Path("results") / f"{case.name}_compare"
    final = Comparison(comm, regimens, spec, args.case, digest, args.regimens, regimens_digest, out,
                       args.mesh_dir, args.ranks_per_regimen, args.force).run()
    if comm.rank == 0:
        table = json.loads((final / "comparison.json").read_text())
        print(f"comparison: {final}")
        print(f"  objective: {table['objective']['description']}")
        for entry in table["regimens"]:
            m = entry["metrics"]
            rank = entry["rank"] if entry["rank"] is not None else "-"
            print(f"  {rank!s:>2} {entry['name']:<20s} {m['response']:>2s}  final volume "
                  f"{m['final_tumour_volume_mm3']:.4g} mm^3 ({m['percent_change']:+.1f} %)"
                  + ("" if m["feasible"] else "  infeasible: " + "; ".join(m["violations"])))
        print(f"  table: {final / 'comparison.csv'}; report: oncotwin report {final}")
    return 0
