"""Tumour-size models of a lesion's volume series, evaluated for many parameter sets at once.

Every model maps parameters ``theta`` (K x P, natural units, time in days) and scan days ``t`` (K x M)
to volumes (K x M) in the units of the fitted data (the fitter scales each lesion to its largest
volume). ``first`` (K) is each series' first scan day (the classical models start there); day 0 is
treatment start (the inhibition models start treatment there).

* Classical growth models in the parameterisation of TumorGrowth.jl (A. Blaom, the model battle on the
  Laleh et al. 2022 data): the General Bertalanffy (GB) model ``dv/dt = omega B_lambda(v_inf / v) v``
  with the Box-Cox transform ``B_lambda(x) = (x^lambda - 1)/lambda`` (``log x`` at lambda = 0), whose
  solution is ``v(t) = v_inf (1 + ((v0/v_inf)^lambda - 1) e^(-omega t))^(1/lambda)`` (``v_inf
  (v0/v_inf)^(e^(-omega t))`` at lambda = 0), from the first scan; logistic (lambda = -1), Gompertz
  (lambda = 0) and classical Bertalanffy (lambda = 1/3) are its special cases; exponential
  ``v0 e^(omega t)``.
* Stein biexponential (Stein et al., Clin Cancer Res 14:7, 2008; Oncologist 16:1, 2011): regression and
  regrowth from treatment start, ``v(t) = v_s (e^(-d t) + e^(g t) - 1)`` for t >= 0 (``v_s e^(g t)``
  before it).
* Claret 2009 tumour-growth inhibition (Claret et al., J Clin Oncol 27:4103, 2009) with constant exposure
  from treatment start: ``dy/dt = K_L y - K_D e^(-lambda t) y``, so ``y(t) = y_0 exp(K_L t - K_D (1 -
  e^(-lambda t)) / lambda)`` (``y_0 e^(K_L t)`` before it).
* oncotwin's own 0-D response model: :mod:`oncotwin.series.response0d` (the kinetics of the spatial model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Param:
    """One fitted parameter: its name, unit, bounds and whether it is searched in log space."""

    name: str
    unit: str
    lower: float
    upper: float
    log: bool = True


@dataclass(frozen=True)
class Model:
    """A tumour-size model.

    Attributes:
        name: its name on the command line.
        params: the fitted parameters.
        predict: ``(theta K x P, t K x M, first K) -> volumes K x M``.
        guesses: ``(t, y, first) -> list of starting theta arrays (N x P)`` (several starts).
        description: one line for reports.
    """

    name: str
    params: tuple[Param, ...]
    predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    guesses: Callable[[np.ndarray, np.ndarray, np.ndarray], list[np.ndarray]]
    description: str


def bertalanffy_solution(t: np.ndarray, v0, v_inf, omega, lam) -> np.ndarray:
    """General Bertalanffy volume at time ``t`` after the first scan (arrays broadcast)."""
    ratio = np.maximum(v0, 1e-300) / v_inf
    decay = np.exp(-omega * t)
    small = np.abs(lam) < 1e-6
    lam_safe = np.where(small, 1.0, lam)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        base = 1.0 + (ratio ** lam_safe - 1.0) * decay
        general = v_inf * np.maximum(base, 0.0) ** (1.0 / lam_safe)
        gompertz = v_inf * ratio ** decay
    return np.where(small, gompertz, general)


def _column(theta: np.ndarray, i: int) -> np.ndarray:
    return theta[:, i:i + 1]


def _elapsed(t: np.ndarray, first: np.ndarray) -> np.ndarray:
    return t - first[:, None]


def _gb_fixed(lam: float) -> Callable:
    def predict(theta, t, first):
        return bertalanffy_solution(_elapsed(t, first), _column(theta, 0), _column(theta, 1), _column(theta, 2), lam)
    return predict


def _gb(theta, t, first):
    return bertalanffy_solution(_elapsed(t, first), _column(theta, 0), _column(theta, 1), _column(theta, 2),
                                _column(theta, 3))


def _exponential(theta, t, first):
    return _column(theta, 0) * np.exp(_column(theta, 1) * _elapsed(t, first))


def _stein(theta, t, first):
    vs, d, g = _column(theta, 0), _column(theta, 1), _column(theta, 2)
    after = vs * (np.exp(-d * np.maximum(t, 0.0)) + np.exp(g * np.maximum(t, 0.0)) - 1.0)
    return np.where(t >= 0, after, vs * np.exp(g * np.minimum(t, 0.0)))


def _claret(theta, t, first):
    y0, kl, kd, lam = (_column(theta, i) for i in range(4))
    tp = np.maximum(t, 0.0)
    after = y0 * np.exp(kl * tp - kd * (1.0 - np.exp(-lam * tp)) / lam)
    return np.where(t >= 0, after, y0 * np.exp(kl * np.minimum(t, 0.0)))


def _positive(y: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    return np.maximum(y, floor)


def _first(y: np.ndarray) -> np.ndarray:
    return y[:, 0]


def _last(y: np.ndarray) -> np.ndarray:
    return np.array([row[np.isfinite(row)][-1] for row in y])


def _span(t: np.ndarray, first: np.ndarray) -> np.ndarray:
    return np.maximum(np.nanmax(t, axis=1) - first, 1.0)


def _gb_guesses(with_lambda: float | None) -> Callable:
    def guesses(t, y, first):
        v0, last, top = _positive(_first(y)), _positive(_last(y)), _positive(np.nanmax(y, axis=1))
        omega = np.clip(3.0 / _span(t, first), 2e-4, 0.5)
        starts = []
        for v_inf in (last, 2.0 * top, 0.5 * _positive(np.nanmin(y, axis=1))):
            cols = [v0, v_inf, omega] + ([np.full_like(v0, with_lambda)] if with_lambda is not None else [])
            starts.append(np.column_stack(cols))
        return starts
    return guesses


def _exp_guesses(t, y, first):
    v0, last = _positive(_first(y)), _positive(_last(y))
    rate = np.clip(np.log(last / v0) / _span(t, first), -0.04, 0.04)
    return [np.column_stack([v0, rate]), np.column_stack([v0, np.zeros_like(v0)])]


def _stein_guesses(t, y, first):
    v0 = _positive(_first(y))
    return [np.column_stack([v0, np.full_like(v0, d), np.full_like(v0, g)]) for d, g in ((0.01, 0.001), (0.001, 0.01))]


def _claret_guesses(t, y, first):
    v0 = _positive(_first(y))
    return [np.column_stack([v0, np.full_like(v0, kl), np.full_like(v0, kd), np.full_like(v0, 0.01)])
            for kl, kd in ((0.002, 0.01), (0.01, 0.002))]


V0 = Param("v0", "volume", 1e-4, 10.0)
V_INF = Param("v_inf", "volume", 1e-4, 100.0)
OMEGA = Param("omega", "1/day", 1e-5, 1.0)


def _registry() -> dict[str, Model]:
    gb = (V0, V_INF, OMEGA)
    models = [
        Model("exponential", (V0, Param("omega", "1/day", -0.05, 0.05, log=False)), _exponential, _exp_guesses,
              "exponential growth or decay from the first scan"),
        Model("logistic", gb, _gb_fixed(-1.0), _gb_guesses(None), "logistic (GB, lambda = -1)"),
        Model("gompertz", gb, _gb_fixed(0.0), _gb_guesses(None), "Gompertz (GB, lambda = 0)"),
        Model("bertalanffy", gb, _gb_fixed(1.0 / 3.0), _gb_guesses(None), "classical Bertalanffy (GB, lambda = 1/3)"),
        Model("general_bertalanffy", gb + (Param("lambda", "", -2.0, 2.0, log=False),), _gb, _gb_guesses(1.0 / 3.0),
              "General Bertalanffy (TumorGrowth.jl)"),
        Model("stein", (Param("v_start", "volume", 1e-4, 10.0), Param("decay", "1/day", 1e-5, 0.5),
                        Param("growth", "1/day", 1e-5, 0.5)), _stein, _stein_guesses,
              "Stein biexponential regression and regrowth"),
        Model("claret", (Param("y_start", "volume", 1e-4, 10.0), Param("k_growth", "1/day", 1e-5, 0.5),
                         Param("k_kill", "1/day", 1e-5, 1.0), Param("resistance", "1/day", 1e-4, 1.0)),
              _claret, _claret_guesses, "Claret 2009 tumour growth inhibition"),
    ]
    return {m.name: m for m in models}


CLASSICAL = _registry()
