"""RECIST 1.1 response of the target lesions at every scan, from the sum of longest diameters.

Eisenhauer et al., Eur J Cancer 45:228, 2009 (RECIST 1.1), target lesions only:

* **CR**: all target lesions have disappeared (sum of diameters 0; the table gives no lymph-node
  short axes, so the < 10 mm node rule does not apply);
* **PD**: the sum has increased by at least 20 % over the smallest sum on study (the nadir, baseline
  included, over the scans before this one) **and** by at least 5 mm in absolute terms;
* **PR**: at least a 30 % decrease of the sum from baseline;
* **SD**: neither.

PD is checked before PR (a lesion can be 30 % below baseline and still progressing from a deeper nadir).
The baseline is the last scan on or before day 0 (treatment start), or the first scan when all are later.
Scans of a patient's lesions are matched by day; a patient whose lesions were not all measured on a day
gets no category that day (RECIST needs every target lesion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin.series.table import Lesion

PD_RELATIVE = 0.20
PD_ABSOLUTE_MM = 5.0
PR_RELATIVE = -0.30


@dataclass(frozen=True)
class PatientScan:
    """One scan of a patient: the sum of target-lesion diameters and its RECIST category.

    Attributes:
        patient: the table's id.
        day: scan day (0 = treatment start).
        sum_mm: sum of longest diameters [mm].
        change_from_baseline: relative change of the sum from baseline.
        change_from_nadir: relative change from the nadir of the earlier scans (None at baseline).
        category: ``baseline``, ``CR``, ``PR``, ``SD`` or ``PD``.
    """

    patient: str
    day: float
    sum_mm: float
    change_from_baseline: float
    change_from_nadir: float | None
    category: str


def sum_of_diameters(lesions: list[Lesion]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per patient: the days on which every lesion was measured, and the sum of diameters [mm] then."""
    by_patient: dict[str, list[Lesion]] = {}
    for lesion in lesions:
        by_patient.setdefault(lesion.patient, []).append(lesion)
    out = {}
    for patient, group in by_patient.items():
        days = sorted(set.intersection(*(set(les.days.tolist()) for les in group)))
        sums = [sum(float(les.diameters_mm[np.flatnonzero(les.days == d)[0]]) for les in group) for d in days]
        out[patient] = (np.array(days, dtype=float), np.array(sums, dtype=float))
    return out


def categorise(days: np.ndarray, sums: np.ndarray, patient: str = "") -> list[PatientScan]:
    """RECIST 1.1 categories of one patient's series of diameter sums (see the module docstring)."""
    if len(days) == 0:
        return []
    on_or_before = np.flatnonzero(days <= 0)
    base = int(on_or_before[-1]) if on_or_before.size else 0
    baseline = float(sums[base])
    scans = []
    for i in range(len(days)):
        change = (sums[i] - baseline) / baseline if baseline > 0 else float("nan")
        if i <= base:
            scans.append(PatientScan(patient, float(days[i]), float(sums[i]), float(change), None, "baseline"))
            continue
        nadir = float(np.min(sums[base:i]))
        increase = float(sums[i]) - nadir
        from_nadir = increase / nadir if nadir > 0 else (float("inf") if increase > 0 else 0.0)
        scans.append(PatientScan(patient, float(days[i]), float(sums[i]), float(change), from_nadir,
                                 category(float(sums[i]), baseline, nadir)))
    return scans


def category(total: float, baseline: float, nadir: float) -> str:
    """The RECIST 1.1 category of a sum ``total`` given the baseline and nadir sums [mm]."""
    increase = total - nadir
    if increase >= PD_ABSOLUTE_MM and increase >= PD_RELATIVE * nadir:
        return "PD"
    if total == 0:
        return "CR"
    if baseline > 0 and (total - baseline) / baseline <= PR_RELATIVE:
        return "PR"
    return "SD"


def recist_table(lesions: list[Lesion]) -> list[PatientScan]:
    """RECIST categories at every scan of every patient of a table."""
    return [scan for patient, (days, sums) in sum_of_diameters(lesions).items()
            for scan in categorise(days, sums, patient)]


def best_response(scans: list[PatientScan]) -> str:
    """Best overall response of one patient's scans (CR > PR > SD > PD; without confirmation)."""
    order = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}
    seen = [s.category for s in scans if s.category in order]
    return min(seen, key=order.get) if seen else "NE"
