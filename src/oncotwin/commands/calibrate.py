"""``oncotwin calibrate``: fit growth and treatment parameters to follow-up segmentations.

``oncotwin calibrate CASE --observations OBS [--prior PRIOR]`` fits one patient;
``oncotwin calibrate --cohort COHORT`` fits a population prior over earlier patients (``prior.yaml``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mpi4py import MPI

from oncotwin.calibration.calibrate import calibrate
from oncotwin.calibration.cohort import calibrate_cohort
from oncotwin.core.errors import OncotwinError


def _check(args: argparse.Namespace) -> None:
    """One patient (CASE and --observations) or a cohort (--cohort alone)."""
    if args.cohort is not None:
        extra = [flag for flag, value in (("CASE", args.case), ("--observations", args.observations),
                                          ("--update", args.update), ("--prior", args.prior)) if value is not None]
        if extra:
            raise OncotwinError(f"calibrate --cohort {args.cohort}: the cases and observations come from the cohort "
                                f"file; drop {', '.join(extra)}")
    elif args.reuse is not None:
        raise OncotwinError(f"calibrate --reuse {args.reuse}: reusing individual fits needs --cohort COHORT.yaml")
    elif args.case is None or args.observations is None:
        raise OncotwinError("calibrate: give a case file and --observations (one patient), or --cohort COHORT.yaml")


def _print_cohort(final: Path, summary: dict) -> None:
    reused = sum(p["reused"] for p in summary["patients"])
    print(f"cohort calibration: {final} ({len(summary['patients'])} patients"
          + (f", {reused} earlier fit(s) reused" if reused else "") + ", EM "
          f"{'converged' if summary['em']['converged'] else 'NOT converged'})")
    for name, p in summary["parameters"].items():
        low, high = p["population_median_interval_95"]
        note = "" if p["informed"] else "  NOT informed by the data: the prior is kept"
        print(f"  {name:<22s} median {p['population_median']:.4g} {p['unit']} (95 % {low:.4g}-{high:.4g}), "
              f"between-patient log sd {p['between_patient_log_sd']:.3g}, new patient log sd "
              f"{p['new_patient_log_sd']:.3g}{note}")
    print(f"  prior of a new patient: {final / 'prior.yaml'} (calibration.prior: FILE, or --prior FILE)")


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Calibrate and print the fitted parameters and misfits (rank 0); returns the exit status."""
    _check(args)
    if args.cohort is not None:
        out = args.out or Path("results") / f"{args.cohort.stem}_cohort"
        final, summary = calibrate_cohort(comm, args.cohort, out, args.mesh_dir, args.force,
                                          args.reuse)
        if comm.rank == 0:
            _print_cohort(final, summary)
        return 0
    out = args.out or Path("results") / f"{args.case.stem}_calibration"
    final, summary = calibrate(comm, args.case, args.observations, out, args.mesh_dir, args.update, args.force,
                               args.prior, args.ranks_per_run)
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
