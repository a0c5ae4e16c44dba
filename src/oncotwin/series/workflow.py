"""Fit a lesion table with one model and tabulate everything ``oncotwin series`` writes.

Outputs (all in the table's own units: days, mm, mm^3; identifiers are the table's own ids):
``parameters.csv`` (per lesion and parameter: estimate, Laplace 95 % interval, unit), ``forecast.csv``
(per lesion and day: observed volume, model volume, 5/50/95 % band), ``recist.csv`` (per patient and scan:
sum of diameters, changes, category), ``tgi.csv`` / ``tgi.json`` (the week-8 metrics of
:mod:`oncotwin.series.tgi`) and ``series.json`` (model, options, population prior, counts).
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from oncotwin.series.fit import FitResult, fit, intervals, population_prior, predict, sample, series_data
from oncotwin.series.models import Model
from oncotwin.series.recist import PatientScan, recist_table
from oncotwin.series.table import Lesion
from oncotwin.series.tgi import WEEK8_DAY, TgiMetrics, baseline_day, week8_metrics

GRID_POINTS = 60


@dataclass(frozen=True)
class SeriesFit:
    """A fitted table: the lesions, the model, its fit and the derived tables."""

    lesions: list[Lesion]
    model: Model
    result: FitResult
    population: bool
    until: float
    parameters: list[dict]
    forecast: list[dict]
    recist: list[PatientScan]
    tgi: list[TgiMetrics]


def fit_table(lesions: list[Lesion], model: Model, population: bool = False, until: float | None = None,
              draws: int = 100) -> SeriesFit:
    """Fit every lesion (optionally under the empirical-Bayes population prior) and forecast to ``until``."""
    data = series_data([les.days for les in lesions], [les.volumes_mm3 for les in lesions])
    result = fit(model, data)
    if population:
        result = fit(model, data, prior=population_prior(result), start=result.z)
    last = max(float(les.days[-1]) for les in lesions)
    until = float(until) if until is not None else last + 84.0
    grids = [np.unique(np.concatenate([les.days, np.linspace(les.days[0], max(until, les.days[-1]), GRID_POINTS)]))
             for les in lesions]
    width = max(len(g) for g in grids)
    t = np.full((len(lesions), width), np.nan)
    for i, g in enumerate(grids):
        t[i, :len(g)] = g
    mean = predict(model, result, data, t)
    with warnings.catch_warnings():  # the padding of shorter grids is NaN in every draw
        warnings.simplefilter("ignore", RuntimeWarning)
        band = np.nanpercentile(sample(model, result, data, t, draws), [5, 50, 95], axis=0)
    week = np.array([[baseline_day(les.days), WEEK8_DAY] for les in lesions])
    at = predict(model, result, data, week)
    draws_at = sample(model, result, data, week, draws, seed=1)
    tgi = week8_metrics(lesions, {les.key: at[i] for i, les in enumerate(lesions)},
                        {les.key: draws_at[:, i, :] for i, les in enumerate(lesions)})
    return SeriesFit(lesions, model, result, population, until, _parameter_rows(lesions, model, result, data),
                     _forecast_rows(lesions, t, mean, band), recist_table(lesions), tgi)


def _parameter_rows(lesions: list[Lesion], model: Model, result: FitResult, data) -> list[dict]:
    low, high = intervals(model, result)
    rows = []
    for i, les in enumerate(lesions):
        for k, param in enumerate(model.params):
            factor = data.scale[i] if param.unit == "volume" else 1.0
            unit = "mm^3" if param.unit == "volume" else param.unit
            rows.append({"patient": les.patient, "lesion": les.lesion, "parameter": param.name,
                         "value": result.theta[i, k] * factor, "lower_95": low[i, k] * factor,
                         "upper_95": high[i, k] * factor, "unit": unit})
    return rows


def _forecast_rows(lesions: list[Lesion], t: np.ndarray, mean: np.ndarray, band: np.ndarray) -> list[dict]:
    rows = []
    for i, les in enumerate(lesions):
        observed = dict(zip(les.days.tolist(), les.volumes_mm3.tolist(), strict=True))
        for j in np.flatnonzero(np.isfinite(t[i])):
            day = float(t[i, j])
            rows.append({"patient": les.patient, "lesion": les.lesion, "day": day,
                         "observed_volume_mm3": observed.get(day, ""), "model_volume_mm3": mean[i, j],
                         "p5_mm3": band[0, i, j], "p50_mm3": band[1, i, j], "p95_mm3": band[2, i, j]})
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows of dicts to CSV (numbers with 6 significant digits)."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["empty"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else "" if v is None else v)
                             for k, v in row.items()})


def write_outputs(folder: Path, fitted: SeriesFit, table: Path) -> dict:
    """Write the tables and ``series.json`` into ``folder``; returns the summary."""
    write_csv(folder / "parameters.csv", fitted.parameters)
    write_csv(folder / "forecast.csv", fitted.forecast)
    write_csv(folder / "recist.csv", [asdict(s) for s in fitted.recist])
    write_csv(folder / "tgi.csv", [m.as_dict() for m in fitted.tgi])
    (folder / "tgi.json").write_text(json.dumps([m.as_dict() for m in fitted.tgi], indent=1) + "\n")
    prior = fitted.result.prior
    summary = {"model": fitted.model.name, "description": fitted.model.description, "table": str(table),
               "population_prior": fitted.population, "lesions": len(fitted.lesions),
               "patients": len({les.patient for les in fitted.lesions}), "forecast_until_day": fitted.until,
               "parameters": [{"name": p.name, "unit": p.unit, "lower": p.lower, "upper": p.upper}
                              for p in fitted.model.params],
               "prior_z": None if prior is None else {"median": prior[0].tolist(), "sd": prior[1].tolist()}}
    (folder / "series.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
