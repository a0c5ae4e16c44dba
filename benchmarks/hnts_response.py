"""Benchmark: HNTS-MRG 2024 mid-radiotherapy volumes predicted through the command line (issue 17).

Run (from the repository root; needs ``../shared/data/hnts_mrg_2024`` or ``--data DIR``)::

    python benchmarks/hnts_response.py [--train 77,78,80] [--test 88,99] [--out DIR] [--ranks 2]
    python benchmarks/hnts_response.py --loo [--ranks 2]        # leave-one-out over every given patient
    python benchmarks/hnts_response.py --loo --covariate baseline_tumour_volume --reuse OLD/individual

The script itself is serial; with ``--ranks N`` (N > 1) every ``oncotwin`` command runs as
``mpirun -n N python -m oncotwin ...``, otherwise in process (:func:`oncotwin.cli.main`). A patient id
``P`` names ``P_preRT_mask_registered.nii.gz`` and ``P_midRT_mask.nii.gz`` in ``--data``; the masks are
read where they lie (non-commercial licence: never copied), ``<out>/inputs`` holds case and observation
files that point at them.

Design (fixed before looking at any result; nothing is tuned on a test patient):

* primary tumour only (label 1, GTVp; the nodes are host tissue); t = 0 at the pre-RT scan, 2 Gy on
  weekdays from day 14, 35 fractions; the mid-RT scan lies 2-4 weeks into RT: an observation window
  ``["28 day", "42 day"]`` (the calibration marginalises over the date);
* the model of ``physics.growth`` with its defaults (doomed cells cleared with T_c, tissue motion,
  volume exclusion), uniform baseline density 0.8 inside the mask, proliferation 0.02 1/day, LQ with
  alpha/beta 10 Gy, no oxygen; fitted: ``radiosensitivity`` and ``clearance_half_time`` with the
  package's sourced default priors (0.19 /Gy, log sd 0.3; 10 days, log sd 0.7, Lim et al. 2008);
  misfit ``volume_sd`` 0.2, ``shape_discordance`` 0.4 (inter-observer variation of head-and-neck GTVs);
* per fold: ``oncotwin calibrate --cohort`` on the training patients (``prior.yaml``), then
  ``oncotwin run CASE --prior prior.yaml`` for every test patient (and, without ``--loo``, the training
  patients in sample); the predicted volume is ``tumour_volume_mm3`` of ``metrics.csv`` at days 28, 35
  and 42. With ``--loo`` every patient's individual fit is made once (a cohort of all) and each fold's
  cohort takes them with ``--reuse``: a patient's fit does not depend on the others, and a fold's prior
  uses its training patients' fits only;
* ``--covariate NAME`` (off by default): the cohort files give ``clearance_half_time`` (the parameter
  these data inform, session 6) that patient covariate in the population model, a power of the covariate
  (:mod:`oncotwin.case.covariates`); each test patient's prior is then evaluated at its own value (its
  pre-RT GTVp volume for ``baseline_tumour_volume``). ``--reuse DIR`` takes the individual fits of an
  earlier ``<out>/individual`` whose inputs are the same (no forward run for them);
* ``--scan-day D`` (off by default): the mid-RT scan is fitted at day D (a known date) instead of the
  window, e.g. 35, the window's middle, which is also the point prediction of an unknown date within it;
* baselines on the same folds: no change (the pre-RT volume), cohort ratio (pre-RT volume times the
  training patients' geometric-mean mid/pre ratio), the training patients' median mid-RT volume
  (ignoring the patient) and the 0-D PSI model of Prokopiou et al. 2015 (:mod:`oncotwin.series.psi`, as
  ``benchmarks/hnts_psi.py``).

Writes ``<out>/hnts_response.json``: per patient ``id``, ``set`` (train/test), ``fold``, observed
``pre_volume_cm3`` and ``mid_volume_cm3``, ``predicted_volume_cm3`` {day: cm^3} of the spatial model and
``baselines``; per fold the fitted population medians; the median absolute errors of the test patients.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from oncotwin.imaging.images import read_label_map
from oncotwin.series.psi import fit_psi, psi_volume, weekday_fractions

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "hnts_mrg_2024"
TRAIN, TEST = ("77", "78", "80"), ("88", "99")
GTVP = 1
RT_START_DAY = 14            # t of the first fraction [day after the pre-RT scan]
FRACTIONS = 35               # 70 Gy in 35 fractions of 2 Gy, Monday to Friday
WINDOW_DAYS = (28, 42)       # mid-RT scan: 2-4 weeks after the start of RT
PREDICT_DAYS = (28, 35, 42)  # window start, middle and end
PARAMETERS = ("radiosensitivity", "clearance_half_time")
BASELINES = ("psi", "no_change", "cohort_ratio", "cohort_median_volume")
ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class UsageError(Exception):
    """A bad command-line value: one line, exit 2, nothing written."""


def masks(data: Path, pid: str) -> tuple[Path, Path]:
    """The pre-RT (registered) and mid-RT masks of a patient."""
    return data / f"{pid}_preRT_mask_registered.nii.gz", data / f"{pid}_midRT_mask.nii.gz"


def patient_ids(text: str, flag: str, data: Path) -> list[str]:
    """Comma-separated ids, each with both masks in ``data``."""
    ids = [p.strip() for p in text.split(",") if p.strip()]
    available = sorted(p.name.split("_")[0] for p in data.glob("*_midRT_mask.nii.gz"))
    for pid in ids or [text]:
        if not ID.match(pid) or not all(m.is_file() for m in masks(data, pid)):
            raise UsageError(f"{flag}: got {pid!r}; allowed: ids with {pid}_preRT_mask_registered.nii.gz and "
                             f"{pid}_midRT_mask.nii.gz in {data} (there: {', '.join(available) or 'none'})")
    return ids


def gtvp_volume_cm3(path: Path) -> float:
    """Voxel count of label 1 x voxel volume [cm^3]."""
    image = read_label_map(path, "hnts mask")
    return float(np.count_nonzero(image.array == GTVP) * image.voxel_volume / 1000.0)


def size_tumour(volume_cm3: float) -> float:
    """Tumour mesh size [mm] for about 20k cells in the tumour (7.8 tetrahedra per h^3), within 1.5-2 mm."""
    return float(np.clip(round((7.8 * volume_cm3 * 1000.0 / 20000) ** (1 / 3), 1), 1.5, 2.0))


def case_data(pid: str, labels: Path, pre_cm3: float, mesh: dict, max_iterations: int) -> dict:
    """The case file of one patient (only the mask and the mesh size differ between patients)."""
    return {
        "name": f"hnts_{pid}",
        "description": f"HNTS-MRG 2024 patient {pid}: GTVp, 70 Gy / 35 fractions from day 14 after the pre-RT scan",
        "geometry": {"kind": "segmentation", "labels": str(labels), "regions": {"gtvp": [GTVP]},
                     "host_region": "host"},
        "mesh": {"size_tumour": f"{mesh.get('size_tumour') or size_tumour(pre_cm3):g} mm", "size_far": "4 mm",
                 "grading_distance": "6 mm", "margin": f"{mesh['margin']:g} mm"},
        "regions": {"gtvp": {"kind": "tumour", "growth": {"initial_density": 0.8}}, "host": {"kind": "normal"}},
        "physics": {"growth": {"step": "1 day", "proliferation_rate": "0.02 1/day"}},
        "time": {"end": f"{WINDOW_DAYS[1]} day", "max_step": "1 day", "min_step": "1 day", "output_every": "7 day"},
        "treatment": {"radiotherapy": {"dose_per_fraction": "2 Gy", "alpha_beta": "10 Gy", "alpha": "0.19 1/Gy",
                                       "schedule": f"days 1-5 every 7 days x {FRACTIONS // 5} from day "
                                                   f"{RT_START_DAY + 1}"}},
        "calibration": {"parameters": {name: {} for name in PARAMETERS},
                        "misfit": {"volume_sd": 0.2, "shape_discordance": 0.4},
                        "optimiser": {"max_iterations": max_iterations}},
        "output": {"fields": False, "figures": False},
    }


def write_inputs(out: Path, data: Path, ids: list[str], mesh: dict, max_iterations: int,
                 scan_day: float | None = None) -> dict[str, dict]:
    """Case and observation files of every patient; returns per id the files and the observed volumes.
    The mid-RT scan's date is the window WINDOW_DAYS (marginalised over) or, with ``scan_day``, that day."""
    patients = {}
    for pid in ids:
        pre, mid = masks(data, pid)
        folder = out / "inputs" / f"hnts_{pid}"
        folder.mkdir(parents=True, exist_ok=True)
        info = {"pre": gtvp_volume_cm3(pre), "mid": gtvp_volume_cm3(mid),
                "case": folder / "case.yaml", "observations": folder / "observations.yaml"}
        header = "# written by benchmarks/hnts_response.py; the masks are read where they lie (not copied)\n"
        info["case"].write_text(header + yaml.safe_dump(case_data(pid, pre, info["pre"], mesh, max_iterations),
                                                        sort_keys=False))
        observation = {"segmentation": str(mid), "labels": [GTVP], "name": "midRT",
                       "time": [f"{WINDOW_DAYS[0]} day", f"{WINDOW_DAYS[1]} day"] if scan_day is None
                       else f"{scan_day:g} day"}
        info["observations"].write_text(header + yaml.safe_dump({"observations": [observation]}, sort_keys=False))
        patients[pid] = info
    return patients


def oncotwin(argv: list[str], ranks: int, log: list[dict]) -> None:
    """Run one ``oncotwin`` command (in process, or under ``mpirun -n ranks``); its wall time goes to ``log``."""
    started = time.perf_counter()
    if ranks > 1:
        mpirun = Path(sys.executable).parent / "mpirun"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "OMPI_"))}
        status = subprocess.run([str(mpirun), "-n", str(ranks), sys.executable, "-m", "oncotwin", *argv],
                                env=env, check=False).returncode
    else:
        from oncotwin.cli import main

        status = main(argv)
    log.append({"command": "oncotwin " + " ".join(argv), "ranks": ranks,
                "seconds": round(time.perf_counter() - started, 1), "status": status})
    if status != 0:
        raise SystemExit(f"hnts_response.py: `oncotwin {' '.join(argv)}` failed (exit {status})")


def cohort_file(path: Path, patients: dict[str, dict], ids: list[str], covariate: str | None = None) -> Path:
    """A cohort file of ``ids`` (labels: the patient ids), with ``covariate`` on ``clearance_half_time``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{"label": f"hnts_{p}", "case": str(patients[p]["case"]),
                "observations": str(patients[p]["observations"])} for p in ids]
    data = {"description": "HNTS-MRG 2024 training patients", "patients": entries}
    if covariate:
        data["covariates"] = {"clearance_half_time": covariate}
    path.write_text(yaml.safe_dump(data))
    return path


def predicted_cm3(run: Path) -> dict[str, float]:
    """``tumour_volume_mm3`` of a run's ``metrics.csv`` at PREDICT_DAYS [cm^3]."""
    rows = {round(float(r["time_day"]), 6): r for r in csv.DictReader((run / "metrics.csv").open())}
    return {str(d): float(rows[float(d)]["tumour_volume_mm3"]) / 1000.0 for d in PREDICT_DAYS}


def baselines(patients: dict[str, dict], train: list[str], pid: str) -> dict:
    """No change, cohort ratio, the training mid-RT median volume and the 0-D PSI model fitted on ``train``,
    for patient ``pid`` [cm^3]."""
    pre, mid = [patients[p]["pre"] for p in train], [patients[p]["mid"] for p in train]
    fractions = weekday_fractions(RT_START_DAY, FRACTIONS)
    ratio = float(np.exp(np.mean(np.log(np.divide(mid, pre)))))
    fit = fit_psi(pre, mid, PREDICT_DAYS, fractions)
    psi = psi_volume(patients[pid]["pre"], PREDICT_DAYS, fractions, fit.gamma, fit.capacity, fit.rate)
    days = [str(d) for d in PREDICT_DAYS]
    return {"no_change": dict.fromkeys(days, patients[pid]["pre"]),
            "cohort_ratio": dict.fromkeys(days, patients[pid]["pre"] * ratio),
            "cohort_median_volume": dict.fromkeys(days, float(np.median(mid))),
            "psi": {d: float(v) for d, v in zip(days, psi, strict=True)},
            "psi_fit": {"gamma": fit.gamma, "capacity_cm3": fit.capacity}, "cohort_ratio_value": ratio}


def run_fold(name: str, train: list[str], predict: list[str], patients: dict, args, log: list[dict],
             reuse: Path | None) -> tuple[dict, list[dict]]:
    """Cohort calibration on ``train``, then a run at its prior for every patient of ``predict``."""
    folder = args.out / name
    cohort = cohort_file(args.out / "inputs" / f"cohort_{name}.yaml", patients, train, args.covariate)
    calibration = ["calibrate", "--cohort", str(cohort), "--out", str(folder / "cohort"), "--mesh-dir",
                   str(args.mesh_dir), "--force"]
    oncotwin(calibration + (["--reuse", str(reuse)] if reuse else []), args.ranks, log)
    summary = json.loads((folder / "cohort" / "cohort.json").read_text())
    fit = {"train": train, **{n: {k: p[k] for k in ("population_median", "population_median_interval_95",
                                                      "between_patient_log_sd", "informed", "unit")}
                              for n, p in summary["parameters"].items()},
           "individual": {p["label"]: p["individual"] | {"forward_runs": p["forward_runs"], "reused": p["reused"]}
                          for p in summary["patients"]}}
    rows = []
    for pid in predict:
        run = folder / f"run_{pid}"
        oncotwin(["run", str(patients[pid]["case"]), "--prior", str(folder / "cohort" / "prior.yaml"), "--out",
                  str(run), "--mesh-dir", str(args.mesh_dir), "--force"], args.ranks, log)
        rows.append({"id": pid, "set": "train" if pid in train else "test", "fold": name,
                     "pre_volume_cm3": patients[pid]["pre"], "mid_volume_cm3": patients[pid]["mid"],
                     "predicted_volume_cm3": predicted_cm3(run), "baselines": baselines(patients, train, pid)})
    return fit, rows


def median_errors(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Median over the test patients of |predicted - observed mid-RT volume| [cm^3], per method and day."""
    test = [r for r in rows if r["set"] == "test"]

    def predicted(r: dict, method: str) -> dict[str, float]:
        return r["predicted_volume_cm3"] if method == "spatial" else r["baselines"][method]

    return {m: {str(d): float(np.median([abs(predicted(r, m)[str(d)] - r["mid_volume_cm3"]) for r in test]))
                for d in PREDICT_DAYS} for m in ("spatial", *BASELINES)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the masks (default: the shared data)")
    parser.add_argument("--train", default=",".join(TRAIN), help="training patient ids, comma-separated")
    parser.add_argument("--test", default=",".join(TEST), help="test patient ids, comma-separated")
    parser.add_argument("--loo", action="store_true", help="leave-one-out over every --train and --test patient")
    parser.add_argument("--out", type=Path, default=Path("results") / "hnts_response")
    parser.add_argument("--mesh-dir", type=Path, default=None, help="mesh cache (default: <out>/meshes)")
    parser.add_argument("--ranks", type=int, default=1, help="ranks per oncotwin command (> 1: under mpirun)")
    parser.add_argument("--max-iterations", type=int, default=8, help="optimiser iterations per patient")
    parser.add_argument("--size-tumour", type=float, default=None, help="tumour mesh size [mm] (default: by volume)")
    parser.add_argument("--margin", type=float, default=10.0, help="host margin around the tumour [mm]")
    parser.add_argument("--scan-day", type=float, default=None,
                        help="fit the mid-RT scan at this day instead of over the window 28-42 (a known date)")
    parser.add_argument("--covariate", default=None, help="patient covariate of clearance_half_time in the "
                        "population model (e.g. baseline_tumour_volume; default: none)")
    parser.add_argument("--reuse", type=Path, default=None, help="earlier individual fits (<out>/individual of "
                        "an earlier --loo run with the same inputs)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise UsageError(f"--data: got {str(args.data)!r}; allowed: a folder of HNTS-MRG masks (see "
                         "../shared/data/README.md)")
    args.train_ids = patient_ids(args.train, "--train", args.data)
    args.test_ids = patient_ids(args.test, "--test", args.data)
    overlap = sorted(set(args.train_ids) & set(args.test_ids))
    if overlap:
        raise UsageError(f"--test: got {','.join(overlap)}, also in --train; allowed: patients in one set only")
    if not args.loo and len(args.train_ids) < 2:
        raise UsageError(f"--train: got {args.train!r}; allowed: at least two patients (a cohort fit)")
    if args.loo and len(args.train_ids) + len(args.test_ids) < 3:
        raise UsageError("--loo: got fewer than 3 patients; allowed: 3 or more (each fold trains on 2 or more)")
    if args.reuse is not None and not (args.reuse / "cohort.json").is_file():
        raise UsageError(f"--reuse: got {str(args.reuse)!r}; allowed: the 'individual' folder of an earlier --loo "
                         "run (with cohort.json)")
    args.out = args.out.resolve()
    args.mesh_dir = (args.mesh_dir or args.out / "meshes").resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    """Write the inputs, run the folds through the CLI, write ``hnts_response.json`` and print the table."""
    try:
        args = parse(argv)
    except UsageError as exc:
        print(f"hnts_response.py: error: {exc}", file=sys.stderr)
        return 2
    started, log = time.perf_counter(), []
    everyone = args.train_ids + args.test_ids
    mesh = {"size_tumour": args.size_tumour, "margin": args.margin}
    patients = write_inputs(args.out, args.data, everyone, mesh, args.max_iterations, args.scan_day)
    folds, rows = {}, []
    if args.loo:
        oncotwin(["calibrate", "--cohort", str(cohort_file(args.out / "inputs" / "cohort_all.yaml", patients,
                                                           everyone)),
                  "--out", str(args.out / "individual"), "--mesh-dir", str(args.mesh_dir), "--force"]
                 + (["--reuse", str(args.reuse.resolve())] if args.reuse else []), args.ranks, log)
        for pid in everyone:
            train = [p for p in everyone if p != pid]
            folds[f"loo_{pid}"], fold_rows = run_fold(f"loo_{pid}", train, [pid], patients, args, log,
                                                      args.out / "individual")
            rows += fold_rows
    else:
        folds["split"], rows = run_fold("split", args.train_ids, args.test_ids + args.train_ids, patients, args,
                                        log, None)
    payload = {"design": __doc__.split("Design")[1].split("Writes")[0].strip(), "loo": args.loo,
               "covariate": args.covariate, "scan_day": args.scan_day,
               "predict_days": list(PREDICT_DAYS), "patients": rows, "folds": folds,
               "median_absolute_error_cm3": median_errors(rows), "commands": log,
               "wall_seconds": round(time.perf_counter() - started, 1)}
    (args.out / "hnts_response.json").write_text(json.dumps(payload, indent=1) + "\n")
    print_table(payload)
    return 0


def print_table(payload: dict) -> None:
    """Per patient and per method (day 28 / 35 / 42, cm^3), then the median absolute errors."""
    print("| patient | set | pre | mid | spatial | PSI | cohort ratio | fit: alpha 1/Gy, T_c day |")
    print("|---|---|---|---|---|---|---|---|")
    for r in payload["patients"]:
        fold = payload["folds"][r["fold"]]
        shown = [r["predicted_volume_cm3"], r["baselines"]["psi"], r["baselines"]["cohort_ratio"]]
        cells = [" / ".join(f"{v[str(d)]:.2f}" for d in PREDICT_DAYS) for v in shown]
        print(f"| {r['id']} | {r['set']} | {r['pre_volume_cm3']:.2f} | {r['mid_volume_cm3']:.2f} | "
              + " | ".join(cells) + f" | {fold['radiosensitivity']['population_median']:.3g}, "
              f"{fold['clearance_half_time']['population_median']:.3g} |")
    individual = {}
    for fold in payload["folds"].values():
        individual |= fold["individual"]
    for label, fit in individual.items():  # the same fit in every fold (a patient's fit ignores the others)
        print(f"{label}: own fit (MAP, log sd) " + ", ".join(f"{n} {fit[n]['map']:.3g} ({fit[n]['log_sd']:.2f})"
                                                             for n in PARAMETERS))
    for m, by_day in payload["median_absolute_error_cm3"].items():
        print(f"median |error| {m:13s}: " + ", ".join(f"day {d} {v:.2f} cm^3" for d, v in by_day.items()))
    print(f"wall time {payload['wall_seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
