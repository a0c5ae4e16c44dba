"""Tumour-growth-inhibition metrics of a fitted series, for the survival models of the outcomes module.

The week-8 change is the relative change of the sum of target-lesion diameters from baseline to day 56
of treatment, read off the fitted model (Claret et al., J Clin Oncol 27:4103, 2009 and Wang et al., Clin
Pharmacol Ther 86:167, 2009 use the model-predicted week-8 change in tumour size as the survival
predictor). Each lesion's model volume is turned back into a diameter with the rule of
:mod:`oncotwin.series.volume`; the patient's sum runs over its lesions. The observed change at day 56 (linear
interpolation of the measured sums, when day 56 lies between two scans) is given beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from oncotwin.series.table import Lesion
from oncotwin.series.volume import diameter_from_volume

WEEK8_DAY = 56.0


@dataclass(frozen=True)
class TgiMetrics:
    """Tumour-growth-inhibition metrics of one patient.

    Attributes:
        patient: the table's id.
        lesions: number of lesions summed.
        baseline_day: the baseline scan day (last scan on or before day 0, else the first).
        baseline_sum_mm: model sum of diameters at baseline [mm].
        week8_sum_mm: model sum of diameters at day 56 [mm].
        week8_change: (week8 - baseline) / baseline (model) [-].
        week8_change_p5, week8_change_p95: its 90 % band over the Laplace draws (None without bands).
        observed_week8_change: the measured change interpolated at day 56, or None when no scans bracket it.
    """

    patient: str
    lesions: int
    baseline_day: float
    baseline_sum_mm: float
    week8_sum_mm: float
    week8_change: float
    week8_change_p5: float | None
    week8_change_p95: float | None
    observed_week8_change: float | None

    def as_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def baseline_day(days: np.ndarray) -> float:
    """The baseline scan: the last on or before day 0, else the first."""
    before = days[days <= 0]
    return float(before[-1]) if before.size else float(days[0])


def week8_metrics(lesions: list[Lesion], volumes_at: dict[str, np.ndarray],
                  band_at: dict[str, np.ndarray] | None = None) -> list[TgiMetrics]:
    """Week-8 metrics per patient.

    Args:
        lesions: the lesions (every lesion of a patient is summed).
        volumes_at: per lesion key, the model volume [mm^3] at (baseline day, day 56).
        band_at: per lesion key, model volume draws (D x 2) at the same two days, for the band.
    """
    by_patient: dict[str, list[Lesion]] = {}
    for lesion in lesions:
        by_patient.setdefault(lesion.patient, []).append(lesion)
    out = []
    for patient, group in by_patient.items():
        base, week8 = (sum(float(diameter_from_volume(volumes_at[les.key][i])) for les in group) for i in (0, 1))
        change = (week8 - base) / base if base > 0 else float("nan")
        p5 = p95 = None
        if band_at is not None:
            draws = sum(diameter_from_volume(band_at[les.key]) for les in group)
            ratios = (draws[:, 1] - draws[:, 0]) / np.where(draws[:, 0] > 0, draws[:, 0], np.nan)
            p5, p95 = (float(np.nanpercentile(ratios, q)) for q in (5, 95))
        out.append(TgiMetrics(patient, len(group), baseline_day(group[0].days), base, week8, change, p5, p95,
                              _observed_change(group)))
    return out


def _observed_change(group: list[Lesion]) -> float | None:
    days = group[0].days
    if not all(np.array_equal(les.days, days) for les in group) or not days[0] <= WEEK8_DAY <= days[-1]:
        return None
    sums = np.sum([les.diameters_mm for les in group], axis=0)
    base = sums[days == baseline_day(days)][0]
    return float((np.interp(WEEK8_DAY, days, sums) - base) / base) if base > 0 else None
