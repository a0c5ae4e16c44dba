"""Stochastic emergence of drug resistance: a branching process of resistant lineages seeded by mutation.

Sensitive cells divide at rate b and die at rate d (per day); each division makes a resistant daughter with
probability ``u n`` (point-mutation rate u per base and division, n resistance-conferring point mutations).
Resistant cells keep b and d under therapy; sensitive cells die at d' > b during it. A resistant lineage
founded by one cell survives (escapes extinction) with probability s = 1 - d/b.

Closed forms (lesion of M cells at the start of therapy, M >> 1, u n << 1):

* resistant cells present at detection (Iwasa Y, Nowak MA, Michor F. Genetics 2006;172:2557):
  ``P = 1 - exp(M u n log(s) / (1 - s))``;
* expected resistant cells at detection (Bozic et al. eLife 2013;2:e00747, X ~ M n mu with
  mu = (u / s) log(M s));
* no surviving resistant lineage arose before therapy: ``exp(-M u n)`` (Komarova & Wodarz 2005, quoted by
  Bozic et al. 2013); none arose during therapy up to day D (sensitive cells decline as M exp(-delta t),
  delta = d' - b): ``exp(-M u n b s (1 - exp(-delta D)) / delta)`` (after Michor et al. 2006; D -> inf
  gives the formula of Bozic et al. 2013).

P(resistance emerges by day D) is one minus the product of the last two. Values of Bozic et al. 2013
(typical lesion dynamics of 68 melanoma lesions under vemurafenib, and their Fig. 2): b = 0.14 1/day,
d = 0.13 1/day, u = 1e-9, n = 50, d' = b + 0.03 1/day, M = 1e8-1e10 cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOZIC_2013 = "Bozic et al., eLife 2013;2:e00747 (Results and Fig. 2)"


@dataclass(frozen=True)
class ResistanceParameters:
    """Rates of the branching process (per day) and the mutation supply.

    Attributes:
        birth: b, divisions per cell and day (sensitive and resistant cells).
        death: d, deaths per cell and day before therapy (and of resistant cells during it).
        death_treated: d', deaths per sensitive cell and day during therapy.
        mutation_rate: u, per base and division.
        n_mutations: n, point mutations that confer resistance.
        source: where the values come from.
    """

    birth: float = 0.14
    death: float = 0.13
    death_treated: float = 0.17
    mutation_rate: float = 1e-9
    n_mutations: int = 50
    source: str = BOZIC_2013

    def __post_init__(self):
        if not (0 <= self.death < self.birth < self.death_treated):
            raise ValueError("need 0 <= d < b < d' (growing lesion before therapy, shrinking sensitive cells "
                             f"during it); got b={self.birth:g}, d={self.death:g}, d'={self.death_treated:g}")
        if not (0 < self.mutation_rate * self.n_mutations < 1):
            raise ValueError("u n must be in (0, 1)")

    @property
    def survival(self) -> float:
        """s = 1 - d/b, the probability that a resistant lineage founded by one cell escapes extinction."""
        return 1.0 - self.death / self.birth

    @property
    def resistance_rate(self) -> float:
        """u n: probability that a division makes a resistant daughter."""
        return self.mutation_rate * self.n_mutations


def p_resistant_at_detection(cells: float, p: ResistanceParameters) -> float:
    """Probability that resistant cells exist when the lesion reaches ``cells`` (Iwasa et al. 2006)."""
    s = p.survival
    return -math.expm1(cells * p.resistance_rate * math.log(s) / (1.0 - s))


def expected_resistant_cells(cells: float, p: ResistanceParameters) -> float:
    """Expected resistant cells at detection, X ~ M n (u / s) log(M s) (Bozic et al. 2013)."""
    s = p.survival
    return cells * p.resistance_rate / s * math.log(cells * s)


def p_emergence(cells: float, days: np.ndarray | float, p: ResistanceParameters) -> np.ndarray:
    """P(a surviving resistant lineage exists by day ``days`` of therapy) for a lesion of ``cells`` at day 0."""
    days = np.asarray(days, dtype=float)
    delta = p.death_treated - p.birth
    before = cells * p.resistance_rate
    during = cells * p.resistance_rate * p.birth * p.survival * -np.expm1(-delta * days) / delta
    return -np.expm1(-(before + during))


def gillespie_emergence(cells: int, days: float, p: ResistanceParameters, runs: int, seed: int,
                        established: int = 100) -> tuple[float, float]:
    """Monte Carlo check of :func:`p_emergence`: fraction of runs in which resistance establishes.

    Each run grows a lesion from one sensitive cell to ``cells`` (exact stochastic simulation, runs in which
    the lesion dies out are restarted), treats it for ``days``, and counts resistance as emerged when a
    resistant lineage born by then reaches ``established`` cells (it then escapes extinction with
    probability 1 - (d/b)^established ~ 1). Small sizes only (pure Python).

    Returns:
        (fraction, standard error).
    """
    rng = np.random.default_rng(seed)
    hits = sum(_one_run(cells, days, p, rng, established) for _ in range(runs))
    fraction = hits / runs
    return fraction, math.sqrt(max(fraction * (1 - fraction), 1.0 / runs) / runs)


def _one_run(cells: int, days: float, p: ResistanceParameters, rng: np.random.Generator, established: int) -> bool:
    b, d, un = p.birth, p.death, p.resistance_rate
    while True:  # pre-treatment growth to the detection size, restarting extinct lesions
        sens, res, t = 1, 0, 0.0
        while 0 < sens < cells and res < established:
            total = (b + d) * (sens + res)
            t += rng.exponential(1.0 / total)
            x = rng.random() * total
            if x < b * sens:
                if rng.random() < un:
                    res += 1
                else:
                    sens += 1
            elif x < (b + d) * sens:
                sens -= 1
            elif x < (b + d) * sens + b * res:
                res += 1
            else:
                res -= 1
        if res >= established:
            return True
        if sens >= cells:
            break
    t, d_treated = 0.0, p.death_treated
    while res < established and (sens > 0 or res > 0):
        rates = (b * sens, d_treated * sens, b * res, d * res)
        total = sum(rates)
        t += rng.exponential(1.0 / total)
        if t > days and sens > 0:
            if res == 0:
                return False
            sens = 0  # lineages born later do not count; the sensitive cells no longer matter
            rates = (0.0, 0.0, b * res, d * res)
            total = sum(rates)
        x = rng.random() * total
        if x < rates[0]:
            if rng.random() < un:
                res += 1
            else:
                sens += 1
        elif x < rates[0] + rates[1]:
            sens -= 1
        elif x < rates[0] + rates[1] + rates[2]:
            res += 1
        else:
            res -= 1
    return res >= established
