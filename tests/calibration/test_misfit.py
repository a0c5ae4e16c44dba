"""Level-set fractions, residuals and the date-window treatment of the calibration misfit."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from oncotwin.calibration.misfit import (
    Residual,
    ScalarMisfit,
    SegmentationMisfit,
    dot,
    fraction_above,
    fraction_below,
)


def _monte_carlo(values: np.ndarray, level: float, samples: int = 400_000, seed: int = 3) -> float:
    weights = np.random.default_rng(seed).dirichlet(np.ones(4), size=samples)
    return float(np.mean(weights @ values <= level))


@pytest.mark.parametrize("values, level", [
    ([0.1, 0.9, 0.4, 0.6], 0.5), ([0.0, 0.0, 1.0, 1.0], 0.3), ([0.0, 1e-13, 1.0, 1.0 + 1e-14], 0.3),
    ([0.0, 0.5, 0.5, 1.0], 0.5), ([0.0, 0.2, 0.2 + 1e-11, 1.0], 0.6), ([-1.0, 2.0, 0.3, 0.7], 1.5),
    ([0.2, 0.3, 0.4, 0.5], 0.21), ([0.2, 0.3, 0.4, 0.5], 0.49),
])
def test_fraction_below_matches_sampling(values, level):
    exact = fraction_below(np.array([values]), level)[0]
    assert exact == pytest.approx(_monte_carlo(np.array(values), level), abs=3e-3)


def test_fraction_closed_forms_and_limits():
    # one vertex above: the corner tetrahedron cut at height t has volume fraction t^3
    values = np.array([[0.0, 0.0, 0.0, 1.0]])
    for t in (0.1, 0.5, 0.9):
        assert fraction_above(values, 1 - t)[0] == pytest.approx(t ** 3, rel=1e-12)
    assert fraction_below(values, -1.0)[0] == 0.0 and fraction_below(values, 2.0)[0] == 1.0
    constant = np.array([[0.3, 0.3, 0.3, 0.3]])
    assert fraction_above(constant, 0.2)[0] == 1.0 and fraction_above(constant, 0.4)[0] == 0.0


def test_fraction_is_continuous_in_the_values():
    rng = np.random.default_rng(0)
    values = rng.random((2000, 4))
    f0 = fraction_above(values, 0.5)
    f1 = fraction_above(values + 1e-7, 0.5)
    assert np.max(np.abs(f1 - f0)) < 1e-4


CELLS = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])


def _misfit(observed, times, volume_sd=0.1, discordance=0.2):
    """Misfit on two cells; ``observed``: a nodal mask whose 1/2 level set gives the observed fractions."""
    fractions = fraction_above(observed[CELLS], 0.5)
    return SegmentationMisfit(MPI.COMM_SELF, CELLS, np.array([1.0, 2.0]), fractions, times, 0.2, volume_sd,
                              discordance)


def test_segmentation_residual_vanishes_for_the_observed_tumour_and_weights_as_documented():
    observed = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # first cell fully, second partly tumour
    misfit = _misfit(observed, [86400.0])
    same = {86400.0: observed * 0.4}  # a density whose 0.2 level set is the mask's 0.5 level set
    residual, info = misfit.residual(same)
    assert np.allclose(residual.spatial, 0.0, atol=1e-12) and residual.scalar[0] == pytest.approx(0.0, abs=1e-12)
    assert info["dice"] == pytest.approx(1.0)
    empty, _ = _misfit(np.ones(5), [86400.0]).residual({86400.0: np.zeros(5)})
    # nothing simulated: the shape term is the whole observed volume over itself and sigma_S^2
    shape = float(np.dot(empty.spatial, empty.spatial))
    assert shape == pytest.approx(1.0 / 0.2, rel=1e-12)


def test_date_window_inflates_the_variances():
    observed = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    times = [1.0, 2.0, 3.0]
    growing = {t: observed * (0.2 + 0.3 * t) for t in times}
    growing[1.0] = np.zeros(5)  # at the start of the window the tumour is not visible yet
    window, info_window = _misfit(observed, times).residual(growing)
    single, info_single = _misfit(observed, [3.0]).residual(growing)
    assert info_window["volume_log_sd"] > info_single["volume_log_sd"] == pytest.approx(0.1)
    assert info_window["shape_sd"] > info_single["shape_sd"] == pytest.approx(np.sqrt(0.2))
    assert info_window["volume_simulated_min_mm3"] == 0.0


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
