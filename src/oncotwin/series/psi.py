"""The proliferation-saturation-index (PSI) model of radiotherapy response, and its leave-one-out baselines.

Prokopiou et al., "A proliferation saturation index to predict radiation response and personalize
radiotherapy fractionation", Radiat Oncol 10:159, 2015:

* between fractions the tumour grows logistically, ``dV/dt = lambda V (1 - V/K)`` (closed form below);
* each fraction of dose d removes the proliferating share of the volume, ``V -> V - gamma_d (1 - V/K) V``:
  only the unsaturated fraction ``1 - V/K`` is radiosensitive;
* the pre-treatment PSI is ``V_0 / K``: a saturated tumour (PSI near 1) hardly responds.

Published parameters used in their Fig. 1 (standard-of-care 2 Gy fractions on weekdays):
``lambda = 0.1 /day``, ``gamma_2Gy = 0.25`` (:data:`PUBLISHED`).

The cohort tools (:func:`leave_one_out`) fit the shared ``gamma`` and carrying capacity ``K`` (and keep
``lambda`` at the published value) on the training patients' pre/mid volume pairs, where the mid scan's
day is only known to lie in a window: the misfit is the mean squared log error over the window's days.
The baselines under the same leave-one-out are "no change" (mid = pre) and "cohort ratio" (pre times the
geometric-mean mid/pre ratio of the training patients).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

PUBLISHED = {"growth_rate_per_day": 0.1, "gamma_2Gy": 0.25}
"""Prokopiou et al. 2015, Fig. 1: lambda = 0.1 /day, gamma = 0.25 per 2 Gy fraction."""


def weekday_fractions(start_day: int, count: int) -> np.ndarray:
    """Days of ``count`` daily fractions Monday to Friday, the first (a Monday) on ``start_day``."""
    days, day = [], start_day
    while len(days) < count:
        if (day - start_day) % 7 < 5:
            days.append(day)
        day += 1
    return np.array(days, dtype=float)


def logistic(v: float, rate: float, capacity: float, dt: float) -> float:
    """Logistic growth over ``dt`` in closed form."""
    if dt <= 0:
        return v
    return capacity / (1.0 + (capacity / v - 1.0) * np.exp(-rate * dt))


def psi_volume(v0: float, days: Sequence[float], fractions: np.ndarray, gamma: float, capacity: float,
               rate: float = PUBLISHED["growth_rate_per_day"]) -> np.ndarray:
    """Volumes at ``days`` (from day 0, volume ``v0``); a fraction on a sampled day is given before sampling."""
    out, v, now = [], float(v0), 0.0
    events = sorted([(f, 0) for f in fractions] + [(d, 1) for d in days])
    for day, kind in events:
        v = logistic(v, rate, capacity, day - now)
        now = day
        if kind == 0:
            v -= gamma * (1.0 - v / capacity) * v
        else:
            out.append(v)
    order = np.argsort(np.argsort(days, kind="stable"), kind="stable")
    return np.array(out)[order]


@dataclass(frozen=True)
class PsiFit:
    """Shared PSI parameters fitted on a cohort."""

    gamma: float
    capacity: float
    rate: float
    cost: float


def fit_psi(pre: Sequence[float], mid: Sequence[float], window: Sequence[float], fractions: np.ndarray,
            rate: float = PUBLISHED["growth_rate_per_day"]) -> PsiFit:
    """Fit gamma and K (shared) to pre/mid pairs: log error of the mid volume over every day of ``window``.

    Bounds: gamma in [1e-3, 0.9] per fraction; K from the largest pre volume x 1.01 to x 1000 (log).
    """
    pre, mid = np.asarray(pre, float), np.asarray(mid, float)
    low = np.log(pre.max() * 1.01)

    def residuals(x):
        gamma, capacity = x[0], np.exp(x[1])
        return np.concatenate([np.log(psi_volume(p, window, fractions, gamma, capacity, rate) / m)
                               for p, m in zip(pre, mid, strict=True)]) / np.sqrt(len(window))

    best = None
    for start in (np.log(pre.max() * 2), np.log(pre.max() * 20)):
        sol = least_squares(residuals, [0.2, start], bounds=([1e-3, low], [0.9, low + np.log(1000.0)]))
        if best is None or sol.cost < best.cost:
            best = sol
    return PsiFit(float(best.x[0]), float(np.exp(best.x[1])), rate, float(best.cost))


def leave_one_out(ids: Sequence, pre: Sequence[float], mid: Sequence[float], predict_days: Sequence[float],
                  window: Sequence[float], fractions: np.ndarray) -> list[dict]:
    """Leave-one-out predictions of the mid volume by the PSI model, no change and the cohort ratio.

    Args:
        ids: patient ids; pre, mid: observed volumes (any one unit; predictions come in it).
        predict_days: days at which each held-out patient's volume is predicted.
        window: days the training misfit averages over (the unknown scan date).
        fractions: the fraction days.

    Returns:
        Per patient: ``id``, ``pre``, ``mid``, ``predicted`` {method: {day: volume}} and the fitted PSI
        parameters of its training set.
    """
    pre, mid = np.asarray(pre, float), np.asarray(mid, float)
    rows = []
    for i, pid in enumerate(ids):
        train = np.arange(len(ids)) != i
        fitted = fit_psi(pre[train], mid[train], window, fractions)
        ratio = float(np.exp(np.mean(np.log(mid[train] / pre[train]))))
        psi = psi_volume(pre[i], predict_days, fractions, fitted.gamma, fitted.capacity, fitted.rate)
        rows.append({"id": pid, "pre": float(pre[i]), "mid": float(mid[i]),
                     "predicted": {"psi": {int(d): float(v) for d, v in zip(predict_days, psi, strict=True)},
                                   "no_change": {int(d): float(pre[i]) for d in predict_days},
                                   "cohort_ratio": {int(d): float(pre[i] * ratio) for d in predict_days}},
                     "psi_fit": {"gamma": fitted.gamma, "capacity": fitted.capacity, "rate": fitted.rate,
                                 "pre_treatment_psi": float(pre[i] / fitted.capacity)},
                     "cohort_ratio": ratio})
    return rows


def median_absolute_errors(rows: list[dict]) -> dict[str, dict[int, float]]:
    """Median over patients of |predicted - observed mid| per method and day."""
    methods = rows[0]["predicted"]
    return {m: {d: float(np.median([abs(r["predicted"][m][d] - r["mid"]) for r in rows])) for d in methods[m]}
            for m in methods}
