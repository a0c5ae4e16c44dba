"""Series models against closed forms and ODE solutions; fits recover known parameters."""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from oncotwin.series.fit import bands, fit, fit_population, intervals, predict, series_data
from oncotwin.series.models import CLASSICAL, bertalanffy_solution
from oncotwin.series.response0d import RESPONSE_MODEL, simulate

T = np.array([[0.0, 20.0, 45.0, 80.0, 120.0]])


def test_general_bertalanffy_solves_its_ode():
    for lam in (-1.0, 0.0, 1.0 / 3.0, 0.7):
        v0, v_inf, omega = 0.2, 1.5, 0.03

        def rhs(_, v, lam=lam, v_inf=v_inf, omega=omega):
            x = v_inf / v
            return omega * (np.log(x) if lam == 0 else (x ** lam - 1) / lam) * v

        sol = solve_ivp(rhs, (0, 120), [v0], t_eval=T[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bertalanffy_solution(T[0], v0, v_inf, omega, lam), sol.y[0], rtol=1e-6)


def test_claret_and_stein_closed_forms():
    t = np.array([[-10.0, 0.0, 30.0, 90.0]])
    claret = CLASSICAL["claret"].predict(np.array([[1.0, 0.01, 0.05, 0.02]]), t, t[:, 0])
    sol = solve_ivp(lambda s, y: 0.01 * y - 0.05 * math.exp(-0.02 * s) * y, (0, 90), [1.0], t_eval=[30, 90],
                    rtol=1e-10)
    np.testing.assert_allclose(claret[0, 2:], sol.y[0], rtol=1e-7)
    np.testing.assert_allclose(claret[0, 0], math.exp(-0.1))
    stein = CLASSICAL["stein"].predict(np.array([[2.0, 0.03, 0.01]]), t, t[:, 0])
    np.testing.assert_allclose(stein[0, 3], 2.0 * (math.exp(-2.7) + math.exp(0.9) - 1.0))


def test_response_model_growth_is_the_logistic_closed_form():
    """Without kill the 0-D model (CloneKinetics) is logistic growth in V_cap = 2."""
    v0, rho = 0.3, 0.02
    t = np.array([[-30.0, 0.0, 50.0, 200.0]])
    v = simulate(np.array([[v0, rho, 0.0, 0.2]]), t, t[:, 0])
    expected = 2.0 / (1.0 + (2.0 / v0 - 1.0) * np.exp(-rho * (t[0] - t[0, 0])))
    np.testing.assert_allclose(v[0], expected, rtol=1e-4)


def test_response_model_kill_starts_at_day_zero_and_doomed_cells_clear():
    """rho = 0: before day 0 nothing changes; after it s = s0 e^(-k t), d = k s0 (e^(-k t) - e^(-c t)) / (c - k)."""
    v0, kappa, c = 0.5, 0.05, math.log(2) / 10.0
    t = np.array([[-20.0, -5.0, 0.0, 10.0, 40.0]])
    v = simulate(np.array([[v0, 0.0, kappa, 1e-12]]), t, t[:, 0])
    s0 = v0 / 2.0
    tp = np.maximum(t[0], 0.0)
    s = s0 * np.exp(-kappa * tp)
    d = kappa * s0 * (np.exp(-kappa * tp) - np.exp(-c * tp)) / (c - kappa)
    np.testing.assert_allclose(v[0], 2.0 * (s + d), rtol=1e-4)


def test_fits_recover_parameters_and_intervals_cover_them():
    rng = np.random.default_rng(3)
    days = np.array([-10.0, 40.0, 80.0, 125.0, 170.0, 210.0])
    truth = {"general_bertalanffy": [0.5, 1.2, 0.02, 0.3], "claret": [1.0, 0.006, 0.03, 0.02],
             "oncotwin_0d": [0.8, 0.02, 0.04, 0.1]}
    for name, theta in truth.items():
        model = RESPONSE_MODEL if name == "oncotwin_0d" else CLASSICAL[name]
        clean = model.predict(np.array([theta]), days[None], days[:1])[0]
        noisy = clean * (1 + 0.01 * rng.standard_normal(days.size))
        data = series_data([days], [noisy])
        result = fit(model, data)
        pred = predict(model, result, data, days[None])[0]
        assert np.max(np.abs(pred - noisy)) < 0.05 * noisy.max(), name
        low, high = intervals(model, result)
        assert np.all(low <= result.theta) and np.all(result.theta <= high)
        band = bands(model, result, data, np.array([[250.0, 300.0]]), draws=50)
        assert np.all(band[0] <= band[1]) and np.all(band[1] <= band[2])


def test_population_prior_pulls_short_series_towards_the_cohort():
    rng = np.random.default_rng(0)
    model = CLASSICAL["gompertz"]
    times, volumes = [], []
    for _ in range(30):
        days = np.array([0.0, 40.0, 80.0, 120.0, 160.0])
        theta = np.array([[1.0, 0.5 * math.exp(0.2 * rng.standard_normal()), 0.02]])
        volumes.append(model.predict(theta, days[None], days[:1])[0] * (1 + 0.05 * rng.standard_normal(5)))
        times.append(days)
    times.append(np.array([0.0, 40.0]))  # a short series: two readings, decline
    volumes.append(np.array([1.0, 0.8]))
    individual, population = fit_population(model, series_data(times, volumes))
    median = np.median(population.z[:-1], axis=0)
    assert np.linalg.norm(population.z[-1] - median) < np.linalg.norm(individual.z[-1] - median)
