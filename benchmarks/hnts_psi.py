"""Benchmark: the 0-D proliferation-saturation-index baseline (Prokopiou et al. 2015) on HNTS-MRG 2024.

Run (from the repository root; needs ``../shared/data/hnts_mrg_2024``; a few seconds)::

    .venv/bin/python benchmarks/hnts_psi.py [--data DIR] [--out benchmarks/results/series/hnts_psi.json]

Design (fixed before looking at any result): the five patients' primary tumours (label 1, GTVp; volume =
voxel count x voxel volume); the time axis of ``benchmarks/hnts_response.py`` (t = 0 at the pre-RT scan,
RT from day 14, 2 Gy on weekdays, 35 fractions; the mid-RT scan somewhere in days 28-42, a fraction on a
scan day given before the scan); leave-one-out: the PSI model's shared gamma and K (lambda at the
published 0.1/day) fitted on 4 patients (mean squared log error over days 28, 35 and 42: the unknown date),
the 5th predicted from its pre-RT volume at days 28, 35 and 42; the baselines "no change" and "cohort
ratio" (geometric-mean mid/pre ratio of the 4) under the same leave-one-out. The functions are
:func:`oncotwin.series.psi.leave_one_out` and :func:`oncotwin.series.psi.median_absolute_errors`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from oncotwin.series.psi import PUBLISHED, leave_one_out, median_absolute_errors, weekday_fractions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hnts_response import DATA, FRACTIONS, PREDICT_DAYS, RT_START_DAY, gtvp_volume_cm3  # noqa: E402

PATIENTS = (77, 78, 80, 88, 99)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "series" / "hnts_psi.json")
    args = parser.parse_args(argv)
    pre = [gtvp_volume_cm3(args.data / f"{p}_preRT_mask_registered.nii.gz") for p in PATIENTS]
    mid = [gtvp_volume_cm3(args.data / f"{p}_midRT_mask.nii.gz") for p in PATIENTS]
    fractions = weekday_fractions(RT_START_DAY, FRACTIONS)
    rows = leave_one_out(PATIENTS, pre, mid, PREDICT_DAYS, PREDICT_DAYS, fractions)
    patients = [{"id": r["id"], "pre_volume_cm3": r["pre"], "mid_volume_cm3": r["mid"],
                 "predicted_volume_cm3": {m: {str(d): v for d, v in by_day.items()}
                                          for m, by_day in r["predicted"].items()},
                 "psi_fit_on_others": r["psi_fit"], "cohort_ratio_of_others": r["cohort_ratio"]} for r in rows]
    errors = {m: {str(d): v for d, v in by_day.items()} for m, by_day in median_absolute_errors(rows).items()}
    payload = {"design": __doc__.split("Design")[1].strip(), "published_parameters": PUBLISHED,
               "rt_start_day": RT_START_DAY, "fractions": FRACTIONS, "predict_days": list(PREDICT_DAYS),
               "patients": patients, "median_absolute_error_cm3": errors}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"{'patient':>8s} {'pre':>7s} {'mid':>7s} " + " ".join(f"{m}@{d:>2d}" for m in errors for d in PREDICT_DAYS))
    for r in rows:
        print(f"{r['id']:>8} {r['pre']:7.2f} {r['mid']:7.2f} " + " ".join(
            f"{r['predicted'][m][d]:9.2f}" for m in errors for d in PREDICT_DAYS))
    for m, by_day in errors.items():
        print(f"median |error| {m:13s}: " + ", ".join(f"day {d} {v:.2f} cm^3" for d, v in by_day.items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
