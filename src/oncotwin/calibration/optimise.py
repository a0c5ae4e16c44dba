"""Levenberg-Marquardt on log-parameters with a finite-difference Jacobian, and the Laplace posterior.

The objective is ``Phi(x) = 1/2 |r(x)|^2 + 1/2 (x - mu)^T P (x - mu)`` for log-parameters ``x``, data
residuals ``r`` (weighted by their standard deviations, see :mod:`oncotwin.calibration.misfit`) and a
Gaussian prior (mean ``mu``, precision ``P``). Each iteration evaluates the Jacobian by forward
differences (one forward run per parameter; backward at an upper bound), then tries damped Gauss-Newton
steps ``(H + lambda diag H) d = -g`` projected onto the bounds until one decreases ``Phi``; a step that
decreases ``Phi`` by more than 1.5 times the Gauss-Newton prediction (the Gauss-Newton Hessian overstates
the curvature), or that points the way of the previous step, is extended to 2, 4, 8, ... times its length
while ``Phi`` keeps falling.

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

Concurrency (``width`` runs at the cost of one, e.g. MPI groups): the start point is run together with its
finite-difference columns, and the damped trials of a step are tried ``width`` damping values at a time
(lambda, 4 lambda, 16 lambda, ...); the least damped trial that decreases ``Phi`` is taken, as the
sequential search would, so the path is the same and only the rounds of forward runs (the wall time) fall,
at the price of the trials run beyond the accepted one (speculative parallel trials, as in the parallel
line searches of Byrd, Schnabel and Shultz 1988, Parallel Comput 8:3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from oncotwin.calibration.misfit import Residual, dot

EXPAND_RATIO = 1.5
"""Actual over Gauss-Newton-predicted decrease above which an accepted step is extended (see ``expand``)."""

ALIGNED = 0.95
"""Cosine between two consecutive accepted steps above which the second is extended (see ``expand``)."""


def _aligned(step: np.ndarray, last: np.ndarray | None) -> bool:
    """Whether ``step`` points the way of the previous accepted step ``last``."""
    if last is None:
        return False
    norm = float(np.linalg.norm(step) * np.linalg.norm(last))
    return norm > 0 and float(step @ last) / norm > ALIGNED


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
        rounds: rounds of concurrent forward runs (the wall time in forward runs; ``runs`` without concurrency).
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
    rounds: int = 0


@dataclass
class _Point:
    """A point of the search: log-parameters, residual, and the data and prior parts of Phi."""

    x: np.ndarray
    r: Residual
    data: float
    prior: float

    @property
    def phi(self) -> float:
        """The objective."""
        return self.data + self.prior


class _Search:
    """The state of one Levenberg-Marquardt search: current point, damping, path and forward-run count."""

    def __init__(self, comm: MPI.Comm, evaluate: Callable[[np.ndarray], Residual], prior_mean: np.ndarray,
                 prior_precision: np.ndarray, lower: np.ndarray, upper: np.ndarray, fd_step: float,
                 report: Callable[[dict], None] | None,
                 evaluate_many: Callable[[list[np.ndarray]], list[Residual]] | None = None, width: int = 1):
        self.comm, self.evaluate, self.report = comm, evaluate, report
        self.evaluate_many = evaluate_many or (lambda points: [evaluate(x) for x in points])
        self.width = max(int(width), 1)
        self.prior_mean, self.prior_precision = prior_mean, prior_precision
        self.lower, self.upper, self.fd_step = lower, upper, fd_step
        self.runs = 0
        self.rounds = 0
        self.lam = 1e-3
        self.last_step: np.ndarray | None = None
        self.path: list[dict] = []
        self.at: _Point | None = None

    def run(self, x: np.ndarray) -> _Point:
        """One forward run at ``x``."""
        self.runs += 1
        self.rounds += 1
        return self.point(x, self.evaluate(x))

    def many(self, points: list[np.ndarray]) -> list[Residual]:
        """Forward runs at ``points`` (concurrently when ``width`` > 1), counted."""
        self.runs += len(points)
        self.rounds += -(-len(points) // self.width)
        return self.evaluate_many(points)

    def point(self, x: np.ndarray, r: Residual) -> _Point:
        """The search point of log-parameters ``x`` with residual ``r``."""
        d = x - self.prior_mean
        return _Point(x, r, 0.5 * dot(self.comm, r, r), 0.5 * float(d @ self.prior_precision @ d))

    def record(self, iteration: int, step: float) -> None:
        """Append the current point to the path (and report it)."""
        at = self.at
        entry = {"iteration": iteration, "x": at.x.tolist(), "objective": at.phi, "data_misfit": at.data,
                 "prior_misfit": at.prior, "lambda": self.lam, "step": step, "forward_runs": self.runs}
        self.path.append(entry)
        if self.report is not None:
            self.report(entry)

    def shifted(self, x: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
        """Finite-difference steps and the shifted points of the Jacobian at ``x``."""
        steps, points = [], []
        for j in range(len(x)):
            h = self.fd_step if x[j] + self.fd_step <= self.upper[j] else -self.fd_step
            shifted = x.copy()
            shifted[j] += h
            steps.append(h)
            points.append(shifted)
        return steps, points

    def start(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the start point together with its Jacobian columns; its Hessian and gradient."""
        steps, points = self.shifted(x)
        residuals = self.many([x, *points])
        self.at = self.point(x, residuals[0])
        return self.curvature(residuals[1:])

    def curvature(self, shifted: list[Residual] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Newton Hessian and gradient of Phi at the current point (p forward runs, unless the
        residuals at the shifted points are given)."""
        x, r, comm = self.at.x, self.at.r, self.comm
        steps, points = self.shifted(x)
        if shifted is None:
            shifted = self.many(points)
        columns = [(rj - r) / h for rj, h in zip(shifted, steps, strict=True)]
        H = np.array([[dot(comm, a, b) for b in columns] for a in columns]) + self.prior_precision
        g = np.array([dot(comm, a, r) for a in columns]) + self.prior_precision @ (x - self.prior_mean)
        return H, g

    def insensitive(self, H: np.ndarray) -> bool:
        """The data do not change with any parameter (e.g. the model tumour has vanished everywhere)."""
        data = self.at.data
        return bool(data > 0 and np.max(np.abs(np.diag(H - self.prior_precision))) <= 1e-12 * max(1.0, data))

    def scan(self, points: int) -> None:
        """Scan each parameter over its bounds (the others fixed) and move to the best point."""
        best = self.at
        trials = []
        for j in range(len(best.x)):
            for value in np.linspace(self.lower[j], self.upper[j], points):
                trial = self.at.x.copy()
                trial[j] = value
                trials.append(trial)
        for trial, r in zip(trials, self.many(trials), strict=True):
            candidate = self.point(trial, r)
            if candidate.phi < best.phi:
                best = candidate
        self.at = best
        self.record(0, float(np.max(np.abs(best.x - self.path[0]["x"]))))
        self.path[-1]["scan"] = True

    def newton_done(self, H: np.ndarray, g: np.ndarray, tolerance: float) -> bool:
        """The undamped Gauss-Newton step (projected on the bounds) is below ``tolerance`` or predicts less."""
        x = self.at.x
        gauss_newton = np.linalg.solve(H, -g)
        free = ~(((x <= self.lower) & (gauss_newton < 0)) | ((x >= self.upper) & (gauss_newton > 0)))
        predicted = -0.5 * float(g[free] @ gauss_newton[free])  # Gauss-Newton decrease still available
        return bool(predicted < tolerance or np.max(np.abs(gauss_newton[free]), initial=0.0) < tolerance)

    def damped_step(self, iteration: int, H: np.ndarray, g: np.ndarray, max_step: float,
                    tolerance: float) -> bool | None:
        """Raise the damping until a step decreases Phi and take it.

        Returns:
            Whether the accepted step stalled (moved and decreased Phi by less than ``tolerance``), or None
            when no damped step longer than ``tolerance`` decreases Phi (a numerical minimum).
        """
        while self.lam < 1e8:
            chain = self.damped_trials(H, g, max_step, tolerance)
            if not chain:
                # damping only shortens the step further: a minimum to the tolerance (escalating the damping
                # on to 1e8 cost about 16 forward runs at every converged calibration)
                return None
            residuals = self.many([target for _, _, target in chain])
            for (lam, step, target), r in zip(chain, residuals, strict=True):
                trial = self.point(target, r)
                if trial.phi < self.at.phi:
                    return self.accept(iteration, trial, lam, step, H, g, max_step, tolerance)
            self.lam = 4.0 * chain[-1][0]
        return None

    def damped_trials(self, H: np.ndarray, g: np.ndarray, max_step: float,
                      tolerance: float) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """The next ``width`` damped trials (damping, step, projected target) from the current damping,
        ending before the first that moves less than ``tolerance`` or at a damping of 1e8."""
        chain, lam = [], self.lam
        while len(chain) < self.width and lam < 1e8:
            step = np.linalg.solve(H + lam * np.diag(np.diag(H)), -g)
            step *= min(1.0, max_step / max(float(np.max(np.abs(step))), 1e-300))
            target = np.clip(self.at.x + step, self.lower, self.upper)
            if float(np.max(np.abs(target - self.at.x))) < tolerance:
                break
            chain.append((lam, step, target))
            lam *= 4.0
        return chain

    def accept(self, iteration: int, trial: _Point, lam: float, step: np.ndarray, H: np.ndarray, g: np.ndarray,
               max_step: float, tolerance: float) -> bool:
        """Take a trial that decreased Phi (extended if the local model understates the decrease); whether
        the step stalled."""
        predicted = -float(g @ step + 0.5 * step @ H @ step)
        start, last, self.last_step = self.at, self.last_step, step
        if self.at.phi - trial.phi > EXPAND_RATIO * predicted > 0 or _aligned(step, last):
            trial = self.expand(trial, step, max_step)
        decrease = start.phi - trial.phi
        moved = float(np.max(np.abs(trial.x - start.x)))
        self.at = trial
        self.lam = max(lam / 3.0, 1e-9)
        self.record(iteration, moved)
        return decrease < tolerance * max(trial.phi, 1e-12) and moved < tolerance

    def expand(self, trial: _Point, step: np.ndarray, max_step: float) -> _Point:
        """Longer steps along ``step`` while Phi keeps falling (two trial lengths per round, concurrently).

        Taken when a step decreased Phi by more than :data:`EXPAND_RATIO` times the Gauss-Newton prediction
        (the Gauss-Newton Hessian overstates the curvature), or when it points the way of the previous step
        (cosine above :data:`ALIGNED`): the local model is then right about the next small step but not
        about the valley, as with the date-marginalised likelihood of :mod:`oncotwin.calibration.misfit`,
        whose date weights move with every step, and steps of the same length would crawl along it.
        """
        origin, best, factor = self.at.x, trial, 1.0
        length = float(np.max(np.abs(step)))
        while True:
            factors = [f for f in (2.0 * factor, 4.0 * factor) if f * length <= max_step]
            if not factors:
                break
            points = [np.clip(origin + f * step, self.lower, self.upper) for f in factors]
            candidates = [self.point(x, r) for x, r in zip(points, self.many(points), strict=True)]
            improved = [(c, f) for c, f in zip(candidates, factors, strict=True) if c.phi < best.phi]
            if not improved:
                break
            best, factor = min(improved, key=lambda cf: cf[0].phi)
            if factor < factors[-1]:
                break
        return best


def levenberg_marquardt(comm: MPI.Comm, evaluate: Callable[[np.ndarray], Residual], x0: np.ndarray,
                        prior_mean: np.ndarray, prior_precision: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray, *, max_iterations: int = 15, tolerance: float = 1e-3,
                        fd_step: float = 0.01, max_step: float = 1.0, scan_points: int = 7,
                        report: Callable[[dict], None] | None = None,
                        evaluate_many: Callable[[list[np.ndarray]], list[Residual]] | None = None,
                        width: int = 1) -> Result:
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
        evaluate_many: residuals at several points at once (e.g. concurrently on MPI groups,
            :class:`~oncotwin.calibration.grouped.GroupedRuns`); default: ``evaluate`` one after the other.
        width: how many runs ``evaluate_many`` makes at the cost of one (its groups); above 1 the start
            point joins its Jacobian and damped trials are tried that many at a time (module docstring).
    """
    search = _Search(comm, evaluate, prior_mean, prior_precision, lower, upper, fd_step, report, evaluate_many,
                     width)
    x0 = np.clip(np.asarray(x0, dtype=float), lower, upper)
    if search.width > 1:
        H, g = search.start(x0)
        search.record(0, 0.0)
    else:
        search.at = search.run(x0)
        search.record(0, 0.0)
        H, g = search.curvature()
    converged, stalled = False, False
    if search.insensitive(H):  # a flat start: scan each parameter over its bounds, restart from the best point
        search.scan(scan_points)
        H, g = search.curvature()
    for iteration in range(1, max_iterations + 1):
        done = search.newton_done(H, g, tolerance)
        if stalled or done:
            converged = True
            break
        stalled = search.damped_step(iteration, H, g, max_step, tolerance)
        if stalled is None:  # no decrease along any damped step: a (numerical) minimum at x
            converged = True
            break
        H, g = search.curvature()  # at the new point: the next step, or the Laplace approximation
    flat = search.insensitive(H)
    if flat:
        converged = False  # nothing was learnt: the result is the prior, say so
    covariance = np.linalg.inv(H)
    at = search.at
    at_bound = [bool(at.x[j] <= lower[j] + 1e-12 or at.x[j] >= upper[j] - 1e-12) for j in range(len(at.x))]
    return Result(x=at.x, covariance=covariance, objective=at.phi, data_misfit=at.data, prior_misfit=at.prior,
                  path=search.path, converged=converged, at_bound=at_bound, runs=search.runs, residual=at.r,
                  flat=flat, rounds=search.rounds)
