"""Closed-form steady reaction-diffusion in two concentric spherical layers (white/grey-like diffusivities).

In ``r < a`` (diffusivity ``D1``, rate ``k1``) and ``a < r < b`` (``D2``, ``k2``) the steady field ``w`` solves
``-div(D grad w) + k w = 0`` with ``w(b) = w_b``; ``w`` and the flux ``D w'`` are continuous at ``r = a``.
With ``m_i = sqrt(k_i / D_i)`` the radial solutions are

* ``w = A sinh(m1 r) / r`` inside (regular at the centre),
* ``w = (B sinh(m2 r) + C cosh(m2 r)) / r`` in the shell,

and ``A, B, C`` solve the 3x3 linear system of the two interface conditions and the boundary value
(composite media, as in Crank, *The Mathematics of Diffusion*, 2nd ed., 1975). It is the
linearised, stationary form of Fisher-Kolmogorov invasion from a boundary source into a white-matter core
surrounded by grey matter (Swanson et al., Cell Prolif. 33:317, 2000: ``D_white = 5 D_grey``), and the
oxygen problem's operator with supply and no consumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayeredSphere:
    """The exact profile (consistent units).

    Attributes:
        radius: interface radius a.
        outer_radius: outer radius b (Dirichlet value there).
        diffusivity_inside, rate_inside: D1, k1 of the core (k1 > 0).
        diffusivity_outside, rate_outside: D2, k2 of the shell (k2 > 0).
        boundary_value: w(b).
    """

    radius: float
    outer_radius: float
    diffusivity_inside: float
    rate_inside: float
    diffusivity_outside: float
    rate_outside: float
    boundary_value: float

    @property
    def decay(self) -> tuple[float, float]:
        """``(m1, m2)``: inverse decay lengths of the two layers."""
        return (math.sqrt(self.rate_inside / self.diffusivity_inside),
                math.sqrt(self.rate_outside / self.diffusivity_outside))

    @property
    def coefficients(self) -> tuple[float, float, float]:
        """``(A, B, C)`` of the radial solutions."""
        a, b = self.radius, self.outer_radius
        m1, m2 = self.decay
        d1, d2 = self.diffusivity_inside, self.diffusivity_outside

        def dr(f, df, m, r):  # d/dr of f(m r) / r
            return m * df(m * r) / r - f(m * r) / r**2

        system = np.array([
            [math.sinh(m1 * a), -math.sinh(m2 * a), -math.cosh(m2 * a)],  # w continuous (times a)
            [d1 * dr(math.sinh, math.cosh, m1, a), -d2 * dr(math.sinh, math.cosh, m2, a),
             -d2 * dr(math.cosh, math.sinh, m2, a)],  # flux continuous
            [0.0, math.sinh(m2 * b) / b, math.cosh(m2 * b) / b],  # w(b)
        ])
        A, B, C = np.linalg.solve(system, [0.0, 0.0, self.boundary_value])
        return float(A), float(B), float(C)

    def profile(self, r) -> np.ndarray:
        """w(r) (the centre value is the limit ``A m1``)."""
        A, B, C = self.coefficients
        m1, m2 = self.decay
        r = np.asarray(r, dtype=float)
        safe = np.where(r > 0, r, 1.0)
        inside = np.where(r > 0, A * np.sinh(m1 * safe) / safe, A * m1)
        outside = (B * np.sinh(m2 * safe) + C * np.cosh(m2 * safe)) / safe
        return np.where(r <= self.radius, inside, outside)

    def flux(self, r) -> np.ndarray:
        """Radial flux ``-D w'(r)`` (central differences of the closed form are not needed: exact)."""
        A, B, C = self.coefficients
        m1, m2 = self.decay
        r = np.asarray(r, dtype=float)
        safe = np.where(r > 0, r, 1.0)
        inner = A * (m1 * np.cosh(m1 * safe) / safe - np.sinh(m1 * safe) / safe**2)
        outer = (m2 * (B * np.cosh(m2 * safe) + C * np.sinh(m2 * safe)) / safe
                 - (B * np.sinh(m2 * safe) + C * np.cosh(m2 * safe)) / safe**2)
        inside = r <= self.radius
        return -np.where(inside, self.diffusivity_inside * inner, self.diffusivity_outside * outer)
