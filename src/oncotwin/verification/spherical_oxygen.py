"""Closed-form oxygen profile of a sphere with zero-order consumption (Greenspan, Stud. Appl. Math. 51:317, 1972).

A sphere of radius ``R`` consumes oxygen at the constant rate ``q`` [mmHg/s] wherever ``c > 0`` and has
no vascular supply; its surface is held at ``c(R) = c0``. The radial equation
``D (1/r^2) (r^2 c')' = q`` has the general solution ``c = q r^2 / (6 D) + A + B / r``.

(a) ``q R^2 / (6 D) <= c0``: regular at the centre (``B = 0``),
    ``c(r) = c0 - q (R^2 - r^2) / (6 D)``.

(b) ``q R^2 / (6 D) > c0``: an anoxic (necrotic) core ``r < r_n`` forms where ``c = 0`` and nothing is
    consumed. Continuity of ``c`` and of the flux at ``r_n`` (``c(r_n) = 0``, ``c'(r_n) = 0``) give
    ``B = q r_n^3 / (3 D)`` and

    .. math::

        c(r) = c_0 - \\frac{q}{6D}(R^2 - r^2) + \\frac{q r_n^3}{3D}\\Big(\\frac1r - \\frac1R\\Big),
        \\qquad r_n \\le r \\le R,

    with ``rho = r_n / R`` the root in [0, 1) of ``(1 - rho)^2 (1 + 2 rho) = beta``,
    ``beta = 6 D c0 / (q R^2)``. Writing ``rho = 1/2 + u`` turns it into ``4 u^3 - 3 u = 2 beta - 1``,
    solved by ``u = cos((arccos(2 beta - 1) + 4 pi) / 3)``.

Michaelis-Menten consumption ``q c / (K_m + c)`` with ``K_m << c0`` approaches this profile (the
consumption is switched off smoothly over a pO2 range of order ``K_m`` near the core).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq


@dataclass(frozen=True)
class ZeroOrderSphere:
    """Greenspan's oxygen profile of an avascular sphere with zero-order consumption.

    Attributes:
        radius: sphere radius R [mm].
        diffusivity: D [mm^2/s].
        consumption: q [mmHg/s] (> 0).
        surface_po2: c0 = c(R) [mmHg] (> 0).
    """

    radius: float
    diffusivity: float
    consumption: float
    surface_po2: float

    @property
    def critical_radius(self) -> float:
        """Largest radius without an anoxic core, ``sqrt(6 D c0 / q)`` [mm]."""
        return math.sqrt(6 * self.diffusivity * self.surface_po2 / self.consumption)

    def necrotic_radius(self) -> float:
        """Radius r_n of the anoxic core (0 when ``q R^2 / (6 D) <= c0``) [mm]."""
        beta = 6 * self.diffusivity * self.surface_po2 / (self.consumption * self.radius**2)
        if beta >= 1.0:
            return 0.0
        u = math.cos((math.acos(2 * beta - 1) + 4 * math.pi) / 3)
        return self.radius * (0.5 + u)

    def profile(self, r) -> np.ndarray:
        """pO2 at radius r [mmHg] (0 in the anoxic core)."""
        r = np.asarray(r, dtype=float)
        R, D, q, c0 = self.radius, self.diffusivity, self.consumption, self.surface_po2
        rn = self.necrotic_radius()
        c = c0 - q * (R**2 - r**2) / (6 * D)
        if rn > 0:
            with np.errstate(divide="ignore"):
                c = c + q * rn**3 / (3 * D) * (1 / np.maximum(r, rn) - 1 / R)
            c = np.where(r <= rn, 0.0, c)
        return np.maximum(c, 0.0) if rn > 0 else c

    def derivative(self, r) -> np.ndarray:
        """Radial derivative dc/dr [mmHg/mm]."""
        r = np.asarray(r, dtype=float)
        D, q = self.diffusivity, self.consumption
        rn = self.necrotic_radius()
        if rn == 0:
            return q * r / (3 * D)
        rr = np.maximum(r, rn)
        return np.where(r <= rn, 0.0, q * rr / (3 * D) - q * rn**3 / (3 * D * rr**2))

    def radius_below(self, level: float) -> float:
        """Radius of the ball where ``c < level`` (0 if none) [mm], for ``0 < level < c0``."""
        rn = self.necrotic_radius()
        if float(self.profile(rn)) >= level:
            return rn
        return brentq(lambda r: float(self.profile(r)) - level, rn, self.radius, xtol=1e-14)
