"""A Gaussian-process surrogate of the calibration readouts, trained from a space-filling design of full runs.

What is emulated: for every segmentation observation and model time, the log of the simulated visible
volume and the squared shape residual (:meth:`~oncotwin.calibration.misfit.SegmentationMisfit.terms`),
as functions of the calibrated log-parameters. The data misfit is then assembled from the emulated
terms exactly as from the full model's (:meth:`~oncotwin.calibration.misfit.SegmentationMisfit.
neg2_log_likelihood`), so the surrogate's objective is the full objective with emulated readouts.

The emulator (scikit-learn's ``GaussianProcessRegressor``, one per readout, anisotropic Matern-5/2
kernel plus a small noise term, hyperparameters by maximum marginal likelihood; Rasmussen
and Williams 2006, "Gaussian Processes for Machine Learning", ch. 2 and 5; the design-and-emulate
calibration of Kennedy and O'Hagan 2001, J R Stat Soc B 63:425) is trained on Latin-hypercube designs
(McKay, Beckman and Conover 1979, Technometrics 21:239; ``scipy.stats.qmc``) of full runs in two trust
boxes: ``+-`` :data:`BOX_HALF_WIDTH` in every log-parameter around the start (within the bounds) to find
where the minimum is, then ``+-`` :data:`LOCAL_HALF_WIDTH` around that point for an accurate emulator
(over the wide box the day-60 volumes of a growing tumour vary tenfold, and a few runs do not emulate
them to 1 %). A minimiser on a box's edge moves the box there (a new design).

Honesty: it reports its own error, (1) the largest relative error of the predicted volumes over a
held-back part of the design (a model fitted without them) and (2) the predictive sd of the volumes at
its MAP; every surrogate MAP is re-checked with a full run, that run joins the design (refinement where
the check fails), and the search repeats until the full and emulated misfits agree and the MAP no
longer moves. The final
answer always comes from the full model: Levenberg-Marquardt started at the surrogate's MAP, which also
gives the Laplace posterior (usually one Jacobian, run concurrently on MPI groups).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from oncotwin.core.log import get_logger

log = get_logger("calibrate")

BOX_HALF_WIDTH = 1.0  # log-parameters: a factor e each way around the start (where the minimum is)
LOCAL_HALF_WIDTH = 0.25  # then a box of +-28 % around that minimiser (an emulator accurate to ~1 %)
HELD_BACK = 0.25  # share of the initial design held back to validate the emulator (at least 2 runs)
MAX_ROUNDS = 12  # full-model checks of a surrogate MAP
AGREE = 0.01  # full and emulated data misfit agree within 1 % (or 0.01 absolute)
STILL = 2e-3  # the MAP moved less than this in every log-parameter between two checks


def latin_hypercube(n: int, lower: np.ndarray, upper: np.ndarray, seed: int = 0) -> np.ndarray:
    """``n`` points of an optimised Latin hypercube in the box ``[lower, upper]``."""
    sampler = qmc.LatinHypercube(d=len(lower), seed=seed, optimization="random-cd")
    return qmc.scale(sampler.random(n), lower, upper)


class Emulator:
    """Independent Gaussian processes of the readout columns over the unit-scaled box."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray):
        self.lower, self.upper = np.asarray(lower, float), np.asarray(upper, float)
        self.models: list[GaussianProcessRegressor] = []

    def _unit(self, X: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(X) - self.lower) / (self.upper - self.lower)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> Emulator:
        """Fit one GP per column of ``Y`` (rows: the points ``X``)."""
        p = X.shape[1]
        self.models = []
        for column in np.asarray(Y, float).T:
            kernel = (ConstantKernel(1.0, (1e-4, 1e4)) * Matern(np.full(p, 0.5), (0.05, 20.0), nu=2.5)
                      + WhiteKernel(1e-6, (1e-10, 1e-2)))
            gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=3, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(self._unit(X), column)
            self.models.append(gp)
        return self

    def mean(self, X: np.ndarray) -> np.ndarray:
        """Mean of every column at the points ``X`` (cheaper than :meth:`predict`)."""
        return np.array([gp.predict(self._unit(X)) for gp in self.models]).T

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of every column at the points ``X`` (shape (points, columns))."""
        out = [gp.predict(self._unit(X), return_std=True) for gp in self.models]
        return np.array([m for m, _ in out]).T, np.array([s for _, s in out]).T


@dataclass
class SurrogateReport:
    """What the surrogate did and how good it was."""

    design: int = 0
    held_back: int = 0
    held_back_volume_error_max: float = float("nan")
    held_back_volumes: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    map: list = field(default_factory=list)
    map_volume_relative_sd_max: float = float("nan")
    full_runs: int = 0
    full_rounds: int = 0  # rounds of concurrent full runs (the wall time in runs)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return dict(vars(self))


class SurrogateSearch:
    """The surrogate MAP of a calibrator's objective (see the module docstring).

    Args:
        calibrator: a :class:`~oncotwin.calibration.calibrate.Calibrator` of segmentation observations.
        design: full runs of the initial design (at least parameters + 1).
        seed: seed of the Latin hypercube.
    """

    def __init__(self, calibrator, design: int, seed: int = 0):
        self.cal, self.design, self.seed = calibrator, design, seed
        self.misfits = [m for s in calibrator.subjects for m in s.misfits]
        self.sizes = [len(m.times) for m in self.misfits]
        self.X = np.zeros((0, len(calibrator.names)))
        self.Y = np.zeros((0, 2 * sum(self.sizes)))
        self.report = SurrogateReport()

    # ------------------------------------------------------------------ objective
    def data_misfit(self, Y: np.ndarray) -> np.ndarray:
        """Half the summed ``-2 log L`` of the observations from readout rows ``Y``."""
        Y, total, start = np.atleast_2d(Y), 0.0, 0
        for misfit, k in zip(self.misfits, self.sizes, strict=True):
            total = total + misfit.neg2_log_likelihood(Y[:, start:start + k], Y[:, start + k:start + 2 * k])
            start += 2 * k
        return 0.5 * total

    def prior_misfit(self, x: np.ndarray) -> float:
        """The prior part of the objective."""
        d = np.asarray(x) - self.cal.prior.mean
        return 0.5 * float(d @ self.cal.prior.precision @ d)

    def log_volumes(self, Y: np.ndarray) -> np.ndarray:
        """The log-volume columns of readout rows ``Y`` (or of their sds: relative sds of the volumes)."""
        columns, start = [], 0
        for k in self.sizes:
            columns.append(np.atleast_2d(Y)[:, start:start + k])
            start += 2 * k
        return np.concatenate(columns, axis=1)

    def volumes(self, Y: np.ndarray) -> np.ndarray:
        """The simulated volumes [mm^3] (plus the floor) in readout rows ``Y``."""
        return np.exp(self.log_volumes(Y))

    # ------------------------------------------------------------------ steps
    def _add(self, points: np.ndarray) -> np.ndarray:
        Y = np.array(self.cal.readouts_many(list(points)))
        self.X, self.Y = np.vstack([self.X, points]), np.vstack([self.Y, Y])
        self.report.full_runs += len(points)
        grouped = getattr(self.cal, "grouped", None)
        width = grouped.n_groups if grouped is not None else 1
        self.report.full_rounds += -(-len(points) // width)
        return Y

    def _box(self, centre: np.ndarray, half_width: float) -> tuple[np.ndarray, np.ndarray]:
        lower = np.maximum(centre - half_width, self.cal.lower)
        upper = np.minimum(centre + half_width, self.cal.upper)
        self.report.boxes.append([lower.tolist(), upper.tolist()])
        return lower, upper

    def _fit(self, lower: np.ndarray, upper: np.ndarray, without=()) -> Emulator:
        """An emulator of the runs inside the box (except ``without``, indices of runs)."""
        inside = np.all((self.X >= lower - 1e-9) & (self.X <= upper + 1e-9), axis=1)
        inside[list(without)] = False
        return Emulator(lower, upper).fit(self.X[inside], self.Y[inside])

    def _validate(self, lower: np.ndarray, upper: np.ndarray, fresh: np.ndarray) -> Emulator:
        """Fit without the held-back part of the fresh design, record its volume errors, then fit on all."""
        held = max(2, int(round(HELD_BACK * len(fresh))))
        test = fresh[-held:]  # a Latin hypercube's order is random: its last runs are a random subset
        predicted = self.volumes(self._fit(lower, upper, without=test).mean(self.X[test]))
        actual = self.volumes(self.Y[test])
        self.report.held_back = held
        self.report.held_back_volume_error_max = float(np.max(np.abs(predicted / actual - 1.0)))
        self.report.held_back_volumes = [{"x": self.X[i].tolist(), "full_mm3": a.tolist(), "emulated_mm3": p.tolist()}
                                         for i, a, p in zip(test, actual, predicted, strict=True)]
        return self._fit(lower, upper)

    def _design(self, lower: np.ndarray, upper: np.ndarray, n: int) -> np.ndarray:
        """Add a Latin-hypercube design of ``n`` full runs in the box; returns their indices."""
        first = len(self.X)
        log.info("calibrate: surrogate design of %d full runs in box %d (%d full runs so far)", n,
                 len(self.report.boxes), first)
        self._add(latin_hypercube(n, lower, upper, self.seed + len(self.report.boxes)))
        return np.arange(first, len(self.X))

    def _minimise(self, emulator: Emulator, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """The emulated objective's minimiser in the box (from the best runs so far and the box centre)."""
        def objective(x):
            return float(self.data_misfit(emulator.mean(x[None, :]))[0]) + self.prior_misfit(x)

        phi = self.data_misfit(self.Y) + np.array([self.prior_misfit(x) for x in self.X])
        inside = np.all((self.X >= lower - 1e-12) & (self.X <= upper + 1e-12), axis=1)
        starts = [self.X[i] for i in np.argsort(np.where(inside, phi, np.inf))[:3] if inside[i]]
        starts.append(0.5 * (lower + upper))
        best = min((minimize(objective, s, method="L-BFGS-B", bounds=list(zip(lower, upper, strict=True)))
                    for s in starts), key=lambda r: r.fun)
        return np.clip(best.x, lower, upper)

    def _on_edge(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
        """The box's minimiser sits on a side of the box that is not a bound: the minimum lies beyond it."""
        margin = 0.02 * (upper - lower)
        return bool(np.any(((x <= lower + margin) & (lower > self.cal.lower))
                           | ((x >= upper - margin) & (upper < self.cal.upper))))

    def _locate(self, centre: np.ndarray, half_width: float, n: int) -> tuple[np.ndarray, tuple, np.ndarray]:
        """Design a box around ``centre``, moving it (a new design each time) while the minimiser sits on
        its edge; returns the minimiser, the box and the indices of the last box's design."""
        lower, upper = self._box(centre, half_width)
        fresh = self._design(lower, upper, n)
        for _ in range(MAX_ROUNDS):
            x = self._minimise(self._fit(lower, upper), lower, upper)
            if not self._on_edge(x, lower, upper):
                break
            lower, upper = self._box(x, half_width)
            fresh = self._design(lower, upper, n)
        return x, (lower, upper), fresh

    def run(self) -> np.ndarray:
        """The surrogate MAP (log-parameters), checked with the full model; see :attr:`report`."""
        centre = np.clip(self.cal.start, self.cal.lower, self.cal.upper)
        self.report.design = self.design
        x, _, _ = self._locate(centre, BOX_HALF_WIDTH, self.design)  # where the minimum is, roughly
        x, (lower, upper), fresh = self._locate(x, LOCAL_HALF_WIDTH, self.design)  # an accurate local emulator
        emulator = self._validate(lower, upper, fresh)
        previous = None
        for _ in range(MAX_ROUNDS):
            x = self._minimise(emulator, lower, upper)
            mean, sd = emulator.predict(x[None, :])
            emulated = float(self.data_misfit(mean)[0])
            full = float(self.data_misfit(self._add(x[None, :]))[0])
            moved = np.inf if previous is None else float(np.max(np.abs(x - previous)))
            agree = abs(full - emulated) <= AGREE * max(full, 1.0)
            self.report.checks.append({"x": x.tolist(), "data_misfit_full": full, "data_misfit_emulated": emulated,
                                       "volume_relative_sd_max": float(np.max(self.log_volumes(sd))),
                                       "agree": bool(agree), "moved": moved})
            log.info("calibrate: surrogate check %d: data misfit %.4g full, %.4g emulated (%d full runs)",
                     len(self.report.checks), full, emulated, self.report.full_runs)
            self.report.map, previous = x.tolist(), x
            self.report.map_volume_relative_sd_max = float(np.max(self.log_volumes(sd)))
            if agree and moved < STILL:
                break
            if self._on_edge(x, lower, upper):  # refinement drifted to the box's side: follow it
                lower, upper = self._box(x, LOCAL_HALF_WIDTH)
                self._design(lower, upper, max(len(x) + 1, self.design // 2))
            emulator = self._fit(lower, upper)  # refined with the check's full run
        return np.asarray(self.report.map)
