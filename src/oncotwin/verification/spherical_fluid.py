"""Closed-form interstitial pressure in concentric spherical shells (Baxter & Jain 1989, generalised).

In each shell ``r_{i-1} < r < r_i`` with conductivity ``K_i`` and total filtration
``a_i = Lp S/V + LpL SL/V`` the radial equation ``-K_i (1/r^2)(r^2 p')' + a_i (p - p_e,i) = 0`` has the
solutions

* ``a_i > 0``: ``p = p_e,i + A_i e^{lambda_i (r - r_i)}/r + B_i e^{-lambda_i (r - r_{i-1})}/r``,
  ``lambda_i = sqrt(a_i / K_i)`` (scaled exponentials, no overflow);
* ``a_i = 0``: ``p = A_i + B_i / r``.

The innermost shell is regular at the centre (``sinh(lambda r)/r``, or a constant). Pressure and normal
flux ``K p'`` are continuous at interfaces; the outer surface has a fixed pressure or a Robin condition
``-K p' = h (p - p_far)``. The isolated tumour of Baxter & Jain (``p = 0`` at the rim) is the one-shell
case: ``p = p_e (1 - R sinh(alpha r/R) / (r sinh alpha))``, ``alpha = R sqrt(a/K)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shell:
    """One spherical shell (or the central ball) with homogeneous parameters."""

    outer_radius: float
    conductivity: float
    filtration: float  # a = Lp S/V + LpL SL/V
    effective_pressure: float  # p_e = (Lp S/V p_eff + LpL SL/V p_L) / a (ignored when a = 0)


class LayeredSphere:
    """Exact pressure and radial flux for concentric shells (innermost first).

    Args:
        shells: shells from the centre outwards.
        outer_pressure: fixed pressure at the outer radius (Dirichlet), or
        robin: ``(h, p_far)`` for ``-K p' = h (p - p_far)`` at the outer radius.
    """

    def __init__(self, shells: list[Shell], outer_pressure: float | None = None,
                 robin: tuple[float, float] | None = None):
        if (outer_pressure is None) == (robin is None):
            raise ValueError("give exactly one of outer_pressure and robin")
        self.shells = shells
        n = len(shells)
        # unknowns: (A_i, B_i) per shell; the centre shell has B_0 = 0 (regularity) -> 2n - 1 unknowns
        rows, rhs = [], []
        for i in range(n - 1):
            r = shells[i].outer_radius
            v_in, d_in, c_in = self._basis(i, r)
            v_out, d_out, c_out = self._basis(i + 1, r)
            rows.append(self._row(n, i, v_in) - self._row(n, i + 1, v_out))
            rhs.append(c_out - c_in)
            k_in, k_out = shells[i].conductivity, shells[i + 1].conductivity
            rows.append(k_in * self._row(n, i, d_in) - k_out * self._row(n, i + 1, d_out))
            rhs.append(0.0)
        R = shells[-1].outer_radius
        v, d, c = self._basis(n - 1, R)
        if outer_pressure is not None:
            rows.append(self._row(n, n - 1, v))
            rhs.append(outer_pressure - c)
        else:
            h, p_far = robin
            K = shells[-1].conductivity
            rows.append(-K * self._row(n, n - 1, d) - h * self._row(n, n - 1, v))
            rhs.append(h * (c - p_far))
        matrix = np.delete(np.array(rows), 1, axis=1)  # B_0 = 0 (regular at the centre)
        self.coefficients = np.insert(np.linalg.solve(matrix, np.array(rhs)), 1, 0.0)

    @staticmethod
    def _row(n: int, i: int, values: tuple[float, float]) -> np.ndarray:
        row = np.zeros(2 * n)
        row[2 * i: 2 * i + 2] = values
        return row

    def _inner_radius(self, i: int) -> float:
        return 0.0 if i == 0 else self.shells[i - 1].outer_radius

    def _basis(self, i: int, r):
        """Values and radial derivatives of the two basis functions of shell i at r, plus the constant.

        Returns ``((f, g), (f', g'), c)`` with ``p = c + A f + B g``.
        """
        s = self.shells[i]
        r = np.asarray(r, dtype=float)
        ro, ri = s.outer_radius, self._inner_radius(i)
        if s.filtration > 0:
            lam = np.sqrt(s.filtration / s.conductivity)
            c = s.effective_pressure
            with np.errstate(divide="ignore", invalid="ignore"):
                if i == 0:
                    # sinh(lam r)/r scaled by e^{-lam ro}: (e^{lam(r-ro)} - e^{-lam(r+ro)}) / (2 r)
                    e1, e2 = np.exp(lam * (r - ro)), np.exp(-lam * (r + ro))
                    f = np.where(r > 0, (e1 - e2) / (2 * r), lam * np.exp(-lam * ro))
                    df = np.where(r > 0, lam * (e1 + e2) / (2 * r) - (e1 - e2) / (2 * r * r), 0.0)
                else:
                    e1 = np.exp(lam * (r - ro))
                    f, df = e1 / r, e1 * (lam / r - 1 / (r * r))
                e2 = np.exp(-lam * (r - ri))
                g = np.where(r > 0, e2 / np.where(r > 0, r, 1.0), 0.0)
                dg = np.where(r > 0, e2 * (-lam / np.where(r > 0, r, 1.0) - 1 / np.where(r > 0, r * r, 1.0)), 0.0)
        else:
            c = 0.0
            f, df = np.ones_like(r), np.zeros_like(r)
            with np.errstate(divide="ignore"):
                g = np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0), 0.0)
                dg = np.where(r > 0, -1.0 / np.where(r > 0, r * r, 1.0), 0.0)
        return (f, g), (df, dg), c

    def _evaluate(self, r, derivative: bool):
        r = np.asarray(r, dtype=float)
        out = np.zeros_like(r)
        for i, s in enumerate(self.shells):
            inside = (r >= self._inner_radius(i)) & (r <= s.outer_radius * (1 + 1e-12)) & (out == 0)
            if i == len(self.shells) - 1:
                inside |= r > s.outer_radius
            if not np.any(inside):
                continue
            (f, g), (df, dg), c = self._basis(i, r[inside])
            A, B = self.coefficients[2 * i: 2 * i + 2]
            out[inside] = (A * df + B * dg) if derivative else (c + A * f + B * g)
        return out

    def pressure(self, r) -> np.ndarray:
        """Interstitial pressure at radius r."""
        return self._evaluate(r, derivative=False)

    def radial_velocity(self, r) -> np.ndarray:
        """Radial Darcy velocity ``-K dp/dr`` at radius r."""
        r = np.asarray(r, dtype=float)
        K = np.zeros_like(r)
        for i, s in reversed(list(enumerate(self.shells))):
            K[r <= s.outer_radius * (1 + 1e-12)] = s.conductivity
        K[r > self.shells[-1].outer_radius] = self.shells[-1].conductivity
        return -K * self._evaluate(r, derivative=True)


def isolated_tumour_pressure(r, radius: float, conductivity: float, filtration: float, p_e: float):
    """Baxter & Jain's isolated tumour with p = 0 at the rim (reference formula, used in tests)."""
    alpha = radius * np.sqrt(filtration / conductivity)
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(r > 0, radius * np.sinh(alpha * r / radius) / (r * np.sinh(alpha)),
                         alpha / np.sinh(alpha))
    return p_e * (1.0 - ratio)
