"""Residuals and the date-window treatment of the calibration misfit."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration.misfit import (
    Residual,
    ScalarMisfit,
    SegmentationMisfit,
    dot,
)
from oncotwin.problems.level_sets import fraction_above

CELLS = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])


def _misfit(observed, times, volume_sd=0.1, discordance=0.2):
    """Misfit on two cells; ``observed``: a nodal mask whose 1/2 level set gives the observed fractions."""
    fractions = fraction_above(observed[CELLS], 0.5)
    return SegmentationMisfit(MPI.COMM_SELF, CELLS, np.array([1.0, 2.0]), fractions, times, 0.2, volume_sd,
                              discordance)


def test_segmentation_residual_vanishes_for_the_observed_tumour_and_weights_as_documented():
    observed = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # first cell fully, second partly tumour
    misfit = _misfit(observed, [86400.0])
    # a density whose 0.2 level set is the mask's 0.5 level set: log u is affine in the mask
    same = {86400.0: np.where(observed > 0.5, 0.4, 0.1)}
    residual, info = misfit.residual(same)
    assert np.allclose(residual.spatial, 0.0, atol=1e-12) and residual.scalar[0] == pytest.approx(0.0, abs=1e-12)
    assert info["dice"] == pytest.approx(1.0)
    empty, _ = _misfit(np.ones(5), [86400.0]).residual({86400.0: np.zeros(5)})
    # nothing simulated: the shape term is the whole observed volume over itself and sigma_S^2
    shape = float(np.dot(empty.spatial, empty.spatial))
    assert shape == pytest.approx(1.0 / 0.2, rel=1e-12)


def test_date_window_is_the_likelihood_marginalised_over_the_dates():
    observed = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    times = [1.0, 2.0, 3.0]
    growing = {t: observed * (0.2 + 0.3 * t) for t in times}
    growing[1.0] = np.zeros(5)  # at the start of the window the tumour is not visible yet
    window, info_window = _misfit(observed, times).residual(growing)
    singles = []
    for t in times:
        single, _ = _misfit(observed, [t]).residual(growing)
        singles.append(float(single.spatial @ single.spatial + single.scalar @ single.scalar))
    total = float(window.spatial @ window.spatial + window.scalar @ window.scalar)
    assert total == pytest.approx(-2 * np.log(np.mean(np.exp(-0.5 * np.array(singles)))), rel=1e-12)
    assert min(singles) < total < max(singles)
    assert info_window["volume_simulated_min_mm3"] == 0.0
    assert info_window["date_weight_max"] > 0.5  # the best-fitting date dominates


def test_scalar_series_is_blind_to_the_unknown_factor():
    class Trajectory:
        def __init__(self, scale):
            self.scale = scale

        def metric(self, name, t):
            return self.scale * np.exp(-t)

    misfit = ScalarMisfit("tumour_cells", [0.0, 1.0, 2.0], [5.0, 5.0 * np.exp(-1), 5.0 * np.exp(-2)], 0.2)
    for scale in (1.0, 1e9):
        residual, info = misfit.residual(Trajectory(scale))
        assert np.allclose(residual.scalar, 0.0, atol=1e-12)
    residual, _ = misfit.residual(Trajectory(1.0))
    assert info["scale"] == pytest.approx(5e-9)


@pytest.mark.mpi
def test_dot_reduces_the_distributed_part_only(comm):
    a = Residual(np.full(3, 1.0), np.array([2.0]))
    assert dot(comm, a, a) == pytest.approx(3.0 * comm.size + 4.0)


def _window_misfit(comm, n=400):
    """Cells with independent nodes: the observation covers the first quarter; five dates in the window."""
    from oncotwin.calibration.misfit import SegmentationMisfit

    cells = np.arange(4 * n).reshape(n, 4)
    observed = np.zeros(n)
    observed[: n // 4] = 1.0
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    return SegmentationMisfit(comm, cells, np.ones(n), observed, times, 0.5, 0.2, 0.2), times


def _filled(n, cells):
    density = np.zeros(4 * n)
    density[: 4 * cells] = 1.0
    return density


def test_a_tumour_vanishing_inside_the_date_window_scores_worse_than_a_constant_2x_offset():
    """Marginal likelihood over the unknown date: vanishing (half the volume at the first date, nothing
    after) must not beat a prediction twice too large throughout (moment matching scored it 8.1 vs 17.0)."""
    from mpi4py import MPI

    from oncotwin.calibration.misfit import dot

    n = 400
    misfit, times = _window_misfit(MPI.COMM_SELF, n)
    score = {}
    for name, filled in {"vanish": [n // 8, 0, 0, 0, 0], "2x": [n // 2] * 5,
                         "passes": [n // 2, n // 4, n // 8, 0, 0]}.items():
        residual, info = misfit.residual({t: _filled(n, k) for t, k in zip(times, filled, strict=True)})
        score[name] = dot(MPI.COMM_SELF, residual, residual)
        assert score[name] == pytest.approx(info["neg2_log_likelihood"], rel=1e-12)  # norm^2 = -2 log L
    assert score["vanish"] > score["2x"]
    # closed form for the nested cell sets: q = |k - V_obs| / V_obs / 0.2 + (log((k + f) / (V_obs + f)) / 0.2)^2
    v_obs, floor = n / 4, 1e-3 * n / 4
    q = np.array([abs(k - v_obs) / v_obs / 0.2 + (np.log((k + floor) / (v_obs + floor)) / 0.2) ** 2
                  for k in (n // 2, n // 4, n // 8, 0, 0)])
    assert score["passes"] == pytest.approx(-2 * np.log(np.mean(np.exp(-q / 2))), rel=1e-9)
