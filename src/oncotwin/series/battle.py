"""The TumorGrowth.jl model-battle protocol: hold out the last readings, fit the rest, score the forecast.

Protocol (A. Blaom, TumorGrowth.jl, on the Laleh et al. 2022 lesions): lesions with at least
:data:`MIN_READINGS` readings; the last :data:`HELD_OUT` of each are held out; each model is fitted on the
others; the error of a lesion is the mean absolute error of ``Lesion_normvol`` at the held-out readings.
Models are compared by the mean (and median) error over the lesions, with and without the exclusion of
lesions on which some model erred above :data:`EXCLUDE_ABOVE`. Last observation carried forward (LOCF)
is the trivial baseline. Intervals: percentile bootstrap over lesions (paired, so differences between
models are resampled together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin.series.fit import fit, fit_population, predict, series_data
from oncotwin.series.models import Model
from oncotwin.series.table import Lesion

MIN_READINGS = 6
HELD_OUT = 2
EXCLUDE_ABOVE = 0.1


@dataclass(frozen=True)
class Split:
    """Training and held-out parts of the lesions of the battle."""

    lesions: list[Lesion]
    train_t: list[np.ndarray]
    train_y: list[np.ndarray]
    test_t: np.ndarray
    test_y: np.ndarray


def split(lesions: list[Lesion], min_readings: int = MIN_READINGS, held_out: int = HELD_OUT) -> Split:
    """Lesions with enough readings, split into the fitted readings and the last ``held_out`` (normvol)."""
    kept = [les for les in lesions if len(les) >= min_readings]
    values = [les.normvol if les.normvol is not None else les.volumes_mm3 for les in kept]
    return Split(kept, [les.days[:-held_out] for les in kept], [v[:-held_out] for v in values],
                 np.array([les.days[-held_out:] for les in kept]), np.array([v[-held_out:] for v in values]))


def locf_errors(parts: Split) -> np.ndarray:
    """Per-lesion MAE of carrying the last fitted reading forward."""
    last = np.array([y[-1] for y in parts.train_y])
    return np.mean(np.abs(parts.test_y - last[:, None]), axis=1)


def model_errors(model: Model, parts: Split, population: bool = False) -> np.ndarray:
    """Per-lesion MAE of ``model`` fitted on the training readings (population-regularised if asked)."""
    data = series_data(parts.train_t, parts.train_y)
    result = fit_population(model, data)[1] if population else fit(model, data)
    forecast = predict(model, result, data, parts.test_t)
    return np.mean(np.abs(forecast - parts.test_y), axis=1)


def bootstrap_mean(errors: np.ndarray, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean and median with 95 % percentile-bootstrap intervals over lesions."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(errors), (draws, len(errors)))
    means, medians = errors[idx].mean(axis=1), np.median(errors[idx], axis=1)
    return {"n": len(errors), "mean": float(errors.mean()), "mean_lo": float(np.percentile(means, 2.5)),
            "mean_hi": float(np.percentile(means, 97.5)), "median": float(np.median(errors)),
            "median_lo": float(np.percentile(medians, 2.5)), "median_hi": float(np.percentile(medians, 97.5))}


def bootstrap_difference(a: np.ndarray, b: np.ndarray, draws: int = 2000, seed: int = 1) -> dict[str, float]:
    """Mean of ``a - b`` (paired per lesion) with its 95 % bootstrap interval and whether it excludes 0."""
    rng = np.random.default_rng(seed)
    diff = a - b
    idx = rng.integers(0, len(diff), (draws, len(diff)))
    means = diff[idx].mean(axis=1)
    lo, hi = float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
    return {"mean_difference": float(diff.mean()), "lo": lo, "hi": hi, "excludes_zero": bool(lo > 0 or hi < 0)}


def exclusion_mask(errors: dict[str, np.ndarray], above: float = EXCLUDE_ABOVE) -> np.ndarray:
    """Lesions kept under the exclusion: no method erred above ``above`` and none failed (NaN)."""
    stacked = np.vstack(list(errors.values()))
    return np.all(np.isfinite(stacked) & (stacked <= above), axis=0)
