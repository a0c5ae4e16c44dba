"""``oncotwin calibrate``: fit growth and treatment parameters to follow-up segmentations."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpi4py import MPI

from oncotwin.calibration.calibrate import calibrate


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Calibrate and print the fitted parameters and misfits (rank 0); returns the exit status."""
    out = args.out or Path("results") / f"{args.case.stem}_calibration"
    final, summary = calibrate(comm, args.case, args.observations, out, args.mesh_dir, args.update, args.force)
    if comm.rank == 0:
        state = ("converged" if summary["converged"] else
                 "NOT informed by the observations: the result is the prior" if summary.get("flat") else
                 "stopped at the iteration limit")
        print(f"calibration: {final} ({state}, {summary['forward_runs']} forward runs, misfit "
              f"{summary['objective']:.4g})")
        for name, p in summary["parameters"].items():
            low, high = p["interval_95"]
            print(f"  {name:<22s} {p['map']:.4g} {p['unit']}  (95 % {low:.4g}-{high:.4g}; prior {p['prior_median']:.4g})"
                  + ("  at a bound" if p["at_bound"] else ""))
        for name, o in summary["observations"].items():
            if "volume_observed_mm3" in o:
                print(f"  {name}: volume {o['volume_simulated_mm3']:.4g} mm^3 simulated vs "
                      f"{o['volume_observed_mm3']:.4g} observed, Dice {o['dice']:.3f}")
        print(f"  run the calibrated case: oncotwin run {final / 'calibrated.yaml'}")
    return 0
