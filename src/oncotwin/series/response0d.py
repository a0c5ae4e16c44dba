"""oncotwin's 0-D response model of a lesion: the spatial model's cell kinetics without space.

The state is that of :class:`oncotwin.kinetics.response.CloneKinetics` (the very code the spatial model
runs, called here on NumPy arrays with one entry per lesion and parameter set): sensitive ``s``,
resistant ``r``, doomed ``d`` and necrotic ``m`` cells as fractions of a carrying capacity. The visible
volume is ``V = V_cap (s + r + d + m)``: doomed cells keep occupying space until they are cleared.

* Growth: both clones proliferate at ``rho`` (logistic in the shared capacity, normoxic: no oxygen model
  in 0-D; no mutation during the series).
* Treatment: from day 0 (treatment start in the tables) a continuous kill rate ``kappa`` moves sensitive
  cells into the doomed pool (the ``kill`` argument of :meth:`CloneKinetics.advance`); the kill is off
  before day 0 (baseline scans), which is the "kill that starts at a time" the kinetics API does not have
  and which this module builds by integrating step by step.
* Clearance of doomed cells with the half-time ``T_c`` = 10 days (the spatial model's default, the
  median of Lim et al., IJROBP 70:126, 2008; fixed, not fitted: 3-5 scans cannot inform it beside ``kappa``).
* A resistant clone: the fraction ``f_r`` of the cells at the first scan are resistant (not killed).
* ``V_cap`` = 2 x the lesion's largest fitted volume (an a-priori choice, not fitted: a lesion at its
  largest fills half its capacity, so growth slows as in the saturating classical models; fixed before
  any held-out result was seen).

Fitted per lesion: ``V0`` (volume at the first scan), ``rho``, ``kappa``, ``f_r``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from oncotwin.core.units import to_internal
from oncotwin.defaults.tissue import CLEARANCE_HALF_TIME
from oncotwin.kinetics.response import CloneKinetics
from oncotwin.series.models import Model, Param

DAY = 86400.0
CLEARANCE_HALF_TIME_DAYS = to_internal(CLEARANCE_HALF_TIME, "day")
"""T_c of the spatial model's default (Lim et al. 2008, :mod:`oncotwin.defaults.tissue`)."""
CAPACITY_FACTOR = 2.0
"""V_cap over the lesion's largest fitted volume (the fitter scales that volume to 1)."""
MAX_STEP_DAYS = 7.0
MAX_INCREMENT = 0.5
"""Largest rate x RK4 sub-step: RK4's local error at 0.5 is about 3e-4 of the step's change."""


def kinetics(clearance_half_time_days: float = CLEARANCE_HALF_TIME_DAYS) -> CloneKinetics:
    """The kinetics of the 0-D model: unit rates (the per-lesion rate enters as ``scale``), clearance T_c."""
    return CloneKinetics(sensitive_rate=1.0 / DAY, resistant_rate=1.0 / DAY,
                         clearance_rate=math.log(2.0) / (clearance_half_time_days * DAY))


def time_grid(t: np.ndarray, first: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Every scan day, first day and the treatment start, refined to steps of at most :data:`MAX_STEP_DAYS`."""
    points = np.unique(np.concatenate([t[np.isfinite(t)], first, [start]]))
    points = points[points >= first.min()]
    grid = [points[0]]
    for a, b in itertools.pairwise(points):
        n = max(1, math.ceil((b - a) / MAX_STEP_DAYS))
        grid.extend(np.linspace(a, b, n + 1)[1:])
    return np.array(grid)


def simulate(theta: np.ndarray, t: np.ndarray, first: np.ndarray, capacity: float = CAPACITY_FACTOR,
             model: CloneKinetics | None = None) -> np.ndarray:
    """Volumes (K x M) of the 0-D model for parameter sets ``theta`` (K x 4: V0, rho, kappa, f_r).

    Args:
        theta: V0 (volume at ``first``, data units), rho [1/day], kappa [1/day], f_r [-].
        t: scan days (K x M; NaN for padding).
        first: each set's first scan day (K); nothing changes before it.
        capacity: V_cap in data units.
        model: the kinetics (default :func:`kinetics`).
    """
    model = model or kinetics()
    v0, rho, kappa, fr = (theta[:, i].astype(float) for i in range(4))
    fr = np.clip(fr, 0.0, 1.0)
    s, r = (1.0 - fr) * v0 / capacity, fr * v0 / capacity
    d, m = np.zeros_like(s), np.zeros_like(s)
    grid = time_grid(t, first)
    volumes = np.empty((len(grid), len(s)))
    volumes[0] = capacity * (s + r + d + m)
    for j in range(len(grid) - 1):
        active = first <= grid[j]
        scale = np.where(active, rho, 0.0)
        kill = np.where(active & (grid[j] >= 0.0), kappa / DAY, 0.0)
        model.advance(s, r, d, m, (grid[j + 1] - grid[j]) * DAY, scale=scale, kill=kill, max_increment=MAX_INCREMENT)
        volumes[j + 1] = capacity * (s + r + d + m)
    out = np.full(t.shape, np.nan)
    finite = np.isfinite(t)
    index = np.clip(np.searchsorted(grid, np.where(finite, t, grid[0])), 0, len(grid) - 1)
    rows = np.broadcast_to(np.arange(len(s))[:, None], t.shape)
    out[finite] = volumes[index[finite], rows[finite]]
    return out


def _predict(theta: np.ndarray, t: np.ndarray, first: np.ndarray) -> np.ndarray:
    return simulate(theta, t, first)


def _guesses(t: np.ndarray, y: np.ndarray, first: np.ndarray) -> list[np.ndarray]:
    v0 = np.maximum(y[:, 0], 1e-4)
    ones = np.ones_like(v0)
    return [np.column_stack([v0, 0.01 * ones, 0.02 * ones, 0.1 * ones]),
            np.column_stack([v0, 0.003 * ones, 0.005 * ones, 0.5 * ones])]


RESPONSE_MODEL = Model(
    "oncotwin_0d",
    (Param("v0", "volume", 1e-4, 1.9), Param("proliferation_rate", "1/day", 1e-4, 0.2),
     Param("kill_rate", "1/day", 1e-4, 0.3), Param("resistant_fraction", "", 1e-4, 1.0)),
    _predict, _guesses,
    "oncotwin 0-D response: two clones, kill into doomed cells cleared with T_c (CloneKinetics)")
