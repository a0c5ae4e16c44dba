"""Benchmark: HNTS-MRG mid-radiotherapy volumes, leave-one-out, spatial model against trivial baselines (issue 17).

Run (from the repository root; needs ``../shared/data/hnts_mrg_2024``)::

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/hnts_loo.py [--out results/hnts_loo] [--mesh-dir DIR]
        [--alpha 0.05,0.1,0.2,0.35] [--clearance 5,10,20]

Design fixed in advance, as ``benchmarks/hnts_response.py`` (primary tumour GTVp; t = 0 at the pre-RT
scan; 2 Gy on weekdays from day 15, 35 fractions; mid-RT scan somewhere in days 28-42), with the doomed-cell
model of issue 17: uniform baseline density 0.8 inside the pre-RT mask (edge at the detection threshold 0.2
on the segmented surface), radiotherapy moves killed cells into the doomed pool, cleared with the half-time
T_c, and the tissue follows the cleared volume. Proliferation 0.02 1/day, invasion at its default, no
oxygen (OER factor 1), alpha/beta 10 Gy.

Population fit by grid search over (alpha, T_c): every patient is run once per grid point (the forward
runs do not depend on the fold); for each left-out patient the grid point that maximises the training
patients' likelihood is chosen, with the volume likelihood marginalised over the unknown scan date (days
28-42, uniform; log-volume sd 0.2, as the misfit of :mod:`oncotwin.calibration.misfit`), and the left-out
patient is predicted from its pre-RT mask. Baselines under the same folds: no change (the pre-RT volume)
and the cohort ratio (pre-RT volume times the training patients' geometric-mean mid/pre ratio). The 0-D
PSI model of Prokopiou et al. 2015 is run by ``benchmarks/hnts_psi.py`` under the same folds.
Results: ``<out>/hnts_loo.json`` (per patient: id, observed pre/mid volumes [cm^3], predicted volumes at
days 28, 35 and 42 per method, the chosen grid point) and the median absolute errors per method.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from oncotwin.core.fenics import MPI

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hnts_response as hr  # noqa: E402
from common import machine_note  # noqa: E402

DAY = 86400.0
WINDOW = list(range(hr.WINDOW_DAYS[0], hr.WINDOW_DAYS[1] + 1))
REPORT_DAYS = (28, 35, 42)
VOLUME_SD = 0.2


def case_data(patient: int, pre_volume_mm3: float) -> dict:
    data = hr.case_data(patient, pre_volume_mm3)
    data["regions"]["gtvp"]["growth"].pop("initial_density_depth", None)
    data.pop("calibration")
    return data


def forward_volumes(comm, case_file: Path, mesh_root: Path, grid: list[tuple[float, float]]) -> dict:
    """Readout volume [mm^3] at every window day for every grid point (alpha [1/Gy], T_c [day])."""
    from oncotwin.calibration.forward import ForwardModel
    from oncotwin.calibration.parameters import replace
    from oncotwin.case import load_case
    from oncotwin.mesh.cache import ensure_mesh
    from oncotwin.mesh.distribute import read_tagged_mesh

    case, _ = load_case(comm, case_file)
    folder, _ = ensure_mesh(comm, case, mesh_root)
    tmesh = read_tagged_mesh(comm, folder)
    times = [d * DAY for d in WINDOW]
    out = {}
    for alpha, half_time in grid:
        rt = case.treatment.radiotherapy
        varied = replace(case, ("treatment", "radiotherapy"), rt.model_copy(update={"alpha": alpha}))
        varied = replace(varied, ("physics", "growth", "clearance_half_time"), half_time * DAY)
        model = ForwardModel(varied, tmesh, times, case_file)
        trajectory = model.run({})
        out[(alpha, half_time)] = [trajectory.metric("tumour_volume_mm3", t) for t in times]
    return out


def neg2_log_likelihood(volumes: list[float], observed: float) -> float:
    """-2 log of the volume likelihood marginalised over the window days (uniform)."""
    floor = 1e-3 * observed
    q = ((np.log(np.asarray(volumes) + floor) - math.log(observed + floor)) / VOLUME_SD) ** 2
    return float(q.min() - 2.0 * math.log(np.mean(np.exp(-0.5 * (q - q.min())))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hnts_loo")
    parser.add_argument("--mesh-dir", type=Path, default=None)
    parser.add_argument("--alpha", default="0.05,0.1,0.2,0.35")
    parser.add_argument("--clearance", default="5,10,20")
    parser.add_argument("--patients", default=",".join(str(p) for p in (*hr.TRAIN, *hr.TEST)))
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    grid = [(a, t) for a in map(float, args.alpha.split(",")) for t in map(float, args.clearance.split(","))]
    patients = [int(p) for p in args.patients.split(",")]
    started = time.perf_counter()
    observed, runs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(comm.bcast(tmp if comm.rank == 0 else None, root=0))
        mesh_root = args.mesh_dir or folder / "meshes"
        for patient in patients:
            info = None
            if comm.rank == 0:
                pre, _, voxel = hr.read_gtvp(hr.pre_mask(patient))
                mid, _, _ = hr.read_gtvp(hr.mid_mask(patient))
                info = {"pre": float(pre.sum() * voxel), "mid": float(mid.sum() * voxel)}
                (folder / f"hnts_{patient}.yaml").write_text(yaml.safe_dump(case_data(patient, info["pre"])))
            observed[patient] = comm.bcast(info, root=0)
            runs[patient] = forward_volumes(comm, folder / f"hnts_{patient}.yaml", mesh_root, grid)
            if comm.rank == 0:
                print(f"patient {patient}: {len(grid)} runs, {time.perf_counter() - started:.0f} s", flush=True)
    if comm.rank != 0:
        return
    rows = []
    for left_out in patients:
        train = [p for p in patients if p != left_out]
        score = {g: sum(neg2_log_likelihood(runs[p][g], observed[p]["mid"]) for p in train) for g in grid}
        best = min(score, key=score.get)
        ratio = math.exp(np.mean([math.log(observed[p]["mid"] / observed[p]["pre"]) for p in train]))
        pre, mid = observed[left_out]["pre"], observed[left_out]["mid"]
        spatial = {d: runs[left_out][best][WINDOW.index(d)] / 1e3 for d in REPORT_DAYS}
        rows.append({"id": left_out, "observed_pre_cm3": pre / 1e3, "observed_mid_cm3": mid / 1e3,
                     "fit": {"alpha_per_Gy": best[0], "clearance_half_time_day": best[1],
                             "train_neg2_log_likelihood": score[best]},
                     "predicted_volume_cm3": {"spatial": spatial,
                                              "no_change": {d: pre / 1e3 for d in REPORT_DAYS},
                                              "cohort_ratio": {d: pre * ratio / 1e3 for d in REPORT_DAYS}}})
    errors = {m: {d: float(np.median([abs(r["predicted_volume_cm3"][m][d] - r["observed_mid_cm3"]) for r in rows]))
                  for d in REPORT_DAYS} for m in ("spatial", "no_change", "cohort_ratio")}
    payload = {"machine": machine_note(), "ranks": comm.size, "grid": grid, "seconds": time.perf_counter() - started,
               "patients": rows, "median_absolute_error_cm3": errors,
               "in_sample_volumes_mm3": {str(p): {f"{g[0]}/{g[1]}": v for g, v in r.items()} for p, r in runs.items()}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hnts_loo.json").write_text(json.dumps(payload, indent=1))
    for r in rows:
        print(r["id"], r["fit"], {m: round(v[35], 2) for m, v in r["predicted_volume_cm3"].items()},
              "observed", round(r["observed_mid_cm3"], 2))
    print("median absolute error [cm^3]:", errors)


if __name__ == "__main__":
    main()
