"""Benchmark: radiotherapy response of real head-and-neck tumours (HNTS-MRG 2024), calibrate then predict.

Run (from the repository root; needs ``../shared/data/hnts_mrg_2024``)::

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/hnts_response.py [--out results/hnts]

The data are five patients' primary-tumour masks (label 1, GTVp) before radiotherapy (registered onto the
mid-treatment grid) and 2-4 weeks into it. They are read where they lie (non-commercial licence: never
copied); only case and observation files that point at them are written into ``--out``.

Fixed design (decided before looking at any result; nothing here is tuned on the test patients):

* primary tumour only (label 1; the nodes, label 2, are host tissue when they fall within the margin);
* train on patients 77, 78, 80 (one population fit: radiosensitivity and proliferation rate shared);
  test on 88, 99 (predicted from their pre-RT mask and the standard schedule only);
* time axis: t = 0 at the pre-RT scan; radiotherapy starts 14 days later (middle of the 1-3 week gap),
  2 Gy on weekdays, 35 fractions (70 Gy); the mid-RT scan lies 2-4 weeks into RT, i.e. somewhere in the
  window t = 28-42 days. The window enters the calibration as such (moment matching of the unknown date,
  see :mod:`oncotwin.calibration.misfit`) and every prediction is reported at its start, middle and end.
  Fractions land on whole days and one is given at t = 28 and t = 42 (Mondays) before the model is
  sampled, so the window spans 11-21 fractions (22-42 Gy);
* model: logistic growth and invasion (``physics.growth``; diffusivity at its default 0.13 mm^2/day), LQ
  radiotherapy with alpha/beta = 10 Gy, fully oxygenated (no oxygen model: OER factor 1), no fluid, drug
  or mechanics. The baseline density is 0.8 inside the mask, graded linearly from the detection threshold
  (0.2) on the segmented surface over ``INITIAL_DENSITY_DEPTH`` (10 mm, about the radius of these tumours:
  cellularity rises towards the core). A shallow edge (3 mm, the first run) left a saturated core that
  is visible until the surviving fraction falls below 0.2/0.8 and then vanishes at once, so every
  predicted tumour vanished inside the window; the deep gradient lets the visible volume shrink
  gradually with the surviving fraction;
* priors: radiosensitivity alpha log-normal, median 0.2 1/Gy (HNSCC clinical alpha estimates are
  0.1-0.35 1/Gy), log sd 1, bounds 0.01-2 1/Gy; net proliferation rate median 0.02 1/day (potential
  doubling 3-5 days, i.e. 0.14-0.23 1/day, but a net rate far lower because of cell loss), log sd 1,
  bounds 0.001-0.5 1/day;
* misfit: ``volume_sd`` 0.2 and ``shape_discordance`` 0.4 (a symmetric difference of 40 % of the volume,
  i.e. an inter-observer Dice of about 0.8), because head-and-neck GTVs vary a lot between observers and
  the registration of the pre-RT mask alters its shape and volume (data README);
* mesh: ``size_tumour`` chosen from the pre-RT volume for about 20k cells in the tumour if the size field
  ruled (1.5-2 mm), margin 10 mm, graded to 4 mm over 6 mm. The mesher keeps the surface triangles at
  voxel size, so the surfaces rule instead: 68k cells on the 1 mm grid of patient 77, 170-270k cells on
  the 0.5 mm grids of the others (about 20 s per 42-day forward run of the largest on 2 cores);
* start of the optimiser: the priors. Where the model tumour has vanished over the whole window the
  misfit is flat; the optimiser then scans each parameter over its bounds and restarts from the best
  point (:mod:`oncotwin.calibration.optimise`).

Reported per patient (test, and train as in-sample): observed mid-RT volume (voxel count x voxel volume),
predicted visible volume (density >= detection threshold, rasterised onto the mask grid and counted) and
voxel Dice at days 28, 35 and 42 after the pre-RT scan: the relative volume error and Dice at the middle
(day 35) with their range over the window; baselines "no change" (the pre-RT mask itself) and "cohort
ratio" (pre-RT volume times the training patients' geometric-mean volume ratio; volume only). Results go
to ``<out>/hnts_response.{json,csv,md}``; the calibration summary to ``<out>/calibration.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from oncotwin.core.fenics import MPI

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from common import machine_note

DATA = REPO.parent / "shared" / "data" / "hnts_mrg_2024"
TRAIN = (77, 78, 80)
TEST = (88, 99)
GTVP = 1
DAY = 86400.0
RT_START_DAY = 14           # t of the first fraction [day after the pre-RT scan]
FRACTIONS = 35              # 70 Gy in 35 fractions of 2 Gy, Monday to Friday
WINDOW_DAYS = (28, 42)      # mid-RT scan: 2-4 weeks after the start of RT
PREDICT_DAYS = (28, 35, 42)  # window start, middle and end
INITIAL_DENSITY = 0.8
INITIAL_DENSITY_DEPTH_MM = 10.0
TUMOUR_CELLS_TARGET = 20000
CELLS_PER_H3 = 7.8          # gmsh tetrahedra per size^3 of volume away from voxel-size surfaces


# ------------------------------------------------------------------------------------------- inputs
def pre_mask(patient: int) -> Path:
    """The pre-RT mask (registered onto the mid-RT grid)."""
    return DATA / f"{patient}_preRT_mask_registered.nii.gz"


def mid_mask(patient: int) -> Path:
    """The mid-RT mask."""
    return DATA / f"{patient}_midRT_mask.nii.gz"


def read_gtvp(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Boolean GTVp mask, affine and voxel volume [mm^3] of a label map."""
    from oncotwin.imaging.images import read_label_map

    image = read_label_map(path, "hnts mask")
    return image.array == GTVP, image.affine, image.voxel_volume


def schedule() -> str:
    """The standard course: 2 Gy on weekdays, 35 fractions, the first on day RT_START_DAY + 1 (day 1 is t = 0)."""
    return f"days 1-5 every 7 days x {FRACTIONS // 5} from day {RT_START_DAY + 1}"


def size_tumour(volume_mm3: float) -> float:
    """Tumour mesh size [mm] for about TUMOUR_CELLS_TARGET cells in the tumour, within 1.5-2 mm."""
    h = (CELLS_PER_H3 * volume_mm3 / TUMOUR_CELLS_TARGET) ** (1.0 / 3.0)
    return float(np.clip(round(h, 1), 1.5, 2.0))


def case_data(patient: int, pre_volume_mm3: float) -> dict:
    """The case file of one patient (the template: only the mask and the mesh size differ)."""
    return {
        "name": f"hnts_{patient}",
        "description": (f"HNTS-MRG 2024 patient {patient}: primary tumour (GTVp) of the pre-RT mask, standard "
                        "70 Gy / 35 fractions from day 14 after the pre-RT scan (t = 0)"),
        "geometry": {"kind": "segmentation", "labels": str(pre_mask(patient)), "regions": {"gtvp": [GTVP]},
                     "host_region": "host"},
        "mesh": {"size_tumour": f"{size_tumour(pre_volume_mm3):g} mm", "size_far": "4 mm",
                 "grading_distance": "6 mm", "margin": "10 mm"},
        "regions": {
            "gtvp": {"kind": "tumour", "growth": {"initial_density": INITIAL_DENSITY,
                                                  "initial_density_depth": f"{INITIAL_DENSITY_DEPTH_MM:g} mm"}},
            "host": {"kind": "normal"},
        },
        "physics": {"growth": {"step": "1 day", "proliferation_rate": "0.02 1/day"}},
        "time": {"end": f"{WINDOW_DAYS[1]} day", "max_step": "1 day", "min_step": "1 day",
                 "output_every": "7 day"},
        "treatment": {"radiotherapy": {"dose_per_fraction": "2 Gy", "schedule": schedule(), "alpha": "0.2 1/Gy",
                                       "alpha_beta": "10 Gy"}},
        "calibration": {
            "parameters": {
                "radiosensitivity": {"prior": "0.2 1/Gy", "prior_log_sd": 1.0, "bounds": ["0.01 1/Gy", "2 1/Gy"]},
                "proliferation_rate": {"prior": "0.02 1/day", "prior_log_sd": 1.0,
                                       "bounds": ["0.001 1/day", "0.5 1/day"]},
            },
            "misfit": {"volume_sd": 0.2, "shape_discordance": 0.4},
            "optimiser": {"max_iterations": 12},
        },
        "output": {"fields": False, "figures": False},
    }


def observation_data(patient: int) -> dict:
    """The observation file of one patient: the mid-RT GTVp within the date window."""
    return {"observations": [{"segmentation": str(mid_mask(patient)), "labels": [GTVP], "name": "midRT",
                              "time": [f"{WINDOW_DAYS[0]} day", f"{WINDOW_DAYS[1]} day"]}]}


def write_inputs(comm: MPI.Comm, patient: int, folder: Path) -> tuple[Path, Path, dict]:
    """Write the case and observation files of a patient (rank 0); return them and the mask volumes."""
    info = None
    if comm.rank == 0:
        pre, _, voxel = read_gtvp(pre_mask(patient))
        mid, _, _ = read_gtvp(mid_mask(patient))
        info = {"pre_volume_mm3": float(pre.sum() * voxel), "mid_volume_mm3": float(mid.sum() * voxel),
                "voxel_mm3": voxel}
        folder.mkdir(parents=True, exist_ok=True)
        header = "# written by benchmarks/hnts_response.py; the masks are read from ../shared/data (not copied)\n"
        (folder / f"hnts_{patient}.yaml").write_text(
            header + yaml.safe_dump(case_data(patient, info["pre_volume_mm3"]), sort_keys=False))
        (folder / f"hnts_{patient}_observations.yaml").write_text(
            header + yaml.safe_dump(observation_data(patient), sort_keys=False))
    info = comm.bcast(info, root=0)
    return folder / f"hnts_{patient}.yaml", folder / f"hnts_{patient}_observations.yaml", info


# -------------------------------------------------------------------------------------- subjects
def load_subject(comm: MPI.Comm, case_file: Path, observations_file: Path, mesh_root: Path):
    """Case, observations and distributed mesh of one patient (meshing on rank 0 when not cached)."""
    from oncotwin.calibration.calibrate import Subject
    from oncotwin.case import load_case
    from oncotwin.case.observations import read_observations
    from oncotwin.mesh.cache import ensure_mesh
    from oncotwin.mesh.distribute import read_tagged_mesh
    from oncotwin.core.parallel import on_root

    case, digest = load_case(comm, case_file)
    observations = on_root(comm, read_observations, observations_file, case)
    folder, cached = ensure_mesh(comm, case, mesh_root)
    tmesh = read_tagged_mesh(comm, folder)
    cells = tmesh.mesh.topology.index_map(3).size_global
    return Subject(case, case_file, digest, observations, tmesh), {"cells": cells, "mesh_cached": cached}


# ----------------------------------------------------------------------------------------- calibrate
def calibrate_population(comm: MPI.Comm, subjects: list) -> tuple[dict, dict]:
    """One population fit over the training subjects; returns the parameter values (internal) and summary."""
    from oncotwin.calibration.calibrate import Calibrator

    calibrator = Calibrator(comm, subjects)  # starts at the priors; a flat start is scanned by the optimiser
    result = calibrator.run()
    summary = calibrator.summary(result)
    summary["forward_seconds"] = {s.name: round(s.forward.seconds, 1) for s in subjects}
    return calibrator.values(result.x), summary


# ------------------------------------------------------------------------------------------ predict
def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Voxel Dice of two boolean masks (1 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


def predict(comm: MPI.Comm, subject, values: dict[str, float]) -> dict | None:
    """Run the model at ``values`` and compare its visible tumour with the mid-RT mask on the voxel grid.

    Returns (rank 0; None elsewhere) the visible volume and Dice at t = 0 (how well the mesh and the
    graded baseline density reproduce the pre-RT mask) and at each of PREDICT_DAYS.
    """
    from oncotwin.calibration.forward import ForwardModel
    from oncotwin.core.fenics import dolfinx
    from oncotwin.io.raster import rasterise

    patient = int(subject.name.split("_")[1])
    observed = pre = affine = voxel = None
    if comm.rank == 0:
        observed, affine, voxel = read_gtvp(mid_mask(patient))
        pre, _, _ = read_gtvp(pre_mask(patient))
    affine = comm.bcast(affine, root=0)
    shape = comm.bcast(None if observed is None else observed.shape, root=0)
    times = [0.0] + [d * DAY for d in PREDICT_DAYS]
    trajectory = ForwardModel(subject.case, subject.tmesh, times, subject.case_file).run(values)
    u = dolfinx.fem.Function(dolfinx.fem.functionspace(subject.tmesh.mesh, ("Lagrange", 1)))
    threshold = subject.case.physics.growth.detection_threshold
    out: dict = {}
    for t in times:
        density = trajectory.density[t]  # owned nodes first (with or without the ghosts)
        u.x.array[:density.size] = density
        u.x.scatter_forward()
        grid = rasterise(u, shape, affine, fill=0.0)
        if comm.rank == 0:
            visible = grid >= threshold
            reference = pre if t == 0.0 else observed
            out[round(t / DAY)] = {"volume_mm3": float(visible.sum() * voxel), "dice": dice(visible, reference),
                                   "mesh_volume_mm3": trajectory.metric("tumour_volume_mm3", t)}
    return out if comm.rank == 0 else None


def patient_row(patient: int, role: str, info: dict, mesh: dict, prediction: dict, cohort_ratio: float) -> dict:
    """One row of the results table (rank 0)."""
    observed = info["mid_volume_mm3"]
    middle = PREDICT_DAYS[1]
    errors = [prediction[d]["volume_mm3"] / observed - 1.0 for d in PREDICT_DAYS]
    dices = [prediction[d]["dice"] for d in PREDICT_DAYS]
    pre, mid = read_gtvp(pre_mask(patient))[0], read_gtvp(mid_mask(patient))[0]
    return {
        "patient": patient, "role": role, "cells": mesh["cells"],
        "pre_volume_cm3": info["pre_volume_mm3"] / 1000, "observed_mid_volume_cm3": observed / 1000,
        "observed_ratio": observed / info["pre_volume_mm3"],
        "model_t0_volume_cm3": prediction[0]["volume_mm3"] / 1000, "model_t0_dice_vs_pre": prediction[0]["dice"],
        **{f"predicted_volume_day{d}_cm3": prediction[d]["volume_mm3"] / 1000 for d in PREDICT_DAYS},
        **{f"volume_error_day{d}": e for d, e in zip(PREDICT_DAYS, errors, strict=True)},
        **{f"dice_day{d}": prediction[d]["dice"] for d in PREDICT_DAYS},
        "volume_error_mid": errors[1], "volume_error_min": min(errors), "volume_error_max": max(errors),
        "dice_mid": prediction[middle]["dice"], "dice_min": min(dices), "dice_max": max(dices),
        "baseline_nochange_volume_error": info["pre_volume_mm3"] / observed - 1.0,
        "baseline_nochange_dice": dice(pre, mid),
        "baseline_cohort_ratio_volume_error": cohort_ratio * info["pre_volume_mm3"] / observed - 1.0,
    }


# ------------------------------------------------------------------------------------------- output
COLUMNS = [("patient", "patient", ""), ("role", "set", ""), ("cells", "cells", ""),
           ("pre_volume_cm3", "V pre [cm3]", ".2f"), ("observed_mid_volume_cm3", "V mid obs [cm3]", ".2f"),
           ("predicted_volume_day35_cm3", "V pred d35 [cm3]", ".2f"),
           ("volume_error", "vol. err d35 (d28 / d42)", ""), ("dice", "Dice d35 (d28 / d42)", ""),
           ("baseline_nochange_volume_error", "no-change vol. err", "+.0%"),
           ("baseline_nochange_dice", "no-change Dice", ".2f"),
           ("baseline_cohort_ratio_volume_error", "cohort-ratio vol. err", "+.0%")]


def markdown_table(rows: list[dict]) -> str:
    """The per-patient table in markdown (errors as V_pred / V_obs - 1)."""
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        shown = dict(row)
        first, last = PREDICT_DAYS[0], PREDICT_DAYS[-1]
        shown["volume_error"] = (f"{row['volume_error_mid']:+.0%} ({row[f'volume_error_day{first}']:+.0%} / "
                                 f"{row[f'volume_error_day{last}']:+.0%})")
        shown["dice"] = f"{row['dice_mid']:.2f} ({row[f'dice_day{first}']:.2f} / {row[f'dice_day{last}']:.2f})"
        cells = [format(shown[k], f) if f and isinstance(shown[k], int | float) else str(shown[k])
                 for k, _, f in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parameter_table(summary: dict) -> str:
    """MAP and 95 % interval of each calibrated parameter in markdown."""
    lines = ["| parameter | MAP | 95 % interval | prior median | at bound |", "|---|---|---|---|---|"]
    for name, p in summary["parameters"].items():
        lo, hi = p["interval_95"]
        lines.append(f"| {name} | {p['map']:.4g} {p['unit']} | {lo:.3g} - {hi:.3g} | {p['prior_median']:.3g} | "
                     f"{p['at_bound']} |")
    return "\n".join(lines)


def write_outputs(out: Path, payload: dict, rows: list[dict], text: str) -> None:
    """hnts_response.json, .csv and .md (rank 0)."""
    (out / "hnts_response.json").write_text(json.dumps(payload, indent=1, default=float) + "\n")
    with open(out / "hnts_response.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "hnts_response.md").write_text(text + "\n")


def provenance() -> dict:
    """Code the results come from: the commit and the hashes of the model and calibration sources.

    The working tree may hold uncommitted changes, so the hashes (not only the commit) identify the code.
    Call it after importing those modules and before the run (the files may be edited while it runs).
    """
    import hashlib
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = ""
    sources = sorted((REPO / "src" / "oncotwin" / "calibration").glob("*.py"))
    sources += [REPO / "src" / "oncotwin" / p for p in ("problems/growth.py", "model/tumour.py", "run/simulation.py")]
    return {"commit": commit, "sources_sha256": {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest()
                                                 for p in sources if p.is_file()}}


# --------------------------------------------------------------------------------------------- main
class Clock:
    """Wall time per stage (max over ranks), printed as it goes."""

    def __init__(self, comm: MPI.Comm):
        self.comm, self.stages = comm, {}

    def __call__(self, name: str, fn, *args, **kwargs):
        self.comm.barrier()
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        self.comm.barrier()
        self.stages[name] = round(time.perf_counter() - start, 1)
        if self.comm.rank == 0:
            print(f"[hnts] {name}: {self.stages[name]:.1f} s", flush=True)
        return value


def main() -> None:
    """Mesh, calibrate on the training patients, predict everyone, write and print the results."""
    import oncotwin.calibration.calibrate
    import oncotwin.run.simulation  # noqa: F401  (imported now: the provenance below is the code that runs)
    from oncotwin.case.calibratable import PARAMETERS
    from oncotwin.core.log import configure

    source = provenance()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/hnts"), help="output folder (not the repository)")
    parser.add_argument("--mesh-root", type=Path, default=None, help="mesh cache (default: <out>/meshes)")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    configure(comm)
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: HNTS-MRG data not found (see ../shared/data/README.md)")
    out = args.out.resolve()
    mesh_root = (args.mesh_root or out / "meshes").resolve()
    clock, started = Clock(comm), time.perf_counter()
    note = machine_note()

    subjects, infos, meshes = {}, {}, {}
    for patient in TRAIN + TEST:
        case_file, obs_file, infos[patient] = write_inputs(comm, patient, out / "cases")
        subjects[patient], meshes[patient] = clock(f"mesh + load {patient}", load_subject, comm, case_file,
                                                   obs_file, mesh_root)
        if comm.rank == 0:
            print(f"[hnts] patient {patient}: {meshes[patient]['cells']} cells "
                  f"({'cached' if meshes[patient]['mesh_cached'] else 'meshed'}), GTVp pre "
                  f"{infos[patient]['pre_volume_mm3'] / 1000:.2f} cm3, mid {infos[patient]['mid_volume_mm3'] / 1000:.2f}"
                  " cm3", flush=True)

    values, summary = clock(f"calibrate (train {', '.join(map(str, TRAIN))})", calibrate_population, comm,
                            [subjects[p] for p in TRAIN])
    if comm.rank == 0:
        shown = ", ".join(f"{n} {PARAMETERS[n].text(v)}" for n, v in values.items())
        print(f"[hnts] MAP: {shown}; converged {summary['converged']}, {summary['forward_runs']} evaluations",
              flush=True)

    ratios = [infos[p]["mid_volume_mm3"] / infos[p]["pre_volume_mm3"] for p in TRAIN]
    cohort_ratio = float(np.exp(np.mean(np.log(ratios))))
    rows = []
    for patient in TEST + TRAIN:
        prediction = clock(f"predict {patient}", predict, comm, subjects[patient], values)
        if comm.rank == 0:
            role = "test" if patient in TEST else "train (in-sample)"
            rows.append(patient_row(patient, role, infos[patient], meshes[patient], prediction, cohort_ratio))

    if comm.rank == 0:
        total = round(time.perf_counter() - started, 1)
        text = "\n\n".join([
            f"Calibrated on {', '.join(map(str, TRAIN))} (population MAP, Laplace 95 % intervals):",
            parameter_table(summary),
            ("Per patient (volume error = V_pred / V_obs - 1 and voxel Dice of the visible tumour with the "
             "mid-RT GTVp at day 35 after the pre-RT scan, in brackets at days 28 / 42, the ends of the date "
             "window; baselines: no change from pre-RT, and the pre-RT volume times the training geometric-mean "
             f"ratio {cohort_ratio:.3f}):"),
            markdown_table(rows),
            f"Wall time {total:.0f} s on {comm.size} ranks; stages: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in clock.stages.items())])
        payload = {"design": {"train": TRAIN, "test": TEST, "rt_start_day": RT_START_DAY, "schedule": schedule(),
                              "window_days": WINDOW_DAYS, "predict_days": PREDICT_DAYS,
                              "initial_density": INITIAL_DENSITY,
                              "initial_density_depth_mm": INITIAL_DENSITY_DEPTH_MM,
                              "cohort_ratio": cohort_ratio},
                   "map_values_internal": values, "calibration": summary, "patients": rows,
                   "machine": note, "provenance": source, "ranks": comm.size, "stages_s": clock.stages, "total_s": total}
        (out / "calibration.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
        write_outputs(out, payload, rows, text)
        print("\n" + text, flush=True)


if __name__ == "__main__":
    main()
