"""Greenspan's zero-order sphere: the closed form satisfies its ODE, boundary and free-boundary conditions."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from oncotwin.verification.spherical_oxygen import ZeroOrderSphere

D, Q, C0 = 2e-3, 15.0, 40.0  # mm^2/s, mmHg/s, mmHg


def ode_residual(sphere: ZeroOrderSphere, r: float, h: float = 1e-4) -> float:
    """D (c'' + 2 c' / r) - q by central differences (relative to q)."""
    c = sphere.profile(np.array([r - h, r, r + h]))
    laplacian = (c[2] - 2 * c[1] + c[0]) / h**2 + (c[2] - c[0]) / (h * r)
    return (sphere.diffusivity * laplacian - sphere.consumption) / sphere.consumption


def sphere_critical() -> float:
    return ZeroOrderSphere(1.0, D, Q, C0).critical_radius


def test_small_sphere_has_no_core_and_a_parabolic_profile():
    sphere = ZeroOrderSphere(0.8 * math.sqrt(6 * D * C0 / Q), D, Q, C0)
    R = sphere.radius
    assert sphere.necrotic_radius() == 0.0
    assert float(sphere.profile(R)) == pytest.approx(C0)
    assert float(sphere.profile(0.0)) == pytest.approx(C0 - Q * R**2 / (6 * D))
    assert float(sphere.derivative(0.0)) == 0.0
    for r in np.linspace(0.2, 0.9, 5) * R:
        assert abs(ode_residual(sphere, r, h=1e-3 * R)) < 1e-6
    assert sphere.radius_below(1.0) == 0.0


@pytest.mark.parametrize("ratio", [1.01, 1.5, 3.0, 10.0])
def test_large_sphere_core_satisfies_free_boundary_conditions(ratio):
    sphere = ZeroOrderSphere(ratio * sphere_critical(), D, Q, C0)
    R, rn = sphere.radius, sphere.necrotic_radius()
    assert 0 < rn < R
    # the trigonometric root is the root of the cubic in [0, 1)
    beta = 6 * D * C0 / (Q * R**2)
    rho = brentq(lambda x: (1 - x) ** 2 * (1 + 2 * x) - beta, 0.0, 1.0, xtol=1e-15)
    assert rn / R == pytest.approx(rho, abs=1e-10)
    assert float(sphere.profile(R)) == pytest.approx(C0, rel=1e-12)
    assert abs(float(sphere.profile(rn))) < 1e-9 * C0
    assert abs(float(sphere.derivative(rn))) < 1e-9 * Q * R / D
    assert float(sphere.profile(0.5 * rn)) == 0.0
    h = 1e-4 * (R - rn)
    for r in rn + np.array([0.1, 0.5, 0.9]) * (R - rn):
        assert abs(ode_residual(sphere, r, h)) < 1e-4
        # derivative against finite differences
        fd = (sphere.profile(r + h) - sphere.profile(r - h)) / (2 * h)
        assert float(sphere.derivative(r)) == pytest.approx(float(fd), rel=1e-6)
    assert np.all(np.diff(sphere.profile(np.linspace(0, R, 200))) >= 0)
    level = 0.3 * C0
    assert float(sphere.profile(sphere.radius_below(level))) == pytest.approx(level, rel=1e-10)


def test_core_appears_continuously_at_the_critical_radius():
    rc = sphere_critical()
    assert ZeroOrderSphere(rc, D, Q, C0).necrotic_radius() == pytest.approx(0.0, abs=1e-6 * rc)
    small = ZeroOrderSphere(rc * (1 + 1e-6), D, Q, C0).necrotic_radius()
    assert 0 <= small < 1e-2 * rc
    # half the radius necrotic when beta = (1/2)^2 * 2 = 1/2, i.e. R = sqrt(2) * critical radius
    assert ZeroOrderSphere(math.sqrt(2) * rc, D, Q, C0).necrotic_radius() == pytest.approx(
        math.sqrt(2) * rc / 2, rel=1e-12)
