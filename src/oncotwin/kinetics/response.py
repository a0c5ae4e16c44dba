"""Pointwise cell kinetics and treatment response (NumPy, evaluated at the P1 nodes, or 0-D).

Two clones share the tissue's carrying capacity: drug-sensitive ``s`` and resistant ``r`` viable cells,
plus lethally damaged ("doomed") cells ``d`` and anoxic (necrotic) cells ``m``, which still occupy space
until they are cleared. Densities are fractions of the carrying capacity. Per unit time:

.. math::

    \\dot s = (1-\\mu)\\,\\rho_s g(p) f\\, s - k_n h(p)\\, s - \\kappa\\, s, \\quad
    \\dot r = \\rho_r g(p) f\\, r + \\mu\\,\\rho_s g(p) f\\, s - k_n h(p)\\, r,

    \\dot d = \\kappa\\, s - c_d\\, d, \\quad
    \\dot m = k_n h(p)\\,(s + r) - c_m\\, m, \\qquad f = 1 - s - r - d - m,

with ``g`` the oxygen dependence of proliferation, ``h`` the anoxia indicator, ``mu`` the fraction of
sensitive divisions that yield a resistant daughter and ``kappa`` a continuous drug kill rate of the
sensitive clone. Treatment does not remove cells: it moves them into the doomed compartment, which is
cleared with the half-time ``T_c = ln 2 / c_d`` (the "clearance" form of the regression model of Lim et
al., IJROBP 70:126, 2008, median T_c about 10 days in cervix cancer under radiotherapy; Chvetsov, IJROBP
75:595, 2009). Necrotic debris is cleared at its own, slower rate ``c_m``. Radiotherapy fractions and
the chemotherapy exposure of a step act as surviving fractions through :func:`move_to_doomed`:
chemotherapy through an Emax (Hill) kill rate integrated over the exposure (sensitive clone only),
radiotherapy by the linear-quadratic model with the oxygen modification factor of Alper &
Howard-Flanders (both clones). The volume cleared per unit time, ``c_d d + c_m m``, is what makes the
tissue move (:mod:`oncotwin.problems.tissue_motion`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oncotwin.core.errors import StiffKineticsError

MAX_SUBSTEPS = 10_000
"""Cap of the RK4 sub-steps of one :meth:`CloneKinetics.advance` (about 1 s of NumPy per 10^5 nodes)."""


Cells = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Sensitive, resistant, doomed and necrotic densities (arrays changed in place)."""


@dataclass(frozen=True)
class CloneKinetics:
    """Rates of the two-clone logistic model with doomed and necrotic cells (internal units).

    Attributes:
        sensitive_rate: proliferation rate of the sensitive clone at normoxia rho_s [1/s].
        resistant_rate: proliferation rate of the resistant clone rho_r [1/s].
        mutation_fraction: fraction of sensitive divisions that produce a resistant cell [-].
        necrosis_rate: death rate of viable cells below the necrotic pO2 threshold k_n [1/s].
        hypoxic_threshold: pO2 below which proliferation slows [mmHg].
        necrotic_threshold: pO2 below which proliferation stops and cells die [mmHg].
        clearance_rate: clearance of doomed cells c_d = ln 2 / T_c [1/s].
        necrotic_clearance_rate: clearance of necrotic debris c_m [1/s].
    """

    sensitive_rate: float
    resistant_rate: float
    mutation_fraction: float = 0.0
    necrosis_rate: float = 0.0
    hypoxic_threshold: float = 10.0
    necrotic_threshold: float = 1.0
    clearance_rate: float = 0.0
    necrotic_clearance_rate: float = 0.0

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

    def rates(self, s, r, d, m, scale: np.ndarray | float, g: np.ndarray | float, h: np.ndarray | float,
              kill: np.ndarray | float = 0.0) -> Cells:
        """Time derivatives (ds, dr, dd, dm) at given densities.

        Args:
            s, r, d, m: sensitive, resistant, doomed and necrotic densities.
            scale: the regional proliferation scale.
            g: oxygen factor of proliferation; h: anoxia indicator.
            kill: continuous kill rate of the sensitive clone kappa [1/s] (into the doomed compartment).
        """
        free = 1.0 - s - r - d - m
        division_s = self.sensitive_rate * scale * g * free * s
        division_r = self.resistant_rate * scale * g * free * r
        death = self.necrosis_rate * h
        ds = (1.0 - self.mutation_fraction) * division_s - death * s - kill * s
        dr = division_r + self.mutation_fraction * division_s - death * r
        dd = kill * s - self.clearance_rate * d
        dm = death * (s + r) - self.necrotic_clearance_rate * m
        return ds, dr, dd, dm

    def cleared(self, d: np.ndarray | float, m: np.ndarray | float) -> np.ndarray | float:
        """Volume fraction cleared per unit time, c_d d + c_m m [1/s]."""
        return self.clearance_rate * d + self.necrotic_clearance_rate * m

    def max_rate(self, scale_max: float, kill_max: float = 0.0) -> float:
        """An upper bound of the stiffness of the kinetics (sets the sub-step of the integrator)."""
        return (max(self.sensitive_rate, self.resistant_rate) * scale_max + self.necrosis_rate + kill_max
                + max(self.clearance_rate, self.necrotic_clearance_rate))

    def substeps(self, dt: float, scale_max: float = 1.0, max_increment: float = 0.1, kill_max: float = 0.0) -> int:
        """RK4 sub-steps of one :meth:`advance` over ``dt``.

        Raises:
            StiffKineticsError: above :data:`MAX_SUBSTEPS`, naming the rates that drive the count.
        """
        n = max(1, math.ceil(self.max_rate(scale_max, kill_max) * dt / max_increment))
        if n > MAX_SUBSTEPS:
            day = 86400.0
            rates = {"physics.growth.proliferation_rate": self.sensitive_rate * scale_max,
                     "physics.growth.resistant_proliferation_rate": self.resistant_rate * scale_max,
                     "physics.growth.necrosis_rate": self.necrosis_rate,
                     "physics.growth.clearance_half_time (as a rate)": self.clearance_rate,
                     "physics.growth.necrotic_clearance_half_time (as a rate)": self.necrotic_clearance_rate,
                     "drug kill rate": kill_max}
            named = ", ".join(f"{key} = {value * day:.4g} 1/day" for key, value in
                              sorted(rates.items(), key=lambda kv: -kv[1]) if value * dt / max_increment > 1.0)
            raise StiffKineticsError(
                f"the cell kinetics would need {n} sub-steps per growth step of {dt / day:.4g} day (at most "
                f"{MAX_SUBSTEPS}): {named} (largest regional proliferation scale {scale_max:.4g}); lower the "
                "rates or physics.growth.step")
        return n

    def advance(self, s, r, d, m, dt: float, scale: np.ndarray | float = 1.0, po2: np.ndarray | None = None,
                kill: np.ndarray | float = 0.0, max_increment: float = 0.1) -> int:
        """Integrate the kinetics over ``dt`` in place (classical RK4 with enough sub-steps).

        Args:
            s, r, d, m: the densities (NumPy arrays, changed in place).
            dt: time step [s].
            scale: regional proliferation scale.
            po2: nodal oxygen [mmHg] (None: normoxia).
            kill: continuous kill rate of the sensitive clone [1/s].
            max_increment: largest rate x sub-step.

        Returns:
            The number of sub-steps taken.

        Raises:
            StiffKineticsError: when that number would exceed :data:`MAX_SUBSTEPS` (nothing is changed).
        """
        g, h = self.proliferation_factor(po2), self.anoxia(po2)
        scale_max = float(np.max(scale)) if np.size(scale) else 1.0
        kill_max = float(np.max(kill)) if np.size(kill) else 0.0
        n = self.substeps(dt, scale_max, max_increment, kill_max)
        tau = dt / n
        y = (s, r, d, m)
        for _ in range(n):
            k1 = self.rates(*y, scale, g, h, kill)
            k2 = self.rates(*(a + 0.5 * tau * k for a, k in zip(y, k1, strict=True)), scale, g, h, kill)
            k3 = self.rates(*(a + 0.5 * tau * k for a, k in zip(y, k2, strict=True)), scale, g, h, kill)
            k4 = self.rates(*(a + tau * k for a, k in zip(y, k3, strict=True)), scale, g, h, kill)
            for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4, strict=True):
                a += tau / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
        for a in y:
            np.clip(a, 0.0, 1.0, out=a)
        return n


def move_to_doomed(s: np.ndarray, r: np.ndarray, d: np.ndarray, sensitive: np.ndarray | float,
                   resistant: np.ndarray | float | None = None) -> None:
    """Apply surviving fractions to the clones in place; the killed cells become doomed (still occupy space).

    Args:
        s, r, d: sensitive, resistant and doomed densities.
        sensitive: surviving fraction of the sensitive clone.
        resistant: surviving fraction of the resistant clone (default: the sensitive one's).
    """
    resistant = sensitive if resistant is None else resistant
    killed = s * (1.0 - sensitive) + r * (1.0 - resistant)
    s *= sensitive
    r *= resistant
    d += killed


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
