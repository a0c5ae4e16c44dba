"""Lyman-Kutcher-Burman normal-tissue complication probability from a dose per point.

NTCP = Phi((gEUD - TD50) / (m TD50)), gEUD = (sum_i v_i D_i^(1/n))^n with v_i the fractional volumes
(Lyman JT, Radiat Res Suppl 1985;8:S13; Kutcher GJ, Burman C, Int J Radiat Oncol Biol Phys 1989;16:1623;
gEUD form: Niemierko A, Med Phys 1999;26:1100). The organ parameters are those fitted by Burman C, Kutcher GJ,
Emami B, Goitein M, Int J Radiat Oncol Biol Phys 1991;21:123 (Table II) to the tolerance doses of Emami et al.
1991, i.e. for conventional 2-Gy fractions: give EQD2 (alpha/beta ~3 Gy for late effects) for other
fractionations (:func:`oncotwin.outcomes.dvh.eqd2`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.special import ndtr

from oncotwin.core.errors import OncotwinError

BURMAN_1991 = "Burman et al., Int J Radiat Oncol Biol Phys 1991;21:123 (Table II)"


class UnknownOrganError(OncotwinError):
    """An organ without LKB parameters in :data:`ORGANS` (the message lists those with)."""


@dataclass(frozen=True)
class LkbParameters:
    """LKB parameters of one organ and end point.

    Attributes:
        organ: organ key.
        endpoint: the complication.
        td50: uniform whole-organ dose with 50 % complication probability [Gy].
        m: slope parameter (SD of the probit relative to TD50).
        n: volume-effect parameter (1: mean dose, -> 0: maximum dose).
        source: citation.
    """

    organ: str
    endpoint: str
    td50: float
    m: float
    n: float
    source: str = BURMAN_1991


ORGANS: Mapping[str, LkbParameters] = MappingProxyType({p.organ: p for p in (
    LkbParameters("brain", "necrosis/infarction", 60.0, 0.15, 0.25),
    LkbParameters("brainstem", "necrosis/infarction", 65.0, 0.14, 0.16),
    LkbParameters("spinal_cord", "myelitis/necrosis", 66.5, 0.175, 0.05),
    LkbParameters("optic_chiasm", "blindness", 65.0, 0.14, 0.25),
    LkbParameters("lung", "pneumonitis", 24.5, 0.18, 0.87),
    LkbParameters("heart", "pericarditis", 48.0, 0.10, 0.35),
    LkbParameters("esophagus", "clinical stricture/perforation", 68.0, 0.11, 0.06),
    LkbParameters("liver", "liver failure", 40.0, 0.15, 0.32),
    LkbParameters("kidney", "clinical nephritis", 28.0, 0.10, 0.70),
    LkbParameters("rectum", "severe proctitis/necrosis/stenosis/fistula", 80.0, 0.15, 0.12),
)})


def organ_parameters(organ: str) -> LkbParameters:
    """LKB parameters of ``organ``.

    Raises:
        UnknownOrganError: no parameters for this organ (lists the organs with).
    """
    key = str(organ).strip().lower().replace(" ", "_")
    if key not in ORGANS:
        raise UnknownOrganError(f"no LKB NTCP parameters for organ {organ!r}; organs with them: "
                                f"{', '.join(sorted(ORGANS))}")
    return ORGANS[key]


def geud(dose: np.ndarray, weights: np.ndarray, n: float) -> float:
    """Generalised equivalent uniform dose [Gy] with volume parameter ``n``."""
    dose, weights = np.asarray(dose, dtype=float).ravel(), np.asarray(weights, dtype=float).ravel()
    if not n > 0 or dose.shape != weights.shape or not weights.sum() > 0:
        raise ValueError("n must be > 0 and dose, weights non-empty arrays of one shape with a positive volume")
    v = weights / weights.sum()
    a = 1.0 / n
    peak = float(dose.max())
    if peak == 0:
        return 0.0
    return peak * float(np.sum(v * (dose / peak) ** a)) ** n  # scaled by the peak against overflow


def ntcp_lkb(dose: np.ndarray, weights: np.ndarray, params: LkbParameters) -> float:
    """NTCP of a region from its dose per point [Gy] (2-Gy-fraction equivalent) and volume weights."""
    t = (geud(dose, weights, params.n) - params.td50) / (params.m * params.td50)
    return float(ndtr(t))
