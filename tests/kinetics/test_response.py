"""Treatment response: linear-quadratic survival, oxygen modification and Emax kill."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.errors import StiffKineticsError
from oncotwin.kinetics.response import MAX_SUBSTEPS, CloneKinetics, DrugEffect, lq_survival, oxygen_modification


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
    s, r, m = np.full(3, 0.1), np.zeros(3), np.zeros(3)
    with pytest.raises(StiffKineticsError) as info:
        kinetics.advance(s, r, m, day)
    message = str(info.value)
    assert "physics.growth.proliferation_rate = 1e+06 1/day" in message
    assert "necrosis_rate" not in message and "\n" not in message
    assert np.all(s == 0.1)  # nothing was changed
    ok = CloneKinetics(sensitive_rate=0.1 * MAX_SUBSTEPS / day, resistant_rate=0.0)
    assert ok.substeps(day) == MAX_SUBSTEPS
