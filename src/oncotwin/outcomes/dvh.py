"""Dose-volume histograms and fractionation-corrected doses from a dose per point.

Array API: ``dose`` [Gy] is the total physical dose at each point (mesh vertex, cell or voxel) and
``weights`` [mm^3] the volume each point stands for. A uniform prescription is one value repeated; a DICOM
RT dose map sampled at the points is the same call.

* BED = D (1 + d / (alpha/beta)) with d = D / n the dose per fraction (Fowler JF, Br J Radiol 1989;62:679);
* EQD2 = BED / (1 + 2 Gy / (alpha/beta)) (Withers HR et al., Int J Radiat Oncol Biol Phys 1983;9:1);
* D_x: the minimum dose received by the hottest x % of the volume (D95, D2; ICRU Report 83, 2010).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _checked(dose: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dose, weights = np.asarray(dose, dtype=float).ravel(), np.asarray(weights, dtype=float).ravel()
    if dose.shape != weights.shape or dose.size == 0:
        raise ValueError(f"dose and weights must be non-empty arrays of one shape, got {dose.shape} and "
                         f"{weights.shape}")
    if np.any(dose < 0) or np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError("doses and volume weights must be >= 0 with a positive total volume")
    return dose, weights


def bed(dose: np.ndarray | float, n_fractions: int, alpha_beta: float) -> np.ndarray:
    """Biologically effective dose [Gy] of ``dose`` given in ``n_fractions`` equal fractions."""
    dose = np.asarray(dose, dtype=float)
    if n_fractions < 1 or not alpha_beta > 0:
        raise ValueError("n_fractions must be >= 1 and alpha/beta > 0")
    return dose * (1.0 + dose / n_fractions / alpha_beta)


def eqd2(dose: np.ndarray | float, n_fractions: int, alpha_beta: float) -> np.ndarray:
    """Equivalent dose in 2-Gy fractions [Gy]."""
    return bed(dose, n_fractions, alpha_beta) / (1.0 + 2.0 / alpha_beta)


def dose_at_volume(dose: np.ndarray, weights: np.ndarray, percent: float) -> float:
    """D_x [Gy]: the largest dose d such that at least ``percent`` % of the volume receives >= d."""
    dose, weights = _checked(dose, weights)
    order = np.argsort(dose)[::-1]
    cumulative = np.cumsum(weights[order]) / weights.sum()
    index = int(np.searchsorted(cumulative, percent / 100.0 - 1e-12))
    return float(dose[order][min(index, dose.size - 1)])


@dataclass(frozen=True)
class Dvh:
    """Cumulative DVH of one region: the fraction of its volume receiving at least each dose.

    Attributes:
        dose_bins: doses [Gy], ascending from 0.
        volume_fraction: fraction of the volume with dose >= each bin.
        volume_mm3: the region's volume.
        mean: mean dose [Gy].
        d95, d2: D95 and D2 [Gy].
        max: maximum dose [Gy].
    """

    dose_bins: np.ndarray
    volume_fraction: np.ndarray
    volume_mm3: float
    mean: float
    d95: float
    d2: float
    max: float

    def summary(self) -> dict:
        return {"volume_mm3": self.volume_mm3, "mean_Gy": self.mean, "D95_Gy": self.d95, "D2_Gy": self.d2,
                "max_Gy": self.max}


def dvh(dose: np.ndarray, weights: np.ndarray, bin_width: float = 0.1) -> Dvh:
    """The cumulative DVH and its usual numbers from doses per point and volume weights."""
    dose, weights = _checked(dose, weights)
    top = float(dose.max())
    bins = np.arange(0.0, top + bin_width, bin_width)
    order = np.argsort(dose)
    sorted_dose, cumulative = dose[order], np.cumsum(weights[order][::-1])[::-1]
    index = np.searchsorted(sorted_dose, bins, side="left")
    fraction = np.where(index < dose.size, cumulative[np.minimum(index, dose.size - 1)], 0.0) / weights.sum()
    return Dvh(bins, fraction, float(weights.sum()), float(np.average(dose, weights=weights)),
               dose_at_volume(dose, weights, 95.0), dose_at_volume(dose, weights, 2.0), top)
