"""Closed forms of the Fisher-Kolmogorov equation ``u_t = D u_xx + rho u (1 - u)`` in one dimension.

* The exact travelling wave of Ablowitz & Zeppetella (Bull. Math. Biol. 41:835, 1979):
  ``u = (1 + exp(sqrt(rho/(6D)) (x - c t) - s0))^(-2)`` with speed ``c = 5/sqrt(6) sqrt(D rho)``.
* Fronts from compact initial data travel at the minimal speed ``2 sqrt(D rho)`` (Kolmogorov,
  Petrovsky & Piskunov 1937) with Bramson's logarithmic delay: the position of a level set is
  ``2 sqrt(D rho) t - (3/2) sqrt(D/rho) ln t + const`` for large ``t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FisherKPP:
    """Fisher-Kolmogorov equation with diffusivity ``D`` and proliferation rate ``rho``."""

    diffusivity: float
    rate: float

    @property
    def minimal_speed(self) -> float:
        """2 sqrt(D rho): the asymptotic speed of fronts from compact initial data."""
        return 2.0 * math.sqrt(self.diffusivity * self.rate)

    @property
    def exact_wave_speed(self) -> float:
        """5/sqrt(6) sqrt(D rho): the speed of the Ablowitz-Zeppetella wave."""
        return 5.0 / math.sqrt(6.0) * math.sqrt(self.diffusivity * self.rate)

    def travelling_wave(self, x, t: float, shift: float = 0.0, m=math):
        """The exact wave at position ``x`` (NumPy array or UFL expression with ``m=ufl``) and time ``t``."""
        k = math.sqrt(self.rate / (6.0 * self.diffusivity))
        return (1.0 + m.exp(k * (x - self.exact_wave_speed * t) - shift)) ** -2

    def mean_speed_with_delay(self, t1: float, t2: float) -> float:
        """Mean front speed over [t1, t2] including Bramson's -(3/2) sqrt(D/rho) ln t delay."""
        delay = 1.5 * math.sqrt(self.diffusivity / self.rate) * math.log(t2 / t1)
        return self.minimal_speed - delay / (t2 - t1)
