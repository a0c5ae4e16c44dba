"""``oncotwin forecast``: run regimens on samples of a calibration's posterior, as probabilities."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mpi4py import MPI

from oncotwin.calibration.forecast import forecast


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Forecast and print the probabilities per regimen (rank 0); returns the exit status."""
    out = args.out or Path("results") / f"{args.case.stem}_forecast"
    by = None if args.by_day is None else args.by_day * 86400.0
    final = forecast(comm, args.case, args.calibration, out, args.mesh_dir, args.regimens, args.samples, args.seed,
                     args.ranks_per_member, by, args.resistant_above, args.force, args.prior)
    if comm.rank == 0:
        summary = json.loads((final / "forecast.json").read_text())
        print(f"forecast: {final} ({summary['samples']} samples per regimen)")
        for r in summary["regimens"]:
            print(f"  {r['regimen']:<20s} P(progression by day {r['by_day']:g}) {r['p_progression']:.2f}, "
                  f"P(resistant > {r['resistant_threshold']:g}) {r['p_resistant_above']:.2f}, final volume "
                  f"{r['final_volume_p50_mm3']:.4g} mm^3 (90 % {r['final_volume_p5_mm3']:.4g}-"
                  f"{r['final_volume_p95_mm3']:.4g})")
        print(f"  bands: {final / 'bands.csv'}; figure: {final / 'forecast_volume.png'}")
    return 0
