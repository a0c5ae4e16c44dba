"""The forecast's surrogate: design, Monte Carlo errors, the check, and its bands against the full model's.

The closed-form tests check each piece; the twin lesion (tests/calibration/test_parallel_runs.py, 12 days)
runs one forecast with the full model and one with the surrogate on the same posterior samples: the
surrogate's bands must agree with the full ensemble's within their Monte Carlo error, with fewer full runs.
Serial and under ``mpirun -n 2``.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from oncotwin.calibration.forecast import PERCENTILES, Forecast, sample_posterior
from oncotwin.calibration.forecast_surrogate import (
    SeriesSurrogate,
    band_standard_errors,
    check,
    check_count,
    design_points,
)
from oncotwin.calibration.parameters import replace
from oncotwin.case.regimens import ResponseThresholds, response_volume
from tests.calibration.test_parallel_runs import TWO, lesion  # noqa: F401  (the fixture)

# a calibrated patient's posterior: log sds of the BraTS Laplace intervals (proliferation 0.1, invasion 0.2,
# BENCHMARKS.md, issue 21), correlated
POSTERIOR = {"parameters": list(TWO), "mean_log": np.log(list(TWO.values())).tolist(),
             "covariance_log": [[0.1 ** 2, 0.5 * 0.1 * 0.2], [0.5 * 0.1 * 0.2, 0.2 ** 2]]}


def test_design_covers_every_draw_in_the_posteriors_whitened_coordinates():
    bounds = [(1e-9, 1.0), (1e-9, 1.0)]
    draws = sample_posterior(POSTERIOR, bounds, 64, seed=2)
    design = design_points(POSTERIOR, draws, np.log([1e-9, 1e-9]), np.log([1.0, 1.0]), 20, seed=0)
    chol = np.linalg.cholesky(POSTERIOR["covariance_log"])
    white = lambda x: np.linalg.solve(chol, (x - POSTERIOR["mean_log"]).T).T  # noqa: E731
    z_draws, z_design = white(draws), white(design)
    half = max(2.5, np.abs(z_draws).max() * 1.02)  # the cube: every draw inside, at least +-2.5 sd
    assert np.abs(z_design).max() <= half + 1e-9 and np.abs(z_design).max() > 0.8 * half
    for column in z_design.T:  # Latin hypercube: one point in each of the 20 strata of every coordinate
        strata = np.floor((column + half) / (2 * half) * 20).astype(int)
        assert sorted(np.clip(strata, 0, 19)) == list(range(20))
    tight = design_points(POSTERIOR, draws, np.log([1e-9, 1e-9]), np.log(list(TWO.values())), 20)
    assert np.all(tight <= np.log(list(TWO.values())) + 1e-12)  # clipped to the bounds


def test_bootstrap_standard_error_of_the_median_matches_the_asymptotic_formula():
    rng = np.random.default_rng(0)
    # one bootstrap estimate of a quantile's error varies by about n^-1/4 (20 % here): average 20 samples
    errors = np.mean([band_standard_errors(rng.normal(10.0, 2.0, size=(400, 1)), (5, 50, 95), resamples=500,
                                           seed=k) for k in range(20)], axis=0)
    # median: sqrt(pi / 2) sigma / sqrt(n); 5 % quantile: sqrt(p (1 - p) / n) / phi(z_p) sigma
    assert errors[1, 0] == pytest.approx(math.sqrt(math.pi / 2) * 2.0 / math.sqrt(400), rel=0.1)
    tail = math.sqrt(0.05 * 0.95 / 400) / (math.exp(-1.6449 ** 2 / 2) / math.sqrt(2 * math.pi)) * 2.0
    assert errors[0, 0] == pytest.approx(tail, rel=0.15) and errors[2, 0] == pytest.approx(tail, rel=0.15)


def _closed_form(x: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exponential growth at rate a minus kill b (per day) from 100 mm^3; resistant share grows with b."""
    a, b = np.exp(x[:, :1]), np.exp(x[:, 1:])
    return 100.0 * np.exp((a - b) * days), 1.0 - np.exp(-b * days)


def test_emulated_series_pass_the_check_and_a_biased_one_fails():
    posterior = {"mean_log": np.log([0.05, 0.03]).tolist(), "covariance_log": np.diag([0.2, 0.2]) ** 2}
    draws = sample_posterior(posterior, [(1e-6, 1.0)] * 2, 64, seed=4)
    design = design_points(posterior, draws, np.log([1e-6] * 2), np.log([1.0] * 2), 16, seed=0)
    days = np.arange(0.0, 29.0, 4.0)
    volume, resistant = _closed_form(design, days)
    lower, upper = np.minimum(design.min(0), draws.min(0)), np.maximum(design.max(0), draws.max(0))
    series = SeriesSurrogate(lower, upper, floor=1.0).fit(design, volume, resistant)
    emulated, fractions = series.predict(draws)
    full, full_fractions = _closed_form(draws, days)
    assert np.max(np.abs(emulated / full - 1)) < 2e-3 and np.max(np.abs(fractions - full_fractions)) < 2e-3
    ensemble = np.vstack([full[:8], emulated[8:]])
    good = check(emulated[:8], full[:8], ensemble, PERCENTILES)
    assert good.used and good.relative_error_max < 2e-3
    assert good.error_max_mm3[0] <= good.tolerance_mm3[0] and good.tolerance_mm3[-1] > 1.0
    biased = check(emulated[:8] * 1.05, full[:8], ensemble, PERCENTILES)  # 5 %: beyond the bands' MC error
    assert not biased.used and biased.relative_error_max == pytest.approx(0.05, rel=0.05)


def test_a_readout_that_vanishes_is_checked_in_mm3_and_its_relative_error_stays_finite():
    """A response readout at 0 in the full runs (BraTS's enhancing rim by day 30): no relative error there."""
    full = np.array([[100.0, 40.0, 0.0, 0.0], [120.0, 50.0, 0.0, 0.0], [90.0, 30.0, 0.0, 0.0]])
    emulated = full * np.array([1.01, 1.02, 1.0, 1.0]) + np.array([0.0, 0.0, 3.0, 0.0])
    result = check(emulated, full, full, PERCENTILES)
    assert result.relative_error_max == pytest.approx(0.02)  # the nonzero volumes only
    assert result.error_max_mm3[2] == pytest.approx(3.0) and not result.used  # 3 mm^3 where every member has 0
    assert json.loads(json.dumps(result.as_dict(), allow_nan=False)) == result.as_dict()  # valid JSON
    assert check(full * 0, full * 0, full * 0, PERCENTILES).relative_error_max == 0.0


def test_checks_are_one_in_eight_samples_and_at_least_parameters_plus_one():
    assert check_count(64, 3) == 8 and check_count(16, 3) == 4 and check_count(3, 3) == 3


def _forecast(lesion, mode: str, folder, samples: int):  # noqa: F811
    case = lesion["case"]
    spec = case.calibration.model_copy(update={"surrogate": mode, "surrogate_design": 12})
    case = replace(case, ("calibration",), spec)
    default = ResponseThresholds()
    response = default.model_copy(update={"volume": response_volume(default, case, "case.yaml", {})})
    posterior = dict(POSTERIOR, cases=None, prior_file=None)
    return Forecast(lesion["comm"], [("as_planned", "", case)], posterior, lesion["folder"] / "case.yaml",
                    lesion["digest"], folder, lesion["folder"] / "meshes", samples=samples, seed=3,
                    response=response).run()


def _bands(path) -> np.ndarray:
    rows = list(csv.DictReader(open(path / "bands.csv")))
    return np.array([[float(r[f"volume_p{p}_mm3"]) for p in PERCENTILES] for r in rows]).T  # (bands, times)


SAMPLES = 32


@pytest.fixture(scope="module")
def full_forecast(lesion):  # noqa: F811
    return _forecast(lesion, "off", lesion["folder"] / "forecast_full", SAMPLES)


@pytest.mark.mpi
def test_surrogate_forecast_bands_agree_with_the_full_ensemble_within_monte_carlo_error(lesion,  # noqa: F811
                                                                                         full_forecast):
    comm, samples, full = lesion["comm"], SAMPLES, full_forecast
    emulated = _forecast(lesion, "on", lesion["folder"] / "forecast_surrogate", samples)
    if comm.rank != 0:
        return
    manifest = json.loads((emulated / "manifest.json").read_text())
    report = json.loads((emulated / "surrogate.json").read_text())["regimens"]["as_planned"]
    assert json.loads((full / "manifest.json").read_text())["full_runs"] == samples
    assert report["used"] and manifest["full_runs"] == 12 + check_count(samples, 2) < samples
    members = json.loads((full / "forecast.json").read_text())
    volumes = []
    for k in range(samples):
        rows = list(csv.DictReader(open(full / "members" / "as_planned" / f"{k:03d}" / "metrics.csv")))
        volumes.append([float(r[members["response_thresholds"]["volume"]]) for r in rows])
    volumes = np.array(volumes)
    assert np.ptp(volumes[:, -1]) > 0.1 * np.median(volumes[:, -1])  # the samples spread: a real test
    tolerance = band_standard_errors(volumes, PERCENTILES, seed=0)
    difference = np.abs(_bands(emulated) - _bands(full))
    assert np.all(difference <= np.maximum(tolerance, 1e-6 * np.abs(_bands(full)))), (difference, tolerance)
    assert report["relative_error_max"] < 0.02


@pytest.mark.mpi
def test_a_failed_check_runs_every_sample_with_the_full_model(lesion, full_forecast, monkeypatch):  # noqa: F811
    monkeypatch.setattr("oncotwin.calibration.forecast_surrogate.CHECK_MARGIN", 0.0)  # nothing passes
    fallback = _forecast(lesion, "on", lesion["folder"] / "forecast_fallback", SAMPLES)
    if lesion["comm"].rank != 0:
        return
    report = json.loads((fallback / "surrogate.json").read_text())["regimens"]["as_planned"]
    assert not report["used"] and report["relative_error_max"] > 0
    assert json.loads((fallback / "manifest.json").read_text())["full_runs"] == 12 + SAMPLES
    assert np.allclose(_bands(fallback), _bands(full_forecast), rtol=1e-9)  # every member from the full model
