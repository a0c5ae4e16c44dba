"""A Gaussian-process surrogate of a forecast's member runs, used only where it matches the full model
within the Monte Carlo error of the bands.

Per regimen:

* **design**: full runs at a Latin hypercube (McKay, Beckman and Conover 1979, Technometrics 21:239) in the
  posterior's whitened log-parameters ``z = L^-1 (x - mean)`` (``L`` its Cholesky factor), over the cube
  that holds every sample (at least +-:data:`MIN_HALF_WIDTH`), mapped back and clipped to the bounds: the
  emulator interpolates at every sample and never extrapolates;
* **emulators** (:class:`~oncotwin.calibration.surrogate.Emulator`, Gaussian processes; Kennedy and
  O'Hagan 2001, J R Stat Soc B 63:425) of the log response volume and of the resistant fraction at every
  output time;
* **check**: the first ``checks`` posterior samples run with the full model (they stay full members of the
  ensemble). The emulator is used for the other samples only when, at every output time, its largest
  error over the checks is below :data:`CHECK_MARGIN` times the Monte Carlo standard error of each band
  (5 %, 50 %, 95 %) of the ensemble, estimated by the bootstrap (Efron and Tibshirani 1993, "An
  Introduction to the Bootstrap", ch. 6). A percentile moves at most as far as the furthest-moved member,
  so the emulated bands then differ from full-model bands by less than their own Monte Carlo error as long
  as no unchecked sample's error exceeds the checks' largest by more than the margin (the checks are a
  random subset of the samples, not a bound). Otherwise the remaining samples run with the full model.

Progression and response categories follow from the emulated volume series exactly as from full ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oncotwin.calibration.surrogate import Emulator, latin_hypercube

MIN_HALF_WIDTH = 2.5  # whitened units: the design cube spans at least +-2.5 posterior sds
BOOTSTRAP = 400  # resamples of the ensemble for the bands' Monte Carlo standard errors
CHECK_SHARE = 8  # one sample in this many is checked with the full model (at least 2)
CHECK_MARGIN = 0.5  # the checks' largest error may be half the bands' Monte Carlo error: the unchecked
# samples' errors can exceed the checks' (on the twin lesion, with 3 checks of 24 samples: by 2x)


def check_count(samples: int, parameters: int) -> int:
    """Posterior samples run with the full model to check the emulator: one in :data:`CHECK_SHARE`, at
    least 2 and at least the number of parameters plus one."""
    return min(samples, max(2, parameters + 1, -(-samples // CHECK_SHARE)))


def design_points(posterior: dict, draws: np.ndarray, lower: np.ndarray, upper: np.ndarray, n: int,
                  seed: int = 0) -> np.ndarray:
    """``n`` design points (log-parameters) covering every draw of the posterior (see the module docstring)."""
    mean = np.asarray(posterior["mean_log"], float)
    chol = np.linalg.cholesky(np.asarray(posterior["covariance_log"], float))
    z = np.linalg.solve(chol, (np.atleast_2d(draws) - mean).T).T
    half = max(MIN_HALF_WIDTH, float(np.max(np.abs(z))) * 1.02)
    d = len(mean)
    unit = latin_hypercube(n, np.full(d, -half), np.full(d, half), seed)
    return np.clip(mean + unit @ chol.T, lower, upper)


def band_standard_errors(volumes: np.ndarray, percentiles, resamples: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Bootstrap standard errors of the percentile bands of ``volumes`` (members x times): (bands x times)."""
    volumes = np.asarray(volumes, float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(volumes), size=(resamples, len(volumes)))
    estimates = np.percentile(volumes[picks], percentiles, axis=1)  # (bands, resamples, times)
    return estimates.std(axis=1, ddof=1)


@dataclass
class SeriesSurrogate:
    """Emulated volume and resistant-fraction series of one regimen.

    Args:
        lower, upper: the box the emulators are scaled to (log-parameters).
        floor: added to the volumes before the log (a tumour that vanished has volume 0) [mm^3].
    """

    lower: np.ndarray
    upper: np.ndarray
    floor: float
    volume: Emulator = field(init=False)
    resistant: Emulator | None = field(init=False, default=None)

    def fit(self, X: np.ndarray, volumes: np.ndarray, resistant: np.ndarray) -> SeriesSurrogate:
        """Fit on the design: points ``X``, their volume and resistant-fraction series (points x times)."""
        self.volume = Emulator(self.lower, self.upper).fit(X, np.log(np.asarray(volumes) + self.floor))
        resistant = np.asarray(resistant, float)
        self.resistant = None if np.isnan(resistant).any() else Emulator(self.lower, self.upper).fit(X, resistant)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Emulated volumes [mm^3] and resistant fractions (NaN when not simulated) at the points ``X``."""
        volumes = np.maximum(np.exp(self.volume.mean(X)) - self.floor, 0.0)
        if self.resistant is None:
            return volumes, np.full_like(volumes, np.nan)
        return volumes, np.clip(self.resistant.mean(X), 0.0, 1.0)


@dataclass
class Check:
    """The full-model check of one regimen's emulator.

    Attributes:
        used: whether the emulator replaces the full model for the unchecked samples.
        error_max_mm3: per output time, the largest |emulated - full| volume over the checks.
        tolerance_mm3: per output time, the largest error allowed (:data:`CHECK_MARGIN` times the smallest
            Monte Carlo standard error of the bands).
        relative_error_max: the largest |emulated / full - 1| over the checks and times where the full volume
            is not zero (0 when it is zero everywhere; ``error_max_mm3`` holds the absolute errors there).
    """

    used: bool
    error_max_mm3: list[float]
    tolerance_mm3: list[float]
    relative_error_max: float

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return dict(vars(self))


def check(emulated: np.ndarray, full: np.ndarray, ensemble: np.ndarray, percentiles, seed: int = 0) -> Check:
    """Compare the emulated and full volumes of the checks (checks x times) against the Monte Carlo error of
    the bands of ``ensemble`` (members x times; the checks' full values included).

    The tolerance is :data:`CHECK_MARGIN` times the smallest band's Monte Carlo standard error at each time;
    where every member has the same volume (a time before treatment acts), 1e-6 of that volume.
    """
    errors = np.max(np.abs(np.asarray(emulated) - np.asarray(full)), axis=0)
    scale = np.abs(np.median(ensemble, axis=0))
    standard_error = band_standard_errors(ensemble, percentiles, seed=seed).min(axis=0)
    tolerance = np.maximum(CHECK_MARGIN * standard_error, 1e-6 * scale)
    emulated, full = np.asarray(emulated, float), np.asarray(full, float)
    nonzero = full > 0  # a vanished readout has no relative error (it was inf, and invalid JSON)
    relative = np.abs(emulated[nonzero] / full[nonzero] - 1.0)
    return Check(bool(np.all(errors <= tolerance)), errors.tolist(), tolerance.tolist(),
                 float(relative.max()) if relative.size else 0.0)
