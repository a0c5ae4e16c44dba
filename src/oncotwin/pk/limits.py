"""Cumulative (lifetime) dose limits that clinicians use as hard constraints, with sources.

A limit is in mg/m^2 of body surface area summed over every administration of the drug (prior courses
can be added by the caller). Drugs without an established lifetime limit are absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class CumulativeLimit:
    """A lifetime dose limit.

    Attributes:
        drug: library name.
        mg_per_m2: the limit usually applied.
        range_mg_per_m2: the range quoted by the sources.
        reason: the toxicity the limit guards against.
        source: citations.
    """

    drug: str
    mg_per_m2: float
    range_mg_per_m2: tuple[float, float]
    reason: str
    source: str


CUMULATIVE_LIMITS: Mapping[str, CumulativeLimit] = MappingProxyType({
    # Congestive heart failure rises steeply above 550 mg/m^2 (Von Hoff DD et al., Ann Intern Med
    # 1979;91:710: 4 % at 500-550, 18 % at 551-600 mg/m^2); 450 mg/m^2 is the lower limit used with risk
    # factors (prior mediastinal radiotherapy, cyclophosphamide); Swain SM et al., Cancer 2003;97:2869.
    "doxorubicin": CumulativeLimit("doxorubicin", 550.0, (450.0, 550.0), "cardiomyopathy / heart failure",
                                   "Von Hoff et al., Ann Intern Med 1979;91:710; Swain et al., Cancer 2003;97:2869"),
})


def cumulative_limit(drug: str) -> CumulativeLimit | None:
    """The lifetime limit of ``drug`` (case-insensitive), ``None`` if it has none."""
    return CUMULATIVE_LIMITS.get(str(drug).strip().lower())
