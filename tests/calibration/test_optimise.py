"""Levenberg-Marquardt with a finite-difference Jacobian and the Laplace posterior."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration.misfit import Residual
from oncotwin.calibration.optimise import levenberg_marquardt


def test_linear_gaussian_problem_gives_the_exact_posterior():
    """For a linear model with Gaussian prior the MAP and covariance have closed forms."""
    rng = np.random.default_rng(0)
    J = rng.normal(size=(12, 3))
    y = rng.normal(size=12)
    mu = np.array([0.2, -0.1, 0.0])
    P = np.diag([4.0, 1.0, 0.25])

    result = levenberg_marquardt(MPI.COMM_SELF, lambda x: Residual(J @ x - y, np.zeros(0)), np.zeros(3), mu, P,
                                 np.full(3, -10.0), np.full(3, 10.0), tolerance=1e-8, fd_step=1e-3)
    H = J.T @ J + P
    exact = np.linalg.solve(H, J.T @ y + P @ mu)
    assert result.converged
    assert np.allclose(result.x, exact, atol=1e-6)
    assert np.allclose(result.covariance, np.linalg.inv(H), rtol=1e-6)
    assert result.path[0]["objective"] > result.objective


def test_nonlinear_fit_recovers_rates_and_respects_bounds():
    t = np.linspace(0.0, 4.0, 20)
    truth = np.log([0.7, 1.8])

    def model(x):
        a, b = np.exp(x)
        return np.exp(-a * t) + 0.3 * np.sin(b * t)

    data = model(truth)

    def residual(x):
        return Residual((model(x) - data) / 0.01, np.zeros(0))

    zero_prior = np.zeros((2, 2))
    result = levenberg_marquardt(MPI.COMM_SELF, residual, np.log([0.4, 1.2]), np.zeros(2), zero_prior,
                                 np.log([0.01, 0.01]), np.log([10.0, 10.0]), tolerance=1e-7, fd_step=1e-4)
    assert np.allclose(np.exp(result.x), [0.7, 1.8], rtol=1e-4)
    bounded = levenberg_marquardt(MPI.COMM_SELF, residual, np.log([0.4, 1.2]), np.zeros(2), zero_prior,
                                  np.log([0.01, 0.01]), np.log([0.5, 10.0]), tolerance=1e-7, fd_step=1e-4)
    assert np.exp(bounded.x[0]) == pytest.approx(0.5) and bounded.at_bound == [True, False]


def test_a_flat_start_is_scanned_and_a_flat_problem_is_not_called_converged():
    """Where the model tumour has vanished the misfit is flat: the optimiser must look elsewhere."""

    def vanishing(x):
        alpha = np.exp(x[0])
        r = -34.5 if alpha > 0.06 else (np.log(alpha) - np.log(0.035)) / 0.2
        return Residual(np.zeros(0), np.array([r]))

    args = (np.log([0.2]), np.log([0.2]), np.eye(1), np.log([0.01]), np.log([2.0]))
    result = levenberg_marquardt(MPI.COMM_SELF, vanishing, *args, tolerance=1e-6, fd_step=1e-3)
    assert result.path[1].get("scan") and result.converged
    map_alpha = np.exp((25 * np.log(0.035) + np.log(0.2)) / 26)  # data sd 0.2 and prior sd 1 in log space
    assert np.exp(result.x[0]) == pytest.approx(map_alpha, rel=1e-4)
    flat = levenberg_marquardt(MPI.COMM_SELF, lambda x: Residual(np.zeros(0), np.array([3.0])), *args)
    assert not flat.converged and np.allclose(flat.covariance, 1.0)
