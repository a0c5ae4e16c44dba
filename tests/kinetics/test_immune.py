"""Effector-tumour kinetics: the RK4 integrator against a high-accuracy ODE reference, the published
Kuznetsov 1994 parameters and equilibria, and the occupancy-proportional lifting of PD-1 suppression."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from oncotwin.kinetics.immune import ImmuneKinetics
from oncotwin.model.immune import kuznetsov_kinetics

DAY = 86400.0


def _occupancy(t):
    """A smooth occupancy history (rises to 0.95 within days, as after a first antibody dose)."""
    return 0.95 * (1.0 - np.exp(-t / (2 * DAY))) * (1.0 - 0.05 * np.sin(2 * np.pi * t / (21 * DAY)))


@pytest.mark.mpi
@pytest.mark.parametrize("suppression", [0.0, 0.6])
def test_rk4_matches_solve_ivp_reference_to_1e_6(suppression):
    k = kuznetsov_kinetics().with_suppression(suppression)
    e0, t0 = 3.0e5, 1.0e8

    def rhs(time, y):
        return list(k.rates(y[0], y[1], float(_occupancy(time))))

    days = np.arange(0, 121, 5) * DAY
    ref = solve_ivp(rhs, (0.0, days[-1]), [e0, t0], method="DOP853", rtol=1e-10, atol=[1e-6, 1e-6],
                    t_eval=days)
    assert ref.success
    e, t = e0, t0
    got = [(e, t)]
    for a, b in zip(days[:-1], days[1:], strict=True):
        e, t = k.advance_cells(e, t, a, b - a, lambda s: float(_occupancy(s)))
        got.append((e, t))
    got = np.array(got).T
    assert np.max(np.abs(got - ref.y) / np.abs(ref.y)) < 1e-6


def test_array_advance_equals_the_cell_advance():
    k = kuznetsov_kinetics().with_suppression(0.3)
    e, t = np.array([3e5, 1e6, 0.0]), np.array([1e8, 1e7, 1e8])
    k.advance(e, t, 0.0, 10 * DAY, 0.5)
    for i, (e0, t0) in enumerate([(3e5, 1e8), (1e6, 1e7), (0.0, 1e8)]):
        # the array path takes the sub-steps of the largest cells; compare at matching accuracy
        ec, tc = k.advance_cells(e0, t0, 0.0, 10 * DAY, 0.5, max_increment=1e-3)
        assert e[i] == pytest.approx(ec, rel=1e-6, abs=1e-6) and t[i] == pytest.approx(tc, rel=1e-6)


def test_kuznetsov_1994_published_parameters():
    # Kuznetsov et al., Bull Math Biol 56:295, 1994 (BCL1 lymphoma): the scaled parameters of their Section 3
    scaled = kuznetsov_kinetics().scaled()
    published = {"sigma": 0.1181, "rho": 1.131, "eta": 20.19, "mu": 0.00311, "delta": 0.3743, "alpha": 1.636,
                 "beta": 0.002}
    for name, value in published.items():
        assert scaled[name] == pytest.approx(value, rel=2e-3), name


def test_kuznetsov_1994_dormant_and_escape_equilibria():
    # With the published parameters the model has the "sneaking through" picture of Kuznetsov et al. 1994:
    # the tumour-free state is unstable, a small tumour is held dormant in a stable focus (y ~ 8, i.e. about
    # 8e6 cells, damped oscillations), a saddle separates it from a stable escape node of a large tumour
    # (y ~ 450, 4.5e8 cells).
    k = kuznetsov_kinetics()
    x0 = k.recruitment / k.death
    tumour_free = np.linalg.eigvals(np.array([[-k.death, k.stimulation * x0 / k.stimulation_half
                                               - k.inactivation * x0], [0.0, k.growth - k.kill * x0]]))
    assert max(tumour_free.real) > 0
    (e1, t1), (e2, t2), (e3, t3) = k.equilibria()
    assert t1 / 1e6 == pytest.approx(8.19, rel=0.01) and e1 / 1e6 == pytest.approx(1.61, rel=0.01)
    assert t2 / 1e6 == pytest.approx(268.0, rel=0.01)
    assert t3 / 1e6 == pytest.approx(447.0, rel=0.01) and e3 / 1e6 == pytest.approx(0.173, rel=0.01)
    dormant, saddle, escape = (np.linalg.eigvals(k.jacobian(e, t)) for e, t in k.equilibria())
    assert np.all(dormant.real < 0) and np.all(np.abs(dormant.imag) > 0)
    assert dormant.real.max() < 0 and np.sort(saddle.real)[0] < 0 < np.sort(saddle.real)[1]
    assert np.all(escape.real < 0) and np.all(escape.imag == 0)


def test_a_small_tumour_settles_into_the_dormant_state():
    k = kuznetsov_kinetics()
    (e1, t1), _, _ = k.equilibria()
    e, t = k.recruitment / k.death, 1e7
    for day in range(0, 1500, 10):
        e, t = k.advance_cells(e, t, day * DAY, 10 * DAY)
    assert t == pytest.approx(t1, rel=0.02) and e == pytest.approx(e1, rel=0.02)


@pytest.mark.parametrize("suppression", [0.0, 0.3, 0.9])
def test_blockade_raises_kill_only_in_proportion_to_occupancy(suppression):
    k = kuznetsov_kinetics().with_suppression(suppression)
    effectors = 5e5
    theta = np.linspace(0.0, 1.0, 11)
    gain = k.kill_rate(effectors, theta) - k.kill_rate(effectors, 0.0)
    np.testing.assert_allclose(gain, k.kill * suppression * theta * effectors, rtol=1e-12, atol=0.0)
    assert k.kill_rate(effectors, 1.0) == pytest.approx(k.kill * effectors)  # full blockade: the Kuznetsov kill


def test_suppression_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="suppression"):
        ImmuneKinetics(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, suppression=1.5)
