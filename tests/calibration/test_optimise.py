"""Levenberg-Marquardt with a finite-difference Jacobian and the Laplace posterior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration import optimise
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


def test_steps_grow_where_the_gauss_newton_hessian_overstates_the_curvature(monkeypatch):
    """Phi = R^2/2 + eps (x - 5)^2 / 2 from residuals (R cos x, R sin x, sqrt(eps) (x - 5)): the Gauss-Newton
    curvature is R^2 + eps, the true one eps, so plain damped steps cover eps / (R^2 + eps) of the way (about
    1 %); the extended steps reach the minimum within a few iterations."""
    R, eps = 3.0, 0.1

    def evaluate(x):
        return Residual(np.zeros(0), np.array([R * np.cos(x[0]), R * np.sin(x[0]), np.sqrt(eps) * (x[0] - 5.0)]))

    def search():
        return levenberg_marquardt(MPI.COMM_SELF, evaluate, np.zeros(1), np.zeros(1), np.zeros((1, 1)),
                                   np.array([-10.0]), np.array([10.0]), max_iterations=15, tolerance=1e-6,
                                   fd_step=1e-6, max_step=8.0)

    result = search()
    # it stops where its own (Gauss-Newton) model predicts less than the tolerance: 0.04 short of 5
    assert result.converged and result.x[0] == pytest.approx(5.0, abs=0.05), (result.x, len(result.path))
    assert len(result.path) <= 8
    monkeypatch.setattr(optimise, "EXPAND_RATIO", math.inf)  # the second trigger alone: consecutive steps agree
    aligned = search()
    assert aligned.x[0] == pytest.approx(5.0, abs=0.05) and len(aligned.path) <= 10, (aligned.x, len(aligned.path))
    # plain damped steps: about 1 % of the way each
    monkeypatch.setattr(optimise, "ALIGNED", math.inf)
    crawl = search()
    assert not crawl.converged and crawl.x[0] < 1.0, crawl.x



def test_a_minimum_blurred_by_model_noise_ends_without_escalating_the_damping():
    """Once no damped step longer than the tolerance is left to try, the search stops.

    A forward model's readouts are piecewise constant below the finite-difference step (cells enter a level
    set one by one), so near its minimum a Gauss-Newton step can fail however much it is damped; raising
    the damping on to 1e8 only shortened it further (16 rejected forward runs at the end of the surrogate's
    full-model finish on the twin lesion, BENCHMARKS.md).
    """
    t = np.linspace(0.0, 1.0, 8)
    seen = []

    def residual(x):  # two correlated rates, readouts quantised to 0.2 sd
        seen.append(np.array(x))
        a, b = np.exp(x)
        model, data = np.exp(-a * t) * (1 + b * t), np.exp(-t) * (1 + 0.8 * t)
        return Residual(np.round((model - data) / 0.01 * 5.0) / 5.0, np.zeros(0))

    tolerance = 1e-3
    result = levenberg_marquardt(MPI.COMM_SELF, residual, np.log([0.5, 0.3]), np.zeros(2), np.zeros((2, 2)),
                                 np.log([0.01, 0.01]), np.log([100.0, 100.0]), tolerance=tolerance, fd_step=1e-2)
    assert result.converged and result.runs == len(seen)
    distances = [float(np.max(np.abs(x - result.x))) for x in seen]
    # nothing is evaluated closer to the answer than the tolerance except the answer itself
    assert all(d == 0.0 or d >= tolerance for d in distances), sorted(distances)[:8]


@pytest.mark.parametrize("width", [2, 3])
def test_concurrent_trials_take_the_sequential_path_in_fewer_rounds(width):
    """With ``width`` runs per round (MPI groups) the start joins its Jacobian and damped trials go
    ``width`` at a time; the least damped decrease is taken, so the path is the sequential one."""
    t = np.linspace(0.0, 1.0, 8)

    def residual(x):  # the quantised problem above: damped trials get rejected near its minimum
        a, b = np.exp(x)
        model, data = np.exp(-a * t) * (1 + b * t), np.exp(-t) * (1 + 0.8 * t)
        return Residual(np.round((model - data) / 0.01 * 5.0) / 5.0, np.zeros(0))

    batches = []

    def many(points):
        batches.append(len(points))
        return [residual(x) for x in points]

    args = (np.log([0.5, 0.3]), np.zeros(2), np.zeros((2, 2)), np.log([0.01, 0.01]), np.log([100.0, 100.0]))
    plain = levenberg_marquardt(MPI.COMM_SELF, residual, *args, tolerance=1e-3, fd_step=1e-2)
    wide = levenberg_marquardt(MPI.COMM_SELF, residual, *args, tolerance=1e-3, fd_step=1e-2, evaluate_many=many,
                               width=width)
    assert plain.rounds == plain.runs
    assert [e["x"] for e in wide.path] == [e["x"] for e in plain.path]
    assert np.array_equal(wide.x, plain.x) and wide.objective == plain.objective and wide.converged
    assert batches[0] == 3 and max(batches) <= max(width, 3)  # the start with its two Jacobian columns
    assert wide.runs >= plain.runs and wide.rounds < plain.rounds, (wide.runs, wide.rounds, plain.runs)
    assert wide.rounds == sum(-(-b // width) for b in batches)
