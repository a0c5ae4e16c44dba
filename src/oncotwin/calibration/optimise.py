"""Levenberg-Marquardt on log-parameters with a finite-difference Jacobian, and the Laplace posterior.

The objective is ``Phi(x) = 1/2 |r(x)|^2 + 1/2 (x - mu)^T P (x - mu)`` for log-parameters ``x``, data
residuals ``r`` (weighted by their standard deviations, see :mod:`oncotwin.calibration.misfit`) and a
Gaussian prior (mean ``mu``, precision ``P``). Each iteration evaluates the Jacobian by forward
differences (one forward run per parameter; backward at an upper bound), then tries damped Gauss-Newton
steps ``(H + lambda diag H) d = -g`` projected onto the bounds until one decreases ``Phi``.

A flat start (the residuals do not change with any parameter, e.g. a model tumour that has vanished
at every observation time) gives no direction: each parameter is then scanned over its bounds (log
grid, the others fixed) and the search restarts from the best point; if the data still do not depend on
the parameters, the result is reported as not converged (it is the prior).

The search stops when the undamped Gauss-Newton step at the current point is below ``tolerance`` in
every log-parameter (a relative change), when the decrease of ``Phi`` it predicts is below
``tolerance`` (``Phi`` is half a chi-square: one standard deviation is a change of 1/2, so 1e-3 is
negligible however far the parameters still creep along a flat valley), or when an accepted step moved less than ``tolerance`` and decreased
``Phi`` by less than ``tolerance`` relative. The Jacobian at that final point gives the Laplace approximation of the posterior:
covariance ``(J^T J + P)^-1`` of the log-parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from oncotwin.calibration.misfit import Residual, dot


@dataclass
class Result:
    """Outcome of a calibration search (log-parameters).

    Attributes:
        x: the MAP estimate.
        covariance: Laplace covariance of the log-parameters.
        objective: Phi at the MAP, and its data and prior parts.
        path: one entry per accepted point (iteration, x, objective, lambda, forward runs so far).
        converged: whether a stopping criterion was met (else the iteration limit).
        at_bound: per parameter, whether the MAP sits on a bound.
        runs: forward runs used.
        flat: the observations do not depend on the parameters at the result (it is the prior).
    """

    x: np.ndarray
    covariance: np.ndarray
    objective: float
    data_misfit: float
    prior_misfit: float
    path: list[dict] = field(default_factory=list)
    converged: bool = False
    at_bound: list[bool] = field(default_factory=list)
    runs: int = 0
    residual: Residual | None = None
    flat: bool = False


def levenberg_marquardt(comm: MPI.Comm, evaluate: Callable[[np.ndarray], Residual], x0: np.ndarray,
                        prior_mean: np.ndarray, prior_precision: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray, *, max_iterations: int = 15, tolerance: float = 1e-3,
                        fd_step: float = 0.01, max_step: float = 1.0, scan_points: int = 7, report: Callable[[dict], None] | None = None) -> Result:
    """Minimise Phi within bounds; see the module docstring.

    Args:
        comm: communicator of the residuals (every rank calls this with the same arguments).
        evaluate: log-parameters -> residual (one forward run).
        x0: starting log-parameters.
        prior_mean: prior mean of the log-parameters.
        prior_precision: prior precision matrix.
        lower: lower bounds (log).
        upper: upper bounds (log).
        max_iterations: Jacobian evaluations at most.
        tolerance: stopping tolerance (log-parameter step; decrease of Phi, absolute and relative).
        fd_step: finite-difference step in log-parameters.
        max_step: largest change of a log-parameter in one step (a factor e by default).
        scan_points: points per parameter of the scan over the bounds when the start is flat.
        report: called with each path entry (progress logging).
    """
    p = len(x0)
    runs = 0

    def run(x: np.ndarray) -> tuple[Residual, float, float]:
        nonlocal runs
        runs += 1
        r = evaluate(x)
        d = x - prior_mean
        return r, 0.5 * dot(comm, r, r), 0.5 * float(d @ prior_precision @ d)

    x = np.clip(np.asarray(x0, dtype=float), lower, upper)
    r, data, prior = run(x)
    phi = data + prior
    lam = 1e-3
    path: list[dict] = []

    def record(iteration: int, step: float) -> None:
        entry = {"iteration": iteration, "x": x.tolist(), "objective": phi, "data_misfit": data,
                 "prior_misfit": prior, "lambda": lam, "step": step, "forward_runs": runs}
        path.append(entry)
        if report is not None:
            report(entry)

    record(0, 0.0)

    def curvature() -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Newton Hessian and gradient of Phi at x (p forward runs)."""
        columns = []
        for j in range(p):
            h = fd_step if x[j] + fd_step <= upper[j] else -fd_step
            shifted = x.copy()
            shifted[j] += h
            columns.append((run(shifted)[0] - r) / h)
        H = np.array([[dot(comm, a, b) for b in columns] for a in columns]) + prior_precision
        g = np.array([dot(comm, a, r) for a in columns]) + prior_precision @ (x - prior_mean)
        return H, g

    def insensitive(H: np.ndarray) -> bool:
        """The data do not change with any parameter (e.g. the model tumour has vanished everywhere)."""
        return bool(data > 0 and np.max(np.abs(np.diag(H - prior_precision))) <= 1e-12 * max(1.0, data))

    converged, stalled = False, False
    H, g = curvature()
    if insensitive(H):  # a flat start: scan each parameter over its bounds, restart from the best point
        best = (phi, x, r, data, prior)
        for j in range(p):
            for value in np.linspace(lower[j], upper[j], scan_points):
                trial = x.copy()
                trial[j] = value
                r_trial, data_trial, prior_trial = run(trial)
                if data_trial + prior_trial < best[0]:
                    best = (data_trial + prior_trial, trial, r_trial, data_trial, prior_trial)
        phi, x, r, data, prior = best
        record(0, float(np.max(np.abs(x - path[0]["x"]))))
        path[-1]["scan"] = True
        H, g = curvature()
    for iteration in range(1, max_iterations + 1):
        gauss_newton = np.linalg.solve(H, -g)
        free = ~(((x <= lower) & (gauss_newton < 0)) | ((x >= upper) & (gauss_newton > 0)))
        predicted = -0.5 * float(g[free] @ gauss_newton[free])  # Gauss-Newton decrease still available
        if stalled or predicted < tolerance or np.max(np.abs(gauss_newton[free]), initial=0.0) < tolerance:
            converged = True
            break
        while lam < 1e8:
            step = np.linalg.solve(H + lam * np.diag(np.diag(H)), -g)
            step *= min(1.0, max_step / max(float(np.max(np.abs(step))), 1e-300))
            trial = np.clip(x + step, lower, upper)
            r_trial, data_trial, prior_trial = run(trial)
            if data_trial + prior_trial < phi:
                decrease = phi - (data_trial + prior_trial)
                moved = float(np.max(np.abs(trial - x)))
                x, r, data, prior = trial, r_trial, data_trial, prior_trial
                phi = data + prior
                lam = max(lam / 3.0, 1e-9)
                record(iteration, moved)
                stalled = decrease < tolerance * max(phi, 1e-12) and moved < tolerance
                break
            lam *= 4.0
        else:  # no decrease along any damped step: a (numerical) minimum at x
            converged = True
            break
        H, g = curvature()  # at the new point: the next step, or the Laplace approximation
    flat = insensitive(H)
    if flat:
        converged = False  # nothing was learnt: the result is the prior, say so
    covariance = np.linalg.inv(H)
    at_bound = [bool(x[j] <= lower[j] + 1e-12 or x[j] >= upper[j] - 1e-12) for j in range(p)]
    return Result(x=x, covariance=covariance, objective=phi, data_misfit=data, prior_misfit=prior, path=path,
                  converged=converged, at_bound=at_bound, runs=runs, residual=r, flat=flat)
