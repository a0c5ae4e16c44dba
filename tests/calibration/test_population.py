"""The two-stage hierarchical estimate: the population mean and spread recovered on mocked patients.

Mock patients have known log-parameters drawn from a population; their data enter through the real
Levenberg-Marquardt and Laplace posterior of :mod:`oncotwin.calibration.optimise` (a cheap nonlinear model
in place of the forward simulation), so the whole chain from individual fits to the population is tested.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration.misfit import Residual
from oncotwin.calibration.optimise import levenberg_marquardt
from oncotwin.calibration.population import Individual, two_stage

MU = np.log([0.2, 10.0])  # e.g. alpha [1/Gy] and T_c [day]
SPREAD = np.array([0.3, 0.5])
PRIOR_MEAN = np.log([0.1, 5.0])  # the weak individual prior is off-centre on purpose
PRIOR_PRECISION = np.diag([1 / 2.0 ** 2, 1 / 2.0 ** 2])
T = np.linspace(2.0, 40.0, 8)  # days


def _model(x: np.ndarray) -> np.ndarray:
    """A response curve: log surviving fraction after alpha * 2 Gy a day (saturating), and a clearance curve."""
    alpha, tc = np.exp(x)
    return np.concatenate([np.log(0.2 + 0.8 * np.exp(-2.0 * alpha * T / 4)), 2.0 ** (-T / tc)])


def _individual(truth: np.ndarray, rng, sd: float) -> Individual:
    data = _model(truth) + sd * rng.standard_normal(2 * len(T))
    result = levenberg_marquardt(MPI.COMM_SELF, lambda x: Residual(np.zeros(0), (_model(x) - data) / sd),
                                 PRIOR_MEAN, PRIOR_MEAN, PRIOR_PRECISION, np.log([1e-3, 0.5]), np.log([5.0, 200.0]),
                                 tolerance=1e-8, fd_step=1e-4, max_iterations=50)
    assert result.converged
    return Individual(result.x, result.covariance, PRIOR_MEAN, PRIOR_PRECISION)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_population_mean_is_recovered_within_its_interval(seed):
    rng = np.random.default_rng(seed)
    truths = MU + SPREAD * rng.standard_normal((40, 2))
    population = two_stage([_individual(x, rng, 0.05) for x in truths])
    sd = np.sqrt(np.diag(population.mean_covariance))
    assert population.converged and all(population.informed)
    assert np.all(np.abs(population.mean - MU) < 1.96 * sd), (population.mean - MU, sd)
    assert np.all(sd < 0.2)  # informative: 40 patients
    assert np.allclose(population.spread, SPREAD, rtol=0.35), population.spread
    # a new patient's log sd combines the spread and the uncertainty of the mean
    assert np.allclose(population.predictive_log_sd ** 2, population.spread ** 2 + sd ** 2)
    # the random effects lie between the individual estimates and the population mean (shrinkage)
    errors_effect = np.mean([np.sum((m - x) ** 2) for m, x in zip(population.effects, truths, strict=True)])
    assert errors_effect < np.mean(np.sum((truths - population.mean) ** 2, axis=1))


def test_linear_gaussian_case_matches_the_exact_marginal_likelihood():
    """For Gaussian patients the EM fixed point maximises the closed-form marginal likelihood."""
    rng = np.random.default_rng(5)
    n, mu, omega = 12, np.array([0.4]), np.array([0.5 ** 2])
    noise = rng.uniform(0.05, 0.3, n) ** 2
    y = mu + np.sqrt(omega) * rng.standard_normal(n) + np.sqrt(noise) * rng.standard_normal(n)
    P0 = np.array([[1e-4]])
    individuals = []
    for yi, vi in zip(y, noise, strict=True):
        C = 1.0 / (1.0 / vi + P0[0, 0])
        individuals.append(Individual(np.array([C * yi / vi]), np.array([[C]]), np.zeros(1), P0))
    population = two_stage(individuals, min_log_sd=1e-6)

    def log_marginal(m, w):
        v = w + noise
        return -0.5 * np.sum(np.log(v) + (y - m) ** 2 / v)

    m, w = population.mean[0], population.spread[0] ** 2
    best = log_marginal(m, w)
    for dm, dw in [(1e-3, 0), (-1e-3, 0), (0, 1e-4), (0, -1e-4)]:
        assert log_marginal(m + dm, w + dw) <= best + 1e-10
    weights = 1.0 / (w + noise)
    assert population.mean[0] == pytest.approx(np.sum(weights * y) / np.sum(weights), rel=1e-3)
    assert population.mean_covariance[0, 0] == pytest.approx(1.0 / np.sum(weights), rel=1e-3)


def test_uninformed_parameter_keeps_the_individual_prior():
    P0 = np.diag([1.0, 1 / 0.7 ** 2])
    mu0 = np.array([0.0, np.log(10.0)])
    individuals = []
    for x in (0.1, 0.3, -0.2):
        L = np.diag([100.0, 0.0])  # the data inform only the first parameter
        C = np.linalg.inv(L + P0)
        individuals.append(Individual(C @ (L @ np.array([x, 0.0]) + P0 @ mu0), C, mu0, P0))
    population = two_stage(individuals)
    assert population.informed == [True, False]
    assert population.mean[1] == pytest.approx(mu0[1], abs=1e-6)
    assert population.spread[1] == pytest.approx(0.7, rel=1e-6)
    mean, sd = population.predictive(mu0, P0)
    assert mean[1] == pytest.approx(mu0[1]) and sd[1] == pytest.approx(0.7)
    assert mean[0] == pytest.approx(population.mean[0]) and sd[0] == pytest.approx(population.predictive_log_sd[0])
    assert 0.0 < mean[0] < 0.3  # between the patients, pulled hardly at all by the weak prior at 0
    with pytest.raises(ValueError, match="two patients"):
        two_stage(individuals[:1])


def test_covariate_power_model_is_the_generalised_least_squares_fit_of_the_marginal_likelihood():
    """With a covariate, Gaussian patients: the EM coefficients are the GLS estimate at the fitted spread
    (with the hyperpriors), their covariance its inverse information, and the spread maximises the
    closed-form marginal likelihood."""
    from oncotwin.calibration.population import SLOPE_PRECISION

    rng = np.random.default_rng(7)
    n, mu, beta, omega = 15, 0.4, -0.8, 0.3 ** 2
    z = rng.uniform(-1.0, 1.0, n)
    noise = rng.uniform(0.05, 0.3, n) ** 2
    y = mu + beta * z + np.sqrt(omega) * rng.standard_normal(n) + np.sqrt(noise) * rng.standard_normal(n)
    P0 = np.array([[1e-4]])
    individuals = []
    for yi, vi in zip(y, noise, strict=True):
        C = 1.0 / (1.0 / vi + P0[0, 0])
        individuals.append(Individual(np.array([C * yi / vi]), np.array([[C]]), np.zeros(1), P0))
    population = two_stage(individuals, covariates=z[:, None], min_log_sd=1e-6)
    assert population.converged and population.with_covariate.tolist() == [True]

    X, H = np.column_stack([np.ones(n), z]), np.diag([P0[0, 0], SLOPE_PRECISION])
    w = population.spread[0] ** 2
    W = np.diag(1.0 / (w + noise))
    information = X.T @ W @ X + H
    gls = np.linalg.solve(information, X.T @ W @ y)
    assert [population.mean[0], population.slopes[0]] == pytest.approx(gls, rel=1e-6)
    assert population.coefficient_covariance == pytest.approx(np.linalg.inv(information), rel=1e-6)
    assert abs(population.slopes[0] - beta) < 3 * math.sqrt(population.coefficient_covariance[1, 1])

    def log_marginal(g, w):
        v = w + noise
        r = y - X @ g
        return -0.5 * np.sum(np.log(v) + r ** 2 / v) - 0.5 * g @ H @ g

    best = log_marginal(gls, w)
    for dg, dw in [((1e-3, 0), 0), ((0, 1e-3), 0), ((-1e-3, 0), 0), ((0, 0), 1e-4), ((0, 0), -1e-4)]:
        assert log_marginal(gls + np.array(dg), w + dw) <= best + 1e-10
    exponent, exponent_sd, rho = population.slope_moments(0)
    C = population.coefficient_covariance
    assert exponent == population.slopes[0] and exponent_sd == pytest.approx(math.sqrt(C[1, 1]))
    assert rho == pytest.approx(C[0, 1] / math.sqrt(C[0, 0] * C[1, 1]))
    # without covariates (or with NaN columns) it is the model without: the same numbers
    plain, nan = two_stage(individuals), two_stage(individuals, covariates=np.full((n, 1), np.nan))
    assert nan.mean == pytest.approx(plain.mean, rel=1e-12) and nan.spread == pytest.approx(plain.spread, rel=1e-12)
    assert plain.slope_moments(0) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="every patient"):
        two_stage(individuals, covariates=np.where(np.arange(n) == 3, np.nan, z)[:, None])
