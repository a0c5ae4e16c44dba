"""Multilevel start vs full-mesh-only calibration on the CI twin-experiment lesion, back to back.

Usage (from the repository root)::

    python benchmarks/multilevel_calibration.py [OUT] [--factors 2,3] [--tolerance 1e-3] [--variant pinned]
    mpirun -n 2 python benchmarks/multilevel_calibration.py ...

The lesion, case and synthetic scans are those of tests/calibration/test_parallel_runs.py (the small twin
lesion: 5 mm sphere on anisotropic voxels, 12 days with 5 fractions, scans at days 6 and 12,
proliferation and invasion fitted from priors a factor 2 away), with Levenberg-Marquardt run to
convergence. ``--variant free``: both with the test's priors (log sd 2); ``pinned``: the invasion
diffusivity known to 5 % (prior at the truth), as in tests/calibration/test_multilevel.py. Arms, one
after the other in the same process: the full-mesh-only calibration, then for
every coarse factor the coarse calibration followed by the full-mesh one from its MAP. Printed per arm:
full-mesh and coarse forward runs, process CPU seconds (summed over ranks), wall seconds and the MAP.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.calibration.test_parallel_runs import SMALL, TWO  # noqa: E402
from tests.calibration.test_twin import _lesion  # noqa: E402

import oncotwin.core.fenics  # noqa: E402,F401  (dolfinx_solver first)
from oncotwin.calibration.calibrate import Calibrator, Subject  # noqa: E402
from oncotwin.calibration.multilevel import coarse_start  # noqa: E402
from oncotwin.calibration.synthetic import write_synthetic_observations  # noqa: E402
from oncotwin.case.calibration import CalibratedParameter, Multilevel  # noqa: E402
from oncotwin.case.load import read_case  # noqa: E402
from oncotwin.case.observations import read_observations  # noqa: E402
from oncotwin.core.parallel import on_root  # noqa: E402
from oncotwin.mesh.cache import ensure_mesh  # noqa: E402
from oncotwin.mesh.distribute import read_tagged_mesh  # noqa: E402

DAY = 86400.0


def converging(case, tolerance: float, factor: float | None, pinned: bool):
    """The case with Levenberg-Marquardt run to convergence (and a multilevel section when ``factor``)."""
    spec = case.calibration
    optimiser = spec.optimiser.model_copy(update={"max_iterations": 20, "tolerance": tolerance})
    multilevel = Multilevel(coarse_factor=factor) if factor else None
    parameters = dict(spec.parameters)
    if pinned:
        parameters["invasion_diffusivity"] = CalibratedParameter(prior=TWO["invasion_diffusivity"], prior_log_sd=0.05)
    return case.model_copy(update={"calibration": spec.model_copy(update={
        "optimiser": optimiser, "multilevel": multilevel, "parameters": parameters})})


def arm(comm, case, folder: Path, obs, digest, factor: float | None) -> dict:
    """One calibration; its cost and MAP."""
    wall, cpu = time.perf_counter(), time.process_time()
    mesh, _ = ensure_mesh(comm, case, folder / "meshes")
    subject = Subject(case, folder / "case.yaml", digest, obs, read_tagged_mesh(comm, mesh), mesh)
    start, coarse = None, None
    if factor:
        start, coarse = coarse_start(comm, subject, folder / "meshes", Calibrator)
    calibrator = Calibrator(comm, [subject], start=start)
    result = calibrator.run()
    cpu = comm.allreduce(time.process_time() - cpu, op=MPI.SUM)
    values = calibrator.values(result.x)
    return {"coarse_factor": factor, "full_mesh_runs": result.runs, "coarse_runs": coarse["forward_runs"] if coarse
            else 0, "coarse_cells": coarse["cells"] if coarse else None, "converged": result.converged,
            "cpu_s": round(cpu, 1), "wall_s": round(time.perf_counter() - wall, 1), "objective": result.objective,
            "map": {"proliferation_per_day": values["proliferation_rate"] * DAY,
                    "invasion_mm2_per_day": values["invasion_diffusivity"] * DAY}, "x": result.x.tolist()}


def main() -> None:
    comm = MPI.COMM_WORLD
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("results/multilevel_calibration"))
    parser.add_argument("--factors", default="2")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--variant", choices=["pinned", "free"], default="pinned")
    args = parser.parse_args()
    folder = args.out.resolve()
    if comm.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        _lesion(folder / "labels.nii.gz")
        (folder / "case.yaml").write_text(SMALL)
    comm.barrier()
    case, digest = on_root(comm, read_case, folder / "case.yaml")
    mesh, _ = ensure_mesh(comm, case, folder / "meshes")
    observations = write_synthetic_observations(comm, case, read_tagged_mesh(comm, mesh), TWO, [6, 12], folder / "obs")
    obs = on_root(comm, read_observations, observations, case)
    pinned = args.variant == "pinned"
    arms = [arm(comm, converging(case, args.tolerance, None, pinned), folder, obs, digest, None)]
    for factor in (float(f) for f in args.factors.split(",")):
        arms.append(arm(comm, converging(case, args.tolerance, factor, pinned), folder, obs, digest, factor))
    reference = np.array(arms[0]["x"])
    if comm.rank == 0:
        print(f"{args.variant}, ranks {comm.size}; | coarse factor | full-mesh runs | coarse runs (cells) | CPU s "
              "| wall s | proliferation /day | invasion mm^2/day | objective | MAP vs full-only |")
        for a in arms:
            change = np.max(np.abs(np.exp(np.array(a["x"]) - reference) - 1.0))
            print(f"| {a['coarse_factor'] or 'off'} | {a['full_mesh_runs']} | {a['coarse_runs']} ({a['coarse_cells']}) "
                  f"| {a['cpu_s']} | {a['wall_s']} | {a['map']['proliferation_per_day']:.5f} | "
                  f"{a['map']['invasion_mm2_per_day']:.5f} | {a['objective']:.4f} | {100 * change:.3f} % |")
        (folder / f"benchmark_{args.variant}.json").write_text(json.dumps(arms, indent=2) + "\n")


if __name__ == "__main__":
    main()
