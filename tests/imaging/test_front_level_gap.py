"""The 80 % - 16 % level gap of the model's own front against a 1-D Fisher-KPP simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.sparse import diags

from oncotwin.imaging.front_profile import front_length, front_level_gap


def simulated_gap(inner: float, outer: float, t_end: float) -> float:
    """u_t = u_xx + u (1 - u) from a step (D = rho = 1, method of lines, BDF): the levels' distance at t_end.

    A step converges to the minimal-speed wave from behind (Bramson's logarithmic delay), so the gap
    approaches its limit from below.
    """
    n, length = 3001, 300.0
    x = np.linspace(0.0, length, n)
    h = x[1] - x[0]

    def rhs(_, u):
        d = np.empty_like(u)
        d[1:-1] = (u[2:] - 2 * u[1:-1] + u[:-2]) / h**2
        d[0], d[-1] = 2 * (u[1] - u[0]) / h**2, 2 * (u[-2] - u[-1]) / h**2
        return d + u * (1 - u)

    sparsity = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    u = solve_ivp(rhs, (0.0, t_end), np.where(x < 20.0, 1.0, 0.0), method="BDF", jac_sparsity=sparsity,
                  rtol=1e-7, atol=1e-10).y[:, -1]
    return float(np.interp(-outer, -u, x) - np.interp(-inner, -u, x))


def test_the_gap_is_the_simulated_fronts_and_not_the_pure_exponentials():
    gap = front_level_gap(0.8, 0.16)
    assert gap == pytest.approx(simulated_gap(0.8, 0.16, 80.0), rel=0.015)
    assert gap > 3.0 * math.log(0.8 / 0.16)  # the linearised exponential tail is far too narrow
    # a wider pair of levels is further apart, and the ordering of the levels does not matter for the sign
    assert front_level_gap(0.9, 0.1) > gap > front_level_gap(0.6, 0.3) > 0


def test_front_length_from_two_radii():
    voxel = 1.0
    core, lesion = 4.0 / 3.0 * math.pi * 20.0**3, 4.0 / 3.0 * math.pi * 26.0**3
    assert front_length(round(core), round(lesion), voxel) == pytest.approx(6.0 / front_level_gap(), rel=1e-4)
    assert front_length(100, 100, voxel) is None
