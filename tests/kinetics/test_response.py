"""Treatment response: linear-quadratic survival, oxygen modification and Emax kill."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.errors import StiffKineticsError
from oncotwin.kinetics.response import (
    MAX_SUBSTEPS,
    CloneKinetics,
    DrugEffect,
    lq_survival,
    move_to_doomed,
    oxygen_modification,
)


def test_lq_survival_after_n_fractions_is_the_product_of_fractions():
    alpha, beta, d, n = 0.06, 0.006, 2.0, 30  # alpha/beta = 10 Gy, the usual tumour value
    survival = np.prod([lq_survival(d, alpha, beta) for _ in range(n)])
    assert survival == pytest.approx(math.exp(-n * (alpha * d + beta * d * d)), rel=1e-12)
    # fractionation spares: one 60 Gy fraction kills far more than 30 x 2 Gy
    assert lq_survival(n * d, alpha, beta) < survival * 1e-6


def test_oxygen_modification_limits_and_half_point():
    assert oxygen_modification(1e9) == pytest.approx(1.0, rel=1e-6)
    assert oxygen_modification(0.0) == pytest.approx(1 / 3)  # anoxic cells need 3x the dose
    assert oxygen_modification(3.0) == pytest.approx((3 * 3 + 3) / 6 / 3)  # K = 3 mmHg: OER halfway
    p = np.linspace(0, 100, 50)
    assert np.all(np.diff(oxygen_modification(p)) > 0)
    # hypoxic survival equals oxic survival at a dose divided by the OER
    assert lq_survival(6.0, 0.3, 0.03, omf=1 / 3) == pytest.approx(lq_survival(2.0, 0.3, 0.03))


def test_emax_kill_rate():
    effect = DrugEffect(max_kill_rate=2.0, ec50=0.5, hill=2.0)
    assert effect.kill_rate(np.array([0.5]))[0] == pytest.approx(1.0)
    assert effect.kill_rate(np.array([-1.0, 0.0]))[0] == 0.0
    assert effect.kill_rate(np.array([1e6]))[0] == pytest.approx(2.0, rel=1e-9)


def test_kinetic_substeps_are_capped_with_an_error_naming_the_rates():
    day = 86400.0
    kinetics = CloneKinetics(sensitive_rate=1e6 / day, resistant_rate=1e6 / day, necrosis_rate=0.1 / day)
    s, r, d, m = np.full(3, 0.1), np.zeros(3), np.zeros(3), np.zeros(3)
    with pytest.raises(StiffKineticsError) as info:
        kinetics.advance(s, r, d, m, day)
    message = str(info.value)
    assert "physics.growth.proliferation_rate = 1e+06 1/day" in message
    assert "necrosis_rate" not in message and "\n" not in message
    assert np.all(s == 0.1)  # nothing was changed
    ok = CloneKinetics(sensitive_rate=0.1 * MAX_SUBSTEPS / day, resistant_rate=0.0)
    assert ok.substeps(day) == MAX_SUBSTEPS


DAY = 86400.0


def test_doomed_cells_keep_their_space_then_clear_with_the_half_time():
    """Lim et al. 2008 clearance form: killed cells occupy space, d(t) = d0 2^(-t / T_c)."""
    half_time = 10 * DAY
    kinetics = CloneKinetics(0.0, 0.0, clearance_rate=math.log(2) / half_time)
    s, r, d, m = np.array([0.8]), np.array([0.1]), np.zeros(1), np.zeros(1)
    move_to_doomed(s, r, d, 0.25, 0.5)
    assert (s[0], r[0], d[0]) == pytest.approx((0.2, 0.05, 0.65))  # nothing vanishes at the kill
    for _ in range(30):
        kinetics.advance(s, r, d, m, DAY)
    assert d[0] == pytest.approx(0.65 * 2 ** -3, rel=1e-6)  # RK4 at one sub-step per day
    assert (s[0], r[0]) == pytest.approx((0.2, 0.05), rel=1e-12)


def test_continuous_kill_into_the_doomed_pool_follows_the_two_exponential_closed_form():
    kappa, c = 0.3 / DAY, 0.1 / DAY
    kinetics = CloneKinetics(0.0, 0.0, clearance_rate=c)
    s, r, d, m = np.array([0.6]), np.zeros(1), np.zeros(1), np.zeros(1)
    t = 0.0
    for _ in range(20):
        kinetics.advance(s, r, d, m, DAY, kill=kappa, max_increment=0.01)
        t += DAY
    assert s[0] == pytest.approx(0.6 * math.exp(-kappa * t), rel=1e-8)
    exact = kappa * 0.6 * (math.exp(-kappa * t) - math.exp(-c * t)) / (c - kappa)
    assert d[0] == pytest.approx(exact, rel=1e-7)


def test_anoxic_necrosis_is_cleared_at_its_own_rate():
    """dm/dt = k_n s - c_m m with s = s0 exp(-k_n t) in anoxia (no division)."""
    kn, cm = 0.5 / DAY, 0.05 / DAY
    kinetics = CloneKinetics(0.1 / DAY, 0.1 / DAY, necrosis_rate=kn, necrotic_clearance_rate=cm)
    s, r, d, m = np.array([0.5]), np.zeros(1), np.zeros(1), np.array([0.2])
    po2 = np.zeros(1)
    for _ in range(10):
        kinetics.advance(s, r, d, m, DAY, po2=po2, max_increment=0.01)
    t = 10 * DAY
    exact = 0.2 * math.exp(-cm * t) + kn * 0.5 * (math.exp(-kn * t) - math.exp(-cm * t)) / (cm - kn)
    assert s[0] == pytest.approx(0.5 * math.exp(-kn * t), rel=1e-7)
    assert m[0] == pytest.approx(exact, rel=1e-7)
    assert kinetics.cleared(d, m)[0] == pytest.approx(cm * m[0])


def test_doomed_cells_compete_for_space_with_dividing_cells():
    """The free fraction excludes doomed cells: a tumour full of doomed cells cannot repopulate."""
    kinetics = CloneKinetics(1.0 / DAY, 1.0 / DAY)
    s, r, d, m = np.array([0.05]), np.zeros(1), np.array([0.95]), np.zeros(1)
    kinetics.advance(s, r, d, m, 5 * DAY)
    assert s[0] == pytest.approx(0.05, rel=1e-12)
