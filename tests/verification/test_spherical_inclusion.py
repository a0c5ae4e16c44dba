"""The closed-form eigenstrained sphere satisfies equilibrium, interface and boundary conditions."""

import math

import numpy as np
import pytest

from oncotwin.verification.spherical_inclusion import (
    SphericalInclusion,
    eshelby_inside_displacement,
)


def lame(E, nu):
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


@pytest.mark.parametrize("nu", [0.2, 0.3, 0.45, 0.49])
def test_unbounded_equal_moduli_is_eshelby(nu):
    exact = SphericalInclusion(2.0, math.inf, 10.0, nu, 10.0, nu, 0.05)
    r = np.linspace(0.0, 2.0, 11)
    assert np.allclose(exact.displacement(r), eshelby_inside_displacement(r, 0.05, nu), rtol=1e-13)
    # a far but finite fixed surface approaches the limit as (a/b)^3
    far = SphericalInclusion(2.0, 2000.0, 10.0, nu, 10.0, nu, 0.05)
    assert far.displacement(1.0) == pytest.approx(float(exact.displacement(1.0)), rel=1e-6)
    # outside: u = A a^3 / r^2, and the von Mises stress decays as r^-3
    assert exact.displacement(4.0) == pytest.approx(float(exact.displacement(2.0)) / 4)
    assert exact.von_mises(4.0) == pytest.approx(float(exact.von_mises(2.0 + 1e-12)) / 8)


@pytest.mark.parametrize("moduli", [(20.0, 0.3, 10.0, 0.3), (5.0, 0.45, 30.0, 0.49), (10.0, 0.49, 10.0, 0.2)])
def test_interface_boundary_and_equilibrium(moduli):
    E1, nu1, E2, nu2 = moduli
    a, b, e = 2.0, 6.0, 0.04
    exact = SphericalInclusion(a, b, E1, nu1, E2, nu2, e)
    eps = 1e-10
    assert exact.displacement(a - eps) == pytest.approx(float(exact.displacement(a + eps)), rel=1e-8)
    assert exact.sigma_rr(a - eps) == pytest.approx(float(exact.sigma_rr(a + eps)), rel=1e-8)
    assert exact.displacement(b) == pytest.approx(0.0, abs=1e-14)
    assert exact.displacement(a) > 0  # the growing tumour pushes outwards
    # Hooke's law with the eigenstrain inside, without it outside
    for r, (E, nu, g) in [(1.3, (E1, nu1, e)), (4.1, (E2, nu2, 0.0))]:
        lmbda, mu = lame(E, nu)
        err, ett = exact.radial_strains(r)
        h = 1e-6
        assert err == pytest.approx((exact.displacement(r + h) - exact.displacement(r - h)) / (2 * h), rel=1e-6)
        assert ett == pytest.approx(float(exact.displacement(r)) / r)
        tr = err + 2 * ett - 3 * g
        assert exact.sigma_rr(r) == pytest.approx(lmbda * tr + 2 * mu * (err - g))
        assert exact.sigma_tt(r) == pytest.approx(lmbda * tr + 2 * mu * (ett - g))
    # radial equilibrium d(sigma_rr)/dr + 2 (sigma_rr - sigma_tt) / r = 0
    for r in (0.7, 3.0, 5.5):
        h = 1e-5
        dsrr = (exact.sigma_rr(r + h) - exact.sigma_rr(r - h)) / (2 * h)
        residual = dsrr + 2 * (exact.sigma_rr(r) - exact.sigma_tt(r)) / r
        assert abs(residual) < 1e-6 * abs(float(exact.sigma_rr(r)))
    # hydrostatic inside
    assert exact.von_mises(np.array([0.0, 1.0, 1.9])) == pytest.approx(0.0, abs=1e-12)
    # vector form
    x = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 0.0], [0.0, 1.0, 4.0]])
    r = np.linalg.norm(x, axis=0)
    assert np.allclose(exact.displacement_vector(x), exact.displacement(r) * x / r)
    assert exact.inclusion_volume_change() == pytest.approx(
        3 * exact.coefficients[0] * 4 / 3 * math.pi * a**3)
