"""Per-lesion least-squares fits with bounds, an optional population prior, Laplace intervals and bands.

Each lesion is its own least-squares problem (volumes scaled to the lesion's largest fitted volume),
solved by Levenberg-Marquardt in bounded coordinates: parameter ``x`` in ``[lower, upper]`` (in log space
for positive ones) is ``lower + (upper - lower) sigmoid(z)`` with ``z`` free. All lesions are solved at
once, vectorised: one model evaluation serves every lesion and every finite-difference column of the
Jacobian. This is what makes the 0-D response model affordable (it integrates the spatial model's RK4
kinetics, :mod:`oncotwin.series.response0d`); the problems stay independent (per-lesion damping, step
acceptance and convergence), so the result is that of ``scipy.optimize.least_squares`` run lesion by
lesion, with several starts per lesion (the best final cost is kept).

Population prior (empirical Bayes, optional): the per-lesion fits give, per parameter, the median and the
robust spread (1.4826 MAD, at least :data:`MIN_PRIOR_SD`) of ``z`` across the lesions; the refit adds
``(z - median) / spread`` to each lesion's residuals, with the data residuals weighted by the noise
:data:`NOISE_SD` (10 % of the lesion's largest volume, fixed a priori). Short series then borrow strength
from the cohort.

Uncertainty (Laplace): the Gauss-Newton covariance ``sigma^2 (J^T J)^-1`` in ``z`` (with the prior's
precision added when there is one), ``sigma`` the residual sd (``SSR / (n - p)``, at least
:data:`NOISE_FLOOR`; :data:`NOISE_SD` under the prior); 95 % intervals map ``z +- 1.96 sd`` through the
(monotone) transform; forecast bands are the 5/50/95 % quantiles of the model over draws of ``z``.
They cover parameter uncertainty only, not model error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin.series.models import Model

NOISE_SD = 0.1
NOISE_FLOOR = 0.05
MIN_PRIOR_SD = 0.3
FD_STEP = 1e-4
Z_LIMIT = 12.0


@dataclass(frozen=True)
class SeriesData:
    """Padded fitting data of N lesions.

    Attributes:
        t: scan days (N x M, NaN padding).
        y: volumes over ``scale`` (N x M, NaN padding).
        first: first scan day per lesion (N).
        scale: each lesion's largest fitted volume (data units; 1 when all are 0).
    """

    t: np.ndarray
    y: np.ndarray
    first: np.ndarray
    scale: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return np.isfinite(self.y)

    @property
    def counts(self) -> np.ndarray:
        return self.mask.sum(axis=1)


def series_data(times: list[np.ndarray], volumes: list[np.ndarray]) -> SeriesData:
    """Pad per-lesion series into :class:`SeriesData` (each scaled to its largest volume)."""
    width = max(len(t) for t in times)
    t = np.full((len(times), width), np.nan)
    y = np.full_like(t, np.nan)
    scale = np.ones(len(times))
    for i, (ti, vi) in enumerate(zip(times, volumes, strict=True)):
        top = float(np.max(vi)) if len(vi) else 0.0
        scale[i] = top if top > 0 else 1.0
        t[i, :len(ti)], y[i, :len(vi)] = ti, np.asarray(vi) / scale[i]
    return SeriesData(t, y, t[:, 0].copy(), scale)


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters of N lesions under one model.

    Attributes:
        model: the model's name.
        z: bounded coordinates of the estimate (N x P).
        theta: parameters in natural units, volumes in the scaled units of the data (N x P).
        cov: Laplace covariance of ``z`` (N x P x P).
        cost: final least-squares cost (sum of squared scaled residuals, prior terms included).
        sigma: residual sd used for the covariance (N).
        prior: (median, sd) of ``z`` when a population prior was used.
    """

    model: str
    z: np.ndarray
    theta: np.ndarray
    cov: np.ndarray
    cost: np.ndarray
    sigma: np.ndarray
    prior: tuple[np.ndarray, np.ndarray] | None = None


def _bounds(model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logs = np.array([p.log for p in model.params])
    lo = np.array([np.log(p.lower) if p.log else p.lower for p in model.params])
    hi = np.array([np.log(p.upper) if p.log else p.upper for p in model.params])
    return lo, hi, logs


def to_theta(model: Model, z: np.ndarray) -> np.ndarray:
    """Natural parameters of bounded coordinates ``z``."""
    lo, hi, logs = _bounds(model)
    u = lo + (hi - lo) / (1.0 + np.exp(-np.clip(z, -Z_LIMIT, Z_LIMIT)))
    return np.where(logs, np.exp(u), u)


def to_z(model: Model, theta: np.ndarray) -> np.ndarray:
    """Bounded coordinates of natural parameters (clipped just inside the bounds)."""
    lo, hi, logs = _bounds(model)
    u = np.where(logs, np.log(np.maximum(theta, 1e-300)), theta)
    frac = np.clip((u - lo) / (hi - lo), 1e-4, 1 - 1e-4)
    return np.log(frac / (1.0 - frac))


def _residuals(model: Model, z: np.ndarray, data: SeriesData, copies: int) -> np.ndarray:
    """Scaled residuals (copies x N x M) of ``copies`` stacked parameter sets per lesion (zero at padding)."""
    theta = to_theta(model, z)
    t = np.tile(data.t, (copies, 1))
    first = np.tile(data.first, copies)
    pred = model.predict(theta, t, first).reshape(copies, *data.t.shape)
    r = pred - data.y[None]
    r[:, ~data.mask] = 0.0
    return np.nan_to_num(r, nan=1e3, posinf=1e3, neginf=-1e3)


def _jacobian(model: Model, z: np.ndarray, data: SeriesData) -> tuple[np.ndarray, np.ndarray]:
    """Residuals (N x M) and their forward-difference Jacobian (N x M x P) at ``z``, in one evaluation."""
    _n, p = z.shape
    stacked = np.concatenate([z] + [z + FD_STEP * np.eye(p)[k] for k in range(p)])
    r = _residuals(model, stacked, data, p + 1)
    return r[0], np.moveaxis((r[1:] - r[0]) / FD_STEP, 0, -1)


def _cost(r: np.ndarray, z: np.ndarray, weights: tuple | None) -> np.ndarray:
    if weights is None:
        return np.sum(r * r, axis=-1)
    mu, tau, sigma = weights
    return np.sum(r * r, axis=-1) / sigma ** 2 + np.sum(((z - mu) / tau) ** 2, axis=-1)


def levenberg_marquardt(model: Model, data: SeriesData, z0: np.ndarray, weights: tuple | None = None,
                        iterations: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Per-lesion Levenberg-Marquardt from ``z0`` (N x P); returns the final ``z`` and cost (N)."""
    z = z0.copy()
    n, p = z.shape
    damping = np.full(n, 1e-2)
    sigma2 = 1.0 if weights is None else weights[2] ** 2
    prior_precision = np.zeros(p) if weights is None else 1.0 / weights[1] ** 2
    for _ in range(iterations):
        r, jac = _jacobian(model, z, data)
        cost = _cost(r, z, weights)
        a = np.einsum("nmp,nmq->npq", jac, jac) / sigma2 + np.diag(prior_precision)
        g = np.einsum("nmp,nm->np", jac, r) / sigma2
        if weights is not None:
            g += (z - weights[0]) * prior_precision
        diag = np.einsum("npp->np", a) + 1e-9
        lhs = a + damping[:, None, None] * np.einsum("np,pq->npq", diag, np.eye(p))
        step = -np.linalg.solve(lhs, g[..., None])[..., 0]
        trial = np.clip(z + step, -Z_LIMIT, Z_LIMIT)
        trial_cost = _cost(_residuals(model, trial, data, 1)[0], trial, weights)
        better = trial_cost < cost
        z[better] = trial[better]
        damping = np.where(better, damping / 3.0, damping * 5.0)
        if np.all((np.abs(step).max(axis=1) < 1e-6) | (damping > 1e8)):
            break
    return z, _cost(_residuals(model, z, data, 1)[0], z, weights)


def fit(model: Model, data: SeriesData, prior: tuple[np.ndarray, np.ndarray] | None = None,
        start: np.ndarray | None = None, iterations: int = 60) -> FitResult:
    """Fit every lesion of ``data`` (best of the model's starting points, or from ``start`` in ``z``)."""
    weights = None if prior is None else (prior[0], prior[1], NOISE_SD)
    starts = [start] if start is not None else [to_z(model, g) for g in model.guesses(data.t, data.y, data.first)]
    best_z, best_cost = None, None
    for z0 in starts:
        z, cost = levenberg_marquardt(model, data, z0, weights, iterations)
        if best_z is None:
            best_z, best_cost = z, cost
        else:
            better = cost < best_cost
            best_z[better], best_cost[better] = z[better], cost[better]
    cov, sigma = laplace(model, data, best_z, prior)
    return FitResult(model.name, best_z, to_theta(model, best_z), cov, best_cost, sigma, prior)


def laplace(model: Model, data: SeriesData, z: np.ndarray, prior: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton covariance of ``z`` (N x P x P) and the residual sd used (N)."""
    r, jac = _jacobian(model, z, data)
    p = z.shape[1]
    if prior is None:
        dof = np.maximum(data.counts - p, 1)
        sigma = np.maximum(np.sqrt(np.sum(r * r, axis=1) / dof), NOISE_FLOOR)
        precision = np.einsum("nmp,nmq->npq", jac, jac) / sigma[:, None, None] ** 2
    else:
        sigma = np.full(len(z), NOISE_SD)
        precision = np.einsum("nmp,nmq->npq", jac, jac) / NOISE_SD ** 2 + np.diag(1.0 / prior[1] ** 2)
    return np.linalg.pinv(precision + 1e-8 * np.eye(p)), sigma


def population_prior(result: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sd (1.4826 MAD, >= :data:`MIN_PRIOR_SD`) of ``z`` across the lesions."""
    z = np.clip(result.z, -8.0, 8.0)
    median = np.median(z, axis=0)
    spread = 1.4826 * np.median(np.abs(z - median), axis=0)
    return median, np.maximum(spread, MIN_PRIOR_SD)


def fit_population(model: Model, data: SeriesData) -> tuple[FitResult, FitResult]:
    """Individual fits, then the refit under their population prior; returns (individual, population)."""
    individual = fit(model, data)
    prior = population_prior(individual)
    regularised = fit(model, data, prior=prior, start=individual.z)
    return individual, regularised


def predict(model: Model, result: FitResult, data: SeriesData, t: np.ndarray) -> np.ndarray:
    """Model volumes (data units) of every lesion at days ``t`` (N x M')."""
    return model.predict(result.theta, t, data.first) * data.scale[:, None]


def intervals(model: Model, result: FitResult, level: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Laplace 95 % intervals of the natural parameters (lower, upper: N x P)."""
    sd = np.sqrt(np.maximum(np.einsum("npp->np", result.cov), 0.0))
    return to_theta(model, result.z - level * sd), to_theta(model, result.z + level * sd)


def sample(model: Model, result: FitResult, data: SeriesData, t: np.ndarray, draws: int = 200,
           seed: int = 0) -> np.ndarray:
    """Model volumes (draws x N x M', data units) over Laplace draws of the parameters."""
    rng = np.random.default_rng(seed)
    n, p = result.z.shape
    values, vectors = np.linalg.eigh(result.cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, 25.0))[:, None, :]
    noise = rng.standard_normal((draws, n, p))
    z = result.z[None] + np.einsum("npq,dnq->dnp", root, noise)
    theta = to_theta(model, z.reshape(draws * n, p))
    tt = np.tile(t, (draws, 1))
    first = np.tile(data.first, draws)
    return model.predict(theta, tt, first).reshape(draws, n, -1) * data.scale[None, :, None]


def bands(model: Model, result: FitResult, data: SeriesData, t: np.ndarray, draws: int = 200,
          seed: int = 0) -> np.ndarray:
    """5/50/95 % quantiles (3 x N x M') of the model over Laplace draws of the parameters (data units)."""
    return np.nanpercentile(sample(model, result, data, t, draws, seed), [5, 50, 95], axis=0)
