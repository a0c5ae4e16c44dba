"""Calibration on the real BraTS glioma against synthetic follow-ups at day 30 and day 60.

Usage (from the repository root; needs ../shared/data)::

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/brats_calibration.py [OUT]
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/brats_calibration.py OUT --surrogate on --ranks-per-run 1
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/brats_calibration.py OUT --multilevel 2 --ranks-per-run 1

1. The truth (proliferation 0.07 /day, invasion diffusivity 0.25 mm^2/day in the viable tumour, alpha
   0.045 /Gy) runs the 60-day radiotherapy course of ``cases/brats2013_pat0001_calibration.yaml``; its
   visible tumour is rasterised onto the patient's 240x240x155 grid at day 30 and day 60 and segmented
   with 5 % log-normal volume noise (the follow-ups the data folder does not have).
2. ``oncotwin calibrate`` (the same pipeline, called in-process on every rank) fits the three
   parameters from the case's priors (0.05 /day, 0.13 mm^2/day, 0.03 /Gy).
   ``--surrogate on|off|auto`` sets ``calibration.surrogate`` and ``--multilevel F`` sets
   ``calibration.multilevel.coarse_factor`` (through a case fragment with ``base:`` the case), and
   ``--ranks-per-run`` the MPI groups of the forward runs.
3. The wall times, forward runs, misfit and recovered parameters are printed as a Markdown block for
   BENCHMARKS.md (``OUT/benchmark.json`` too).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mpi4py import MPI

import oncotwin.core.fenics  # noqa: F401  (dolfinx_solver first)
from oncotwin.calibration.calibrate import calibrate
from oncotwin.calibration.synthetic import write_synthetic_observations
from oncotwin.case import load_case
from oncotwin.core.log import configure
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh

DAY = 86400.0
CASE = Path("cases/brats2013_pat0001_calibration.yaml")
TRUTH = {"proliferation_rate": 0.07 / DAY, "invasion_diffusivity": 0.25 / DAY, "radiosensitivity": 0.045}
UNITS = {"proliferation_rate": ("1/day", DAY), "invasion_diffusivity": ("mm^2/day", DAY),
         "radiosensitivity": ("1/Gy", 1.0)}


def main() -> None:
    comm = MPI.COMM_WORLD
    configure(comm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("results/brats_calibration"))
    parser.add_argument("--surrogate", choices=["on", "off", "auto"], default=None)
    parser.add_argument("--multilevel", type=float, default=None, help="coarse factor of a multilevel start")
    parser.add_argument("--ranks-per-run", type=int, default=None)
    args = parser.parse_args()
    out = args.out
    case_file = CASE
    options = {}
    if args.surrogate is not None:
        options["surrogate"] = f'"{args.surrogate}"'
    if args.multilevel is not None:
        options["multilevel"] = f"{{coarse_factor: {args.multilevel}}}"
    if options:
        case_file = out / "case_options.yaml"
        if comm.rank == 0:
            out.mkdir(parents=True, exist_ok=True)
            fragment = ", ".join(f"{k}: {v}" for k, v in options.items())
            case_file.write_text(f"base: {CASE.resolve()}\ncalibration: {{{fragment}}}\n")
        comm.barrier()
    timings = {}
    started = time.perf_counter()
    case, _ = load_case(comm, CASE)
    folder, _ = ensure_mesh(comm, case, Path("meshes"))
    tmesh = read_tagged_mesh(comm, folder)
    timings["mesh_s"] = time.perf_counter() - started

    tick = time.perf_counter()
    observations = write_synthetic_observations(comm, case, tmesh, TRUTH, [30, 60], out / "followups",
                                                volume_sd=0.05, seed=1)
    timings["synthetic_followups_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    final, summary = calibrate(comm, case_file, observations, out / "calibration", Path("meshes"), force=True,
                               ranks_per_run=args.ranks_per_run)
    timings["calibration_s"] = time.perf_counter() - tick
    if comm.rank == 0:
        manifest = json.loads((final / "manifest.json").read_text())
        result = {"ranks": comm.size, "cells": manifest["cells"], "forward_runs": summary["forward_runs"],
                  "forward_rounds": summary["forward_rounds"], "forward_seconds": manifest["forward_seconds"],
                  "timings": timings,
                  "surrogate": summary.get("surrogate"), "multilevel": summary.get("multilevel"),
                  "ranks_per_run": args.ranks_per_run,
                  "objective": summary["objective"], "data_misfit": summary["data_misfit"],
                  "converged": summary["converged"], "parameters": summary["parameters"],
                  "observations": summary["observations"], "truth": {k: v * UNITS[k][1] for k, v in TRUTH.items()}}
        (out / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"\n{comm.size} ranks, {result['cells']} cells; synthetic follow-ups {timings['synthetic_followups_s']:.0f} s; "
              f"calibration {timings['calibration_s']:.0f} s ({result['forward_runs']} forward runs in "
              f"{result['forward_rounds']} rounds, "
              f"{result['forward_seconds'] / result['forward_runs']:.1f} s each); misfit {result['objective']:.3g} "
              f"(data {result['data_misfit']:.3g}); converged {result['converged']}\n")
        print("| parameter | truth | prior | MAP | 95 % interval | error |")
        print("|---|---|---|---|---|---|")
        for name, p in summary["parameters"].items():
            truth = TRUTH[name] * UNITS[name][1]
            low, high = p["interval_95"]
            print(f"| {name} | {truth:.4g} {p['unit']} | {p['prior_median']:.4g} | {p['map']:.4g} | "
                  f"{low:.4g}-{high:.4g} | {100 * (p['map'] / truth - 1):+.1f} % |")
        for name, o in summary["observations"].items():
            print(f"- {name}: volume {o['volume_simulated_mm3']:.0f} simulated vs {o['volume_observed_mm3']:.0f} mm^3 "
                  f"observed, Dice {o['dice']:.3f}")
        print(f"- results: {final}; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
