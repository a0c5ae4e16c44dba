"""Pointwise cell kinetics and treatment response (NumPy, evaluated at the P1 nodes).

Two clones share the tissue's carrying capacity: drug-sensitive ``s`` and resistant ``r`` viable cells,
plus dead (necrotic) cells ``m`` that still occupy space. Densities are fractions of the carrying
capacity. Per unit time:

.. math::

    \\dot s = (1-\\mu)\\,\\rho_s g(p) f\\, s - k_n h(p)\\, s, \\quad
    \\dot r = \\rho_r g(p) f\\, r + \\mu\\,\\rho_s g(p) f\\, s - k_n h(p)\\, r, \\quad
    \\dot m = k_n h(p)\\,(s + r), \\qquad f = 1 - s - r - m,

with ``g`` the oxygen dependence of proliferation, ``h`` the anoxia indicator and ``mu`` the fraction of
sensitive divisions that yield a resistant daughter. Treatments act as survival factors: chemotherapy
through an Emax (Hill) kill rate integrated over the exposure (sensitive clone only), radiotherapy by the
linear-quadratic model with the oxygen modification factor of Alper & Howard-Flanders (both clones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.errors import StiffKineticsError

MAX_SUBSTEPS = 10_000
"""Cap of the RK4 sub-steps of one :meth:`CloneKinetics.advance` (about 1 s of NumPy per 10^5 nodes)."""


@dataclass(frozen=True)
class CloneKinetics:
    """Rates of the two-clone logistic model (internal units).

    Attributes:
        sensitive_rate: proliferation rate of the sensitive clone at normoxia rho_s [1/s].
        resistant_rate: proliferation rate of the resistant clone rho_r [1/s].
        mutation_fraction: fraction of sensitive divisions that produce a resistant cell [-].
        necrosis_rate: death rate of viable cells below the necrotic pO2 threshold k_n [1/s].
        hypoxic_threshold: pO2 below which proliferation slows [mmHg].
        necrotic_threshold: pO2 below which proliferation stops and cells die [mmHg].
    """

    sensitive_rate: float
    resistant_rate: float
    mutation_fraction: float = 0.0
    necrosis_rate: float = 0.0
    hypoxic_threshold: float = 10.0
    necrotic_threshold: float = 1.0

    def proliferation_factor(self, po2: np.ndarray | None) -> np.ndarray | float:
        """g(p): 1 above the hypoxic threshold, falling linearly to 0 at the necrotic threshold."""
        if po2 is None:
            return 1.0
        span = max(self.hypoxic_threshold - self.necrotic_threshold, 1e-12)
        return np.clip((po2 - self.necrotic_threshold) / span, 0.0, 1.0)

    def anoxia(self, po2: np.ndarray | None) -> np.ndarray | float:
        """h(p): 1 below the necrotic threshold, else 0."""
        if po2 is None:
            return 0.0
        return (po2 < self.necrotic_threshold).astype(float)

    def rates(self, s: np.ndarray, r: np.ndarray, m: np.ndarray, scale: np.ndarray | float,
              g: np.ndarray | float, h: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Time derivatives (ds, dr, dm) at given densities; ``scale`` is the regional proliferation scale."""
        free = 1.0 - s - r - m
        division_s = self.sensitive_rate * scale * g * free * s
        division_r = self.resistant_rate * scale * g * free * r
        death = self.necrosis_rate * h
        ds = (1.0 - self.mutation_fraction) * division_s - death * s
        dr = division_r + self.mutation_fraction * division_s - death * r
        return ds, dr, death * (s + r)

    def max_rate(self, scale_max: float) -> float:
        """An upper bound of the stiffness of the kinetics (sets the sub-step of the integrator)."""
        return max(self.sensitive_rate, self.resistant_rate) * scale_max + self.necrosis_rate

    def substeps(self, dt: float, scale_max: float = 1.0, max_increment: float = 0.1) -> int:
        """RK4 sub-steps of one :meth:`advance` over ``dt``.

        Raises:
            StiffKineticsError: above :data:`MAX_SUBSTEPS`, naming the rates that drive the count.
        """
        n = max(1, math.ceil(self.max_rate(scale_max) * dt / max_increment))
        if n > MAX_SUBSTEPS:
            day = 86400.0
            rates = {"physics.growth.proliferation_rate": self.sensitive_rate * scale_max,
                     "physics.growth.resistant_proliferation_rate": self.resistant_rate * scale_max,
                     "physics.growth.necrosis_rate": self.necrosis_rate}
            named = ", ".join(f"{key} = {value * day:.4g} 1/day" for key, value in
                              sorted(rates.items(), key=lambda kv: -kv[1]) if value * dt / max_increment > 1.0)
            raise StiffKineticsError(
                f"the cell kinetics would need {n} sub-steps per growth step of {dt / day:.4g} day (at most "
                f"{MAX_SUBSTEPS}): {named} (largest regional proliferation scale {scale_max:.4g}); lower the "
                "rates or physics.growth.step")
        return n

    def advance(self, s: np.ndarray, r: np.ndarray, m: np.ndarray, dt: float, scale: np.ndarray | float = 1.0,
                po2: np.ndarray | None = None, max_increment: float = 0.1) -> int:
        """Integrate the kinetics over ``dt`` in place (classical RK4 with enough sub-steps).

        Returns:
            The number of sub-steps taken.

        Raises:
            StiffKineticsError: when that number would exceed :data:`MAX_SUBSTEPS` (nothing is changed).
        """
        g, h = self.proliferation_factor(po2), self.anoxia(po2)
        scale_max = float(np.max(scale)) if np.size(scale) else 1.0
        n = self.substeps(dt, scale_max, max_increment)
        tau = dt / n
        for _ in range(n):
            k1 = self.rates(s, r, m, scale, g, h)
            k2 = self.rates(*(y + 0.5 * tau * k for y, k in zip((s, r, m), k1, strict=True)), scale, g, h)
            k3 = self.rates(*(y + 0.5 * tau * k for y, k in zip((s, r, m), k2, strict=True)), scale, g, h)
            k4 = self.rates(*(y + tau * k for y, k in zip((s, r, m), k3, strict=True)), scale, g, h)
            for y, a, b, c, d in zip((s, r, m), k1, k2, k3, k4, strict=True):
                y += tau / 6.0 * (a + 2.0 * b + 2.0 * c + d)
        for y in (s, r, m):
            np.clip(y, 0.0, 1.0, out=y)
        return n


@dataclass(frozen=True)
class DrugEffect:
    """Emax (Hill) pharmacodynamics: kill rate of the sensitive clone at concentration ``c``.

    Attributes:
        max_kill_rate: E_max [1/s].
        ec50: concentration of half-maximal effect [mg/mm^3].
        hill: Hill coefficient [-].
    """

    max_kill_rate: float
    ec50: float
    hill: float = 1.0

    def kill_rate(self, c: np.ndarray) -> np.ndarray:
        """E_max c^h / (EC50^h + c^h) [1/s] (negative concentrations count as zero)."""
        ch = np.maximum(c, 0.0) ** self.hill
        return self.max_kill_rate * ch / (self.ec50 ** self.hill + ch)


def oxygen_modification(po2: np.ndarray | float, oer_max: float = 3.0, k_half: float = 3.0) -> np.ndarray | float:
    """Oxygen modification factor OMF = OER(p) / OER_max in [1/OER_max, 1].

    Alper & Howard-Flanders: OER(p) = (m p + K) / (p + K) relative to anoxia, with m = OER_max and K the pO2
    of half effect [mmHg] (Titz & Jeraj, Phys. Med. Biol. 53:4471, 2008 use m = 3, K = 3 mmHg).
    """
    p = np.maximum(po2, 0.0)
    return (oer_max * p + k_half) / (p + k_half) / oer_max


def lq_survival(dose: float | np.ndarray, alpha: float, beta: float,
                omf: np.ndarray | float = 1.0) -> np.ndarray | float:
    """Linear-quadratic surviving fraction of one fraction: exp(-alpha D' - beta D'^2), D' = OMF * dose."""
    d = omf * dose
    return np.exp(-alpha * d - beta * d * d)
