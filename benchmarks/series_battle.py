"""Benchmark: the TumorGrowth.jl model battle on the Laleh et al. 2022 lesions, every series model + LOCF.

Run (from the repository root; needs ``../shared/data/laleh2022_lesions``; about 8 min on one core)::

    .venv/bin/python benchmarks/series_battle.py [--data FILE] [--out benchmarks/results/series/battle.json]

Protocol (:mod:`oncotwin.series.battle`): lesions with >= 6 readings; the last 2 held out; each model fitted
per lesion on the rest; error = MAE of ``Lesion_normvol`` at the 2 held-out readings. Reported per method:
mean and median MAE with 95 % bootstrap intervals (2000 resamples of lesions), without and with the
exclusion of lesions where any method of the published battle (LOCF and the five classical models)
erred above 0.1; paired bootstrap differences against LOCF and
against General Bertalanffy. oncotwin's 0-D response model is reported as fitted per lesion and with the
empirical-Bayes population prior (:func:`oncotwin.series.fit.fit_population`). Nothing here was tuned on
the held-out readings: the model settings (bounds, V_cap = 2 x the largest fitted volume, T_c = 10 days,
noise sd 0.1) were fixed before the first run and are reported as they came out.

Published (TumorGrowth.jl battle, means over all five studies, ~2 % of lesions excluded): GB 0.00273,
classical Bertalanffy 0.00280, Gompertz 0.00281, logistic 0.00288, exponential 0.00331; LOCF 0.00268 on
the shared studies (0.00203 with the exclusion).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from oncotwin.series.battle import bootstrap_difference, bootstrap_mean, exclusion_mask, locf_errors, split
from oncotwin.series.fit import fit, population_prior, predict, series_data
from oncotwin.series.registry import MODELS
from oncotwin.series.table import read_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "laleh2022_lesions" / "lesions.csv"
PUBLISHED = {"general_bertalanffy": 0.00273, "bertalanffy": 0.00280, "gompertz": 0.00281, "logistic": 0.00288,
             "exponential": 0.00331, "locf": 0.00268}
POPULATION = ("oncotwin_0d", "general_bertalanffy")


def errors_of(name: str, parts) -> dict[str, np.ndarray]:
    """Per-lesion errors of one model (and of its population-regularised refit where asked)."""
    model = MODELS[name]
    data = series_data(parts.train_t, parts.train_y)
    individual = fit(model, data)
    out = {name: _mae(predict(model, individual, data, parts.test_t), parts.test_y)}
    if name in POPULATION:
        regularised = fit(model, data, prior=population_prior(individual), start=individual.z)
        out[f"{name}+population"] = _mae(predict(model, regularised, data, parts.test_t), parts.test_y)
    return out


def _mae(forecast: np.ndarray, observed: np.ndarray) -> np.ndarray:
    err = np.mean(np.abs(forecast - observed), axis=1)
    return np.where(np.isfinite(err), err, np.nan)


def diagnose(parts, errors: dict[str, np.ndarray]) -> dict:
    """Why a model loses: training fit, over-prediction, parameters at a bound, concentration of the excess."""
    data = series_data(parts.train_t, parts.train_y)
    out = {}
    for name in ("general_bertalanffy", "oncotwin_0d"):
        model = MODELS[name]
        result = fit(model, data)
        signed = predict(model, result, data, parts.test_t) - parts.test_y
        fitted = predict(model, result, data, data.t) - data.y * data.scale[:, None]
        lo, hi = np.array([p.lower for p in model.params]), np.array([p.upper for p in model.params])
        at = np.isclose(result.theta, lo, rtol=1e-2) | np.isclose(result.theta, hi, rtol=1e-2)
        out[name] = {"train_rms": float(np.mean(np.sqrt(np.nanmean(fitted ** 2, axis=1)))),
                     "share_over_predicted": float(np.mean(signed.mean(axis=1) > 0)),
                     "share_at_bound": {p.name: float(at[:, k].mean()) for k, p in enumerate(model.params)}}
    excess = errors["oncotwin_0d"] - errors["general_bertalanffy"]
    out["share_of_excess_in_top10"] = float(np.sort(excess)[::-1][:10].sum() / excess.sum())
    out["share_worse_than_gb"] = float(np.mean(excess > 0))
    return out


def summarise(errors: dict[str, np.ndarray], keep: np.ndarray) -> dict:
    """Bootstrap summaries and pairwise differences on the lesions ``keep``."""
    rows = {name: bootstrap_mean(e[keep]) for name, e in errors.items()}
    pairs = {}
    for ref in ("locf", "general_bertalanffy"):
        pairs[ref] = {name: bootstrap_difference(e[keep], errors[ref][keep]) for name, e in errors.items()
                      if name != ref}
    return {"methods": rows, "difference_vs": pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="lesion table in the Laleh/TumorGrowth layout")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "series" / "battle.json")
    parser.add_argument("--models", nargs="*", default=list(MODELS), help="models to run (default: all)")
    parser.add_argument("--diagnose", action="store_true", help="also the analysis of the 0-D model against GB")
    args = parser.parse_args(argv)
    lesions = read_table(args.data, strict=False)
    parts = split(lesions)
    errors: dict[str, np.ndarray] = {"locf": locf_errors(parts)}
    seconds = {}
    for name in args.models:
        start = time.perf_counter()
        errors.update(errors_of(name, parts))
        seconds[name] = round(time.perf_counter() - start, 1)
        print(f"{name}: {seconds[name]} s", flush=True)
    everything = np.ones(len(parts.lesions), bool)
    # the exclusion of the published battle: lesions where one of its methods (LOCF and the five classical
    # models) failed or erred above 0.1
    keep = exclusion_mask({k: v for k, v in errors.items() if k in PUBLISHED})
    studies = sorted({les.group.split("_Arm")[0] for les in parts.lesions})
    payload = {
        "data": str(args.data), "lesions": len(lesions), "battle_lesions": len(parts.lesions),
        "studies": studies, "non_increasing_days": sum(bool(les.problem) for les in parts.lesions),
        "excluded_above_0.1": int((~keep).sum()), "seconds": seconds, "published": PUBLISHED,
        "all": summarise(errors, everything), "with_exclusion": summarise(errors, keep),
        "per_lesion": {name: [None if not np.isfinite(v) else float(v) for v in e] for name, e in errors.items()},
    }
    if args.diagnose and {"oncotwin_0d", "general_bertalanffy"} <= set(errors):
        payload["diagnosis"] = diagnose(parts, errors)
        print(json.dumps(payload["diagnosis"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"{'method':32s} {'mean':>9s} {'95% CI':>21s} {'median':>9s} | excl. mean   vs LOCF (excl.)")
    for name in errors:
        a, b = payload["all"]["methods"][name], payload["with_exclusion"]["methods"][name]
        d = payload["with_exclusion"]["difference_vs"]["locf"].get(name)
        vs = f"{d['mean_difference']:+.5f} [{d['lo']:+.5f}, {d['hi']:+.5f}]" if d else ""
        print(f"{name:32s} {a['mean']:9.5f} [{a['mean_lo']:.5f}, {a['mean_hi']:.5f}] {a['median']:9.6f} | "
              f"{b['mean']:.5f}  {vs}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
