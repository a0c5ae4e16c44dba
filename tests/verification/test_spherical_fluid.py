"""The closed-form layered-sphere pressure satisfies its ODE, interface and boundary conditions."""

import numpy as np
import pytest

from oncotwin.verification.spherical_fluid import LayeredSphere, Shell, isolated_tumour_pressure

K_T, A_T, PE_T = 4.13e-6, 5.6e-5, 11.5  # Baxter & Jain tumour (mm, s, mmHg)
K_N, A_N, PE_N = 8.53e-7, 1.752e-5, 0.9349315


def test_one_shell_is_baxter_jain_isolated_tumour():
    exact = LayeredSphere([Shell(5.0, K_T, A_T, PE_T)], outer_pressure=0.0)
    r = np.linspace(0.0, 5.0, 51)
    assert np.allclose(exact.pressure(r), isolated_tumour_pressure(r, 5.0, K_T, A_T, PE_T), atol=1e-12)


@pytest.mark.parametrize("robin", [None, (1e-6, 0.0)])
def test_layers_satisfy_ode_and_continuity(robin):
    shells = [Shell(1.5, K_T, 0.0, 0.0), Shell(3.0, K_T, A_T, PE_T), Shell(9.0, K_N, A_N, PE_N)]
    exact = LayeredSphere(shells, outer_pressure=None if robin else 0.3, robin=robin)
    for radius in (1.5, 3.0):
        eps = 1e-9
        assert exact.pressure(radius - eps) == pytest.approx(exact.pressure(radius + eps), abs=1e-6)
        assert exact.radial_velocity(radius - eps) == pytest.approx(exact.radial_velocity(radius + eps), rel=1e-5)
    h = 1e-4
    for r, s in [(0.7, shells[0]), (2.2, shells[1]), (5.0, shells[2])]:
        p = exact.pressure(np.array([r - h, r, r + h]))
        laplacian = (p[2] - 2 * p[1] + p[0]) / h**2 + (p[2] - p[0]) / (h * r)
        residual = -s.conductivity * laplacian + s.filtration * (p[1] - s.effective_pressure)
        scale = s.filtration * max(abs(p[1]), 1.0) + s.conductivity
        assert abs(residual) < 1e-5 * scale
    if robin is None:
        assert exact.pressure(9.0) == pytest.approx(0.3)
    else:
        dp = (exact.pressure(9.0) - exact.pressure(9.0 - 1e-6)) / 1e-6
        assert -K_N * dp == pytest.approx(robin[0] * (exact.pressure(9.0) - robin[1]), rel=1e-4)
