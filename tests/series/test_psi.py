"""The PSI model of Prokopiou et al. 2015 with its published parameters, and the leave-one-out tools."""

from __future__ import annotations

import itertools

import numpy as np

from oncotwin.series.psi import PUBLISHED, leave_one_out, median_absolute_errors, psi_volume, weekday_fractions

GAMMA, RATE = PUBLISHED["gamma_2Gy"], PUBLISHED["growth_rate_per_day"]


def test_weekday_schedule():
    days = weekday_fractions(14, 35)
    assert days[:6].tolist() == [14, 15, 16, 17, 18, 21] and len(days) == 35
    assert np.sum(days <= 28) == 11 and np.sum(days <= 42) == 21


def test_one_fraction_removes_gamma_times_the_unsaturated_share():
    for psi in (0.1, 0.5, 0.9):
        v = psi_volume(psi, [0.0], np.array([0.0]), GAMMA, 1.0, RATE)[0]
        np.testing.assert_allclose(v, psi * (1 - GAMMA * (1 - psi)))


def test_fig1_of_prokopiou_2015_response_falls_with_pretreatment_psi():
    """Fig. 1a/b (lambda 0.1/day, gamma 0.25, 2 Gy x 30 on weekdays): equal volumes, different PSI respond
    differently; the lower the PSI, the deeper the six-week volume reduction; PSI = 1 does not respond."""
    fractions = weekday_fractions(0, 30)
    reductions = []
    for psi in (0.2, 0.4, 0.6, 0.8, 0.95, 1.0):
        v0, capacity = 1.0, 1.0 / psi
        v = psi_volume(v0, [41.0], fractions, GAMMA, capacity, RATE)[0]
        reductions.append(1 - v / v0)
    assert all(a > b for a, b in itertools.pairwise(reductions))
    np.testing.assert_allclose(reductions[-1], 0.0, atol=1e-12)
    assert reductions[0] > 0.5  # a tumour far from saturation shrinks by more than half in six weeks


def test_leave_one_out_recovers_a_shared_psi_cohort():
    fractions = weekday_fractions(14, 35)
    pre = np.array([5.0, 12.0, 20.0, 35.0, 60.0])
    mid = np.array([psi_volume(p, [35.0], fractions, 0.15, 150.0, RATE)[0] for p in pre])
    rows = leave_one_out([1, 2, 3, 4, 5], pre, mid, (28, 35, 42), [35.0], fractions)
    errors = median_absolute_errors(rows)
    assert errors["psi"][35] < 1e-3 * np.median(mid)
    assert errors["psi"][35] < errors["cohort_ratio"][35] < errors["no_change"][35]
