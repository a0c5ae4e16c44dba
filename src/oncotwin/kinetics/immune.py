"""Effector T-cell / tumour-cell kinetics with PD-1/PD-L1 suppression lifted by checkpoint blockade (0-D).

Kuznetsov et al. (Bull. Math. Biol. 56:295, 1994), cells E (effector) and T (tumour), per unit time::

    dE/dt = s + phi p E T / (g + T) - m E T - d E
    dT/dt = a T (1 - b T) - phi n E T,      phi = 1 - S (1 - theta)

``S`` in [0, 1] is the PD-1/PD-L1 suppression of the effector functions (kill and stimulated
proliferation) and ``theta`` the PD-1 occupancy of the checkpoint inhibitor (:mod:`oncotwin.pk.antibodies`);
``S = 0`` is the published model. The suppression is lifted in proportion to occupancy, after the
mechanism of Butner et al. (Sci. Adv. 6:eaay6298, 2020): the kill gained by blockade is ``n S theta E T``.

All rates are in 1/s (internal units), cell numbers are plain counts (or densities, cells/mm^3, when the
same kinetics act at the nodes of a mesh: then ``g`` and ``1/b`` are densities and ``m``, ``n`` per
density).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from oncotwin.core.errors import StiffKineticsError

MAX_SUBSTEPS = 100_000


@dataclass(frozen=True)
class ImmuneKinetics:
    """Rates of the effector-tumour model (internal units; see the module docstring).

    Attributes:
        recruitment: s, effector inflow [cells/s].
        stimulation: p, maximal tumour-stimulated effector proliferation [1/s].
        stimulation_half: g, tumour cells of half-maximal stimulation [cells].
        inactivation: m, effector inactivation by tumour cells [1/(cell s)].
        death: d, effector death [1/s].
        growth: a, tumour growth [1/s].
        inverse_capacity: b, inverse tumour carrying capacity [1/cell].
        kill: n, tumour kill by effectors [1/(cell s)].
        suppression: S, PD-1/PD-L1 suppression of the effector functions [-].
    """

    recruitment: float
    stimulation: float
    stimulation_half: float
    inactivation: float
    death: float
    growth: float
    inverse_capacity: float
    kill: float
    suppression: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.suppression <= 1.0:
            raise ValueError(f"the PD-1/PD-L1 suppression must be in [0, 1], got {self.suppression:g}")

    def with_suppression(self, suppression: float) -> ImmuneKinetics:
        return replace(self, suppression=suppression)

    def effector_factor(self, occupancy: np.ndarray | float) -> np.ndarray | float:
        """phi = 1 - S (1 - theta): the fraction of the effector functions left by PD-1 signalling."""
        if isinstance(occupancy, float):  # the 0-D path: avoid NumPy's overhead on scalars
            return 1.0 - self.suppression * (1.0 - min(max(occupancy, 0.0), 1.0))
        return 1.0 - self.suppression * (1.0 - np.clip(occupancy, 0.0, 1.0))

    def kill_rate(self, effectors: np.ndarray | float, occupancy: np.ndarray | float) -> np.ndarray | float:
        """Per-tumour-cell kill rate phi n E [1/s]."""
        return self.effector_factor(occupancy) * self.kill * effectors

    def rates(self, e, t, occupancy: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(dE/dt, dT/dt) at the given cells and occupancy."""
        phi = self.effector_factor(occupancy)
        de = (self.recruitment + phi * self.stimulation * e * t / (self.stimulation_half + t)
              - self.inactivation * e * t - self.death * e)
        dt = self.growth * t * (1.0 - self.inverse_capacity * t) - phi * self.kill * e * t
        return de, dt

    def max_rate(self, e_max: float, t_max: float) -> float:
        """A bound of the eigenvalues' size at cells up to (e_max, t_max), for the sub-step.

        The diagonal of the Jacobian plus the geometric mean of its off-diagonal entries (the eigenvalue
        bound of the 2x2 matrix scaled to be symmetric, so the bound does not depend on the cell unit).
        """
        diagonal = (self.stimulation + self.inactivation * t_max + self.death
                    + self.growth * (1.0 + 2.0 * self.inverse_capacity * t_max) + self.kill * e_max)
        coupling = math.sqrt((self.stimulation / self.stimulation_half + self.inactivation) * e_max
                             * self.kill * t_max)
        return diagonal + coupling

    def advance(self, e: np.ndarray, t: np.ndarray, time: float, dt: float,
                occupancy: Callable[[float], float] | float = 0.0, max_increment: float = 0.02,
                substeps: int | None = None) -> int:
        """Integrate over [time, time + dt] in place (classical RK4, sub-steps of rate x step <= max_increment).

        Args:
            e, t: effector and tumour cells (NumPy arrays, changed in place, kept >= 0).
            time: start of the step [s] (the occupancy is a function of absolute time).
            dt: step [s].
            occupancy: PD-1 occupancy, a number or a function of time.
            max_increment: largest rate x sub-step.
            substeps: the number of sub-steps (None: from the largest cells of ``e`` and ``t``; a mesh
                partition passes the count of the global maxima, so every rank takes the same sub-steps).

        Returns:
            The number of sub-steps.

        Raises:
            StiffKineticsError: more than :data:`MAX_SUBSTEPS` sub-steps would be needed.
        """
        n = substeps or self.substeps(float(np.max(e, initial=0.0)), float(np.max(t, initial=0.0)), dt,
                                      max_increment)
        e[...], t[...] = self._rk4(e.copy(), t.copy(), time, dt, occupancy, n, np.maximum)
        return n

    def advance_cells(self, e: float, t: float, time: float, dt: float,
                      occupancy: Callable[[float], float] | float = 0.0,
                      max_increment: float = 0.02) -> tuple[float, float]:
        """:meth:`advance` for one pair of cell numbers (plain floats, fast): returns the new (E, T)."""
        n = self.substeps(e, t, dt, max_increment)
        return self._rk4(float(e), float(t), time, dt, occupancy, n, max)

    def substeps(self, e_max: float, t_max: float, dt: float, max_increment: float) -> int:
        """RK4 sub-steps of a step ``dt`` at cells up to (e_max, t_max).

        Raises:
            StiffKineticsError: more than :data:`MAX_SUBSTEPS`.
        """
        n = max(1, math.ceil(self.max_rate(e_max, t_max) * dt / max_increment))
        if n > MAX_SUBSTEPS:
            raise StiffKineticsError(f"the immune kinetics would need {n} sub-steps for a step of "
                                     f"{dt / 86400:.4g} day (at most {MAX_SUBSTEPS})")
        return n

    def _rk4(self, e, t, time: float, dt: float, occupancy, n: int, clip):
        theta = occupancy if callable(occupancy) else (lambda _t, c=float(occupancy): c)
        tau = dt / n
        for i in range(n):
            t0 = time + i * tau
            k1 = self.rates(e, t, theta(t0))
            k2 = self.rates(e + 0.5 * tau * k1[0], t + 0.5 * tau * k1[1], theta(t0 + 0.5 * tau))
            k3 = self.rates(e + 0.5 * tau * k2[0], t + 0.5 * tau * k2[1], theta(t0 + 0.5 * tau))
            k4 = self.rates(e + tau * k3[0], t + tau * k3[1], theta(t0 + tau))
            e = clip(e + tau / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]), 0.0)
            t = clip(t + tau / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]), 0.0)
        return e, t

    def scaled(self, e0: float = 1e6, t0: float = 1e6) -> dict[str, float]:
        """The dimensionless parameters of Kuznetsov 1994 (x = E/E0, y = T/T0, tau = n T0 t)."""
        unit = self.kill * t0
        return {"sigma": self.recruitment / (unit * e0), "rho": self.stimulation / unit,
                "eta": self.stimulation_half / t0, "mu": self.inactivation / self.kill, "delta": self.death / unit,
                "alpha": self.growth / unit, "beta": self.inverse_capacity * t0}

    def equilibria(self, occupancy: float = 0.0, t_max: float | None = None,
                   samples: int = 200_001) -> list[tuple[float, float]]:
        """Steady states (E, T) with T > 0, from the roots of the nullcline intersection.

        On dT/dt = 0 with T > 0, E = a (1 - b T) / (phi n); substituting in dE/dt = 0 gives one equation in T,
        whose sign changes are bracketed on a logarithmic grid and refined by bisection.
        """
        phi = float(self.effector_factor(occupancy))
        t_hi = t_max or 1.0 / self.inverse_capacity
        grid = np.geomspace(1e-6 * t_hi, t_hi * (1 - 1e-12), samples)

        def residual(tc):
            ec = self.growth * (1.0 - self.inverse_capacity * tc) / (phi * self.kill)
            return self.rates(ec, tc, occupancy)[0]

        values = residual(grid)
        roots = []
        for i in np.nonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)[0]:
            lo, hi = grid[i], grid[i + 1]
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if np.sign(residual(mid)) == np.sign(residual(lo)):
                    lo = mid
                else:
                    hi = mid
            tc = 0.5 * (lo + hi)
            roots.append((self.growth * (1.0 - self.inverse_capacity * tc) / (phi * self.kill), tc))
        return roots

    def jacobian(self, e: float, t: float, occupancy: float = 0.0) -> np.ndarray:
        """d(dE/dt, dT/dt)/d(E, T) at a state."""
        phi = float(self.effector_factor(occupancy))
        g = self.stimulation_half
        return np.array([
            [phi * self.stimulation * t / (g + t) - self.inactivation * t - self.death,
             phi * self.stimulation * e * g / (g + t) ** 2 - self.inactivation * e],
            [-phi * self.kill * t,
             self.growth * (1.0 - 2.0 * self.inverse_capacity * t) - phi * self.kill * e]])


def kuznetsov_1994(parameters: dict[str, float], suppression: float = 0.0) -> ImmuneKinetics:
    """The kinetics from :data:`oncotwin.defaults.immune.KUZNETSOV`-style values already in internal units."""
    return ImmuneKinetics(suppression=suppression, **parameters)
