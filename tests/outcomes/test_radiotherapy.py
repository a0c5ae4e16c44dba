"""DVH, EQD2/BED, Poisson TCP and LKB NTCP from a dose per point."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from oncotwin.outcomes.dvh import bed, dose_at_volume, dvh, eqd2
from oncotwin.outcomes.ntcp import ORGANS, UnknownOrganError, geud, ntcp_lkb, organ_parameters
from oncotwin.outcomes.tcp import surviving_clonogens, tcp_from_survivors


def test_ntcp_at_td50_is_one_half_for_every_organ():
    for p in ORGANS.values():
        dose = np.full(10, p.td50)
        assert ntcp_lkb(dose, np.ones(10), p) == pytest.approx(0.5)


def test_ntcp_slope_matches_m():
    """dNTCP/dD at TD50 = 1 / (sqrt(2 pi) m TD50), and TD50 (1 + m) gives Phi(1)."""
    p = organ_parameters("lung")
    h = 1e-4
    slope = (ntcp_lkb(np.full(3, p.td50 + h), np.ones(3), p) - ntcp_lkb(np.full(3, p.td50 - h), np.ones(3), p)) / (2 * h)
    assert slope == pytest.approx(1 / (math.sqrt(2 * math.pi) * p.m * p.td50), rel=1e-6)
    assert ntcp_lkb(np.full(3, p.td50 * (1 + p.m)), np.ones(3), p) == pytest.approx(norm.cdf(1.0))
    assert (p.td50, p.m, p.n) == (24.5, 0.18, 0.87)


def test_geud_limits():
    dose, w = np.array([10.0, 20.0, 60.0]), np.array([1.0, 2.0, 1.0])
    assert geud(dose, w, 1.0) == pytest.approx(np.average(dose, weights=w))
    assert geud(dose, w, 0.01) == pytest.approx(60.0, rel=0.02)
    # a partial-volume dose to a serial organ (small n) is close to its maximum
    assert geud(dose, w, organ_parameters("spinal_cord").n) > geud(dose, w, organ_parameters("lung").n)


def test_unknown_organ_is_one_line():
    with pytest.raises(UnknownOrganError, match="no LKB NTCP parameters for organ 'pancreas'; organs with them: brain"):
        organ_parameters("pancreas")


def test_poisson_tcp_closed_form():
    """TCP = exp(-rho V exp(-n (alpha d + beta d^2))) for a uniform dose (Webb & Nahum 1993)."""
    rho, volume, n, d, alpha, ab = 1e7, 30_000.0, 30, 2.0, 0.3, 10.0
    dose = np.full(100, n * d)
    weights = np.full(100, volume / 100)
    survivors = surviving_clonogens(dose, weights, rho, n, alpha, ab)
    expected = rho * volume * math.exp(-n * (alpha * d + alpha / ab * d * d))
    assert survivors == pytest.approx(expected)
    assert float(tcp_from_survivors(survivors)) == pytest.approx(math.exp(-expected))
    assert float(tcp_from_survivors(0.0)) == 1.0
    # one more fraction raises TCP
    more = surviving_clonogens(np.full(100, (n + 1) * d), weights, rho, n + 1, alpha, ab)
    assert tcp_from_survivors(more) > tcp_from_survivors(survivors)


def test_bed_and_eqd2():
    assert float(bed(60.0, 30, 10.0)) == pytest.approx(72.0)
    assert float(eqd2(60.0, 30, 10.0)) == pytest.approx(60.0)
    assert float(eqd2(40.05, 15, 10.0)) == pytest.approx(40.05 * (1 + 2.67 / 10) / 1.2)


def test_dvh_numbers():
    dose = np.linspace(0.0, 100.0, 101)  # 101 equal volumes
    weights = np.full(101, 2.0)
    h = dvh(dose, weights)
    assert h.mean == pytest.approx(50.0)
    assert h.volume_mm3 == pytest.approx(202.0)
    assert h.d95 == pytest.approx(5.0, abs=1.0)
    assert h.d2 == pytest.approx(98.0, abs=1.0)
    assert h.volume_fraction[0] == pytest.approx(1.0)
    assert np.all(np.diff(h.volume_fraction) <= 1e-12)
    uniform = dvh(np.full(5, 60.0), np.ones(5))
    assert uniform.d95 == uniform.d2 == uniform.mean == 60.0
    assert dose_at_volume(dose, weights, 50.0) == pytest.approx(50.0, abs=1.0)
    with pytest.raises(ValueError, match="one shape"):
        dvh(np.ones(3), np.ones(2))
