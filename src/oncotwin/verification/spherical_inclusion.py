"""Closed-form mass effect of a growing spherical tumour: an eigenstrained sphere in a fixed shell.

A ball ``r < a`` (moduli ``E1, nu1``) carries a uniform isotropic eigenstrain ``e*`` (growth strain
``beta N`` with ``N = 1``); it sits in a concentric shell ``a < r < b`` (``E2, nu2``, no eigenstrain)
whose outer surface is fixed, ``u(b) = 0``. The radial displacement of small-strain elasticity is

* ``u = A r`` for ``r < a`` (regular at the centre),
* ``u = B r + C / r^2`` for ``a < r < b``,

with strains ``eps_rr = u'``, ``eps_tt = u / r``, stresses ``sigma_rr = lambda tr(eps) + 2 mu eps_rr
- 3 K e*`` and ``sigma_tt = lambda tr(eps) + 2 mu eps_tt - 3 K e*`` (``K`` the bulk modulus, ``e*`` only
inside): inside ``sigma_rr = sigma_tt = 3 K1 (A - e*)``; outside ``sigma_rr = 3 K2 B - 4 mu2 C / r^3``,
``sigma_tt = 3 K2 B + 2 mu2 C / r^3``. The constants follow from continuity of ``u`` and ``sigma_rr`` at
``r = a`` and ``u(b) = 0``. Inside the stress is hydrostatic (von Mises 0); outside the von Mises stress
is ``6 mu2 |C| / r^3``.

In an infinite matrix of the same material (``b -> inf``) this is Eshelby's spherical inclusion:
``u = e* r (1 + nu) / (3 (1 - nu))`` inside (Eshelby, Proc. R. Soc. A 241:376, 1957).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _lame(young: float, poisson: float) -> tuple[float, float, float]:
    """``(lambda, mu, K)`` from Young's modulus and Poisson's ratio."""
    mu = young / (2 * (1 + poisson))
    lmbda = young * poisson / ((1 + poisson) * (1 - 2 * poisson))
    return lmbda, mu, lmbda + 2 * mu / 3


@dataclass(frozen=True)
class SphericalInclusion:
    """Exact radial displacement and stresses (radius, moduli and stresses in consistent units).

    Attributes:
        radius: inclusion radius a.
        outer_radius: radius b of the fixed outer surface (``math.inf``: unbounded matrix).
        young_inside, poisson_inside: E1, nu1 of the inclusion.
        young_outside, poisson_outside: E2, nu2 of the shell.
        eigenstrain: uniform isotropic eigenstrain e* of the inclusion.
    """

    radius: float
    outer_radius: float
    young_inside: float
    poisson_inside: float
    young_outside: float
    poisson_outside: float
    eigenstrain: float

    @property
    def coefficients(self) -> tuple[float, float, float]:
        """``(A, B, C)`` of ``u = A r`` inside and ``u = B r + C / r^2`` outside."""
        a, b, e = self.radius, self.outer_radius, self.eigenstrain
        _, _, k1 = _lame(self.young_inside, self.poisson_inside)
        _, mu2, k2 = _lame(self.young_outside, self.poisson_outside)
        # u(b) = 0: B = -C / b^3 (B = 0 when b is infinite), i.e. B = -q C with q = 1/b^3
        q = 0.0 if math.isinf(b) else 1.0 / b**3
        # continuity of u at a: A = B + C / a^3 = C (1/a^3 - q)
        # continuity of sigma_rr: 3 K1 (A - e) = 3 K2 B - 4 mu2 C / a^3
        #   -> C [3 K1 (1/a^3 - q) + 3 K2 q + 4 mu2 / a^3] = 3 K1 e
        c = 3 * k1 * e / (3 * k1 * (1 / a**3 - q) + 3 * k2 * q + 4 * mu2 / a**3)
        return c * (1 / a**3 - q), -q * c, c

    def _split(self, r):
        r = np.asarray(r, dtype=float)
        return r, r <= self.radius

    def displacement(self, r) -> np.ndarray:
        """Radial displacement u(r)."""
        A, B, C = self.coefficients
        r, inside = self._split(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inside, A * r, B * r + C / np.where(inside, 1.0, r) ** 2)

    def displacement_vector(self, x: np.ndarray) -> np.ndarray:
        """Displacement vector ``u(r) x / r`` at points ``x`` of shape ``(3, n)`` (DOLFINx interpolation)."""
        A, B, C = self.coefficients
        r, inside = self._split(np.linalg.norm(x, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(inside, A, B + C / np.where(inside, 1.0, r) ** 3)
        return factor * x

    def _stresses(self, r):
        A, B, C = self.coefficients
        r, inside = self._split(r)
        _, _, k1 = _lame(self.young_inside, self.poisson_inside)
        _, mu2, k2 = _lame(self.young_outside, self.poisson_outside)
        inner = 3 * k1 * (A - self.eigenstrain)
        with np.errstate(divide="ignore", invalid="ignore"):
            c_r3 = C / np.where(inside, 1.0, r) ** 3
        rr = np.where(inside, inner, 3 * k2 * B - 4 * mu2 * c_r3)
        tt = np.where(inside, inner, 3 * k2 * B + 2 * mu2 * c_r3)
        return rr, tt

    def sigma_rr(self, r) -> np.ndarray:
        """Radial stress."""
        return self._stresses(r)[0]

    def sigma_tt(self, r) -> np.ndarray:
        """Hoop (circumferential) stress."""
        return self._stresses(r)[1]

    def von_mises(self, r) -> np.ndarray:
        """Von Mises stress ``|sigma_rr - sigma_tt|`` (two equal hoop stresses)."""
        rr, tt = self._stresses(r)
        return np.abs(rr - tt)

    def radial_strains(self, r) -> tuple[np.ndarray, np.ndarray]:
        """Total strains ``(eps_rr, eps_tt)`` (eigenstrain included)."""
        A, B, C = self.coefficients
        r, inside = self._split(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            c_r3 = C / np.where(inside, 1.0, r) ** 3
        return np.where(inside, A, B - 2 * c_r3), np.where(inside, A, B + c_r3)

    def inclusion_volume_change(self) -> float:
        """Volume change of the inclusion ``4 pi a^2 u(a)`` (exact for small strain)."""
        return 4 * math.pi * self.radius**2 * float(self.displacement(self.radius))


def eshelby_inside_displacement(r, eigenstrain: float, poisson: float) -> np.ndarray:
    """Eshelby's displacement inside a spherical inclusion in an infinite matrix of the same material."""
    return eigenstrain * np.asarray(r, dtype=float) * (1 + poisson) / (3 * (1 - poisson))
