"""Closed-form plasma PK against an ODE reference, and the AUC."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.pk.compartments import CompartmentModel
from oncotwin.pk.drugs import get_drug
from oncotwin.pk.plasma import PlasmaCurve
from oncotwin.pk.schedule import DAY, HOUR, DoseEvent, expand, parse_schedule

L, L_PER_H = 1e6, 1e6 / 3600.0  # internal mm^3 and mm^3/s
MODELS = {
    1: CompartmentModel(10 * L_PER_H, 30 * L, absorption_rate=5.8 / HOUR, bioavailability=0.9),
    2: CompartmentModel(26 * L_PER_H, 34 * L, ((4.2 * L_PER_H, 68 * L),), absorption_rate=1.2 / HOUR),
    3: CompartmentModel(62.4 * L_PER_H, 17.7 * L, ((50.7 * L_PER_H, 1830 * L), (28.4 * L_PER_H, 71 * L)),
                        absorption_rate=0.8 / HOUR),
}
SCHEDULES = {
    "bolus": [DoseEvent(0.0, 0.0, 100.0)],
    "infusion": [DoseEvent(2 * HOUR, 3 * HOUR, 175.0, route="infusion")],
    "oral": [DoseEvent(0.0, 0.0, 150.0, route="oral")],
    "cycles": expand(parse_schedule("day 1 every 7 days x 3"), 60.0, 0.5 * HOUR) + [DoseEvent(DAY, 0, 20.0)],
}


def _times(events, t_end):
    kinks = [t for e in events for t in (e.time, e.end)]
    return np.unique(np.concatenate([np.linspace(0, t_end, 400), kinks, np.array(kinks) + 1.0]))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_closed_form_matches_ode(n, kind):
    model, events = MODELS[n], SCHEDULES[kind]
    t = _times(events, 21 * DAY if kind == "cycles" else 2 * DAY)
    closed = model.concentration(t, events)
    ode = model.solve_ode(t, events)
    significant = ode > 1e-9 * ode.max()
    assert significant.sum() > 100
    rel = np.abs(closed - ode)[significant] / ode[significant]
    assert rel.max() < 1e-6


@pytest.mark.parametrize("n", [1, 2, 3])
def test_unit_bolus_response_sums_to_one_and_rates_positive(n):
    model = MODELS[n]
    assert model.coefficients.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(model.rates > 0)
    assert model.concentration(0.0, SCHEDULES["bolus"])[0] == pytest.approx(100.0 / model.central_volume)


def test_one_compartment_bolus_auc_is_dose_over_clearance():
    model = MODELS[1]
    auc = model.auc(np.array([1e3 * DAY]), SCHEDULES["bolus"])[0]
    assert auc == pytest.approx(100.0 / model.clearance, rel=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", ["bolus", "infusion", "oral"])
def test_total_auc_is_bioavailable_dose_over_clearance(n, kind):
    model, events = MODELS[n], SCHEDULES[kind]
    dose = sum(e.amount * (model.bioavailability if e.route == "oral" else 1.0) for e in events)
    t_inf = 50 * np.log(2) / model.rates.min()
    assert model.auc(t_inf, events)[0] == pytest.approx(dose / model.clearance, rel=1e-9)


@pytest.mark.parametrize("n", [1, 3])
def test_cumulative_auc_matches_quadrature(n):
    model = MODELS[n]
    # no bolus here: the trapezoidal rule is first-order across a jump
    events = SCHEDULES["cycles"][:-1] + [DoseEvent(2 * DAY, 0.0, 50.0, route="oral")]
    t = np.sort(np.unique(np.concatenate([np.linspace(0, 10 * DAY, 200001),
                                          [x for e in events for x in (e.time, e.end)]])))
    t = t[t <= 10 * DAY]
    c = model.concentration(t, events)
    trapz = np.concatenate([[0.0], np.cumsum(0.5 * (c[1:] + c[:-1]) * np.diff(t))])
    np.testing.assert_allclose(model.auc(t[-1], events)[0], trapz[-1], rtol=1e-6)


def test_plasma_curve_units_and_unbound_fraction():
    drug = get_drug("doxorubicin")
    curve = PlasmaCurve(drug, (DoseEvent(0.0, 0.0, 100.0),))
    t = np.array([0.0, HOUR])
    np.testing.assert_allclose(curve.concentration_mg_per_l(t), curve.concentration(t) * 1e6)
    assert curve.concentration_mg_per_l(0.0)[0] == pytest.approx(100.0 / 17.7)  # mg / L
    np.testing.assert_allclose(curve.unbound_concentration(t), 0.25 * curve.concentration(t))
    assert curve.auc_mg_h_per_l(1e4 * DAY)[0] == pytest.approx(100.0 / 62.4, rel=1e-6)  # dose/CL in mg h/L


def test_oral_kernel_stable_when_ka_equals_alpha():
    k = 0.3 / HOUR
    model = CompartmentModel(k * 30 * L, 30 * L, absorption_rate=k)
    t = np.linspace(0, 2 * DAY, 50)
    events = [DoseEvent(0.0, 0.0, 100.0, route="oral")]
    expected = 100.0 / model.central_volume * k * t * np.exp(-k * t)
    np.testing.assert_allclose(model.concentration(t, events), expected, rtol=1e-10, atol=1e-20)
    assert model.auc(60 * DAY, events)[0] == pytest.approx(100.0 / model.clearance, rel=1e-5)


def test_long_simulation_antibody_no_overflow():
    curve = PlasmaCurve(get_drug("trastuzumab"),
                        tuple(expand(parse_schedule("day 1 every 21 days x 17"), 420.0, 1.5 * HOUR)))
    t = np.linspace(0, 400 * DAY, 2000)
    c = curve.concentration_mg_per_l(t)
    assert np.all(np.isfinite(c)) and c.max() < 500
