"""The outcome of one run from its metrics table: volume response category, progression and exposure.

Shared by ``compare`` (one run per regimen) and ``forecast`` (one run per regimen and posterior sample).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from oncotwin.case.regimens import ResponseThresholds
from oncotwin.model.immune import immune_response


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.csv`` as floats (empty cells: NaN)."""
    with open(path) as fh:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in r.items()} for r in csv.DictReader(fh)]


def time_to_progression(days: list[float], volumes: list[float], progression: float,
                        min_measurable: float) -> float | None:
    """First day the volume exceeds (1 + progression) x max(running nadir, min_measurable), or ``None``.

    The nadir is the smallest volume up to the previous output; the crossing day is interpolated linearly
    between the two outputs around it, so it is not quantised to the output interval.
    """
    nadir = math.inf
    for i, (day, volume) in enumerate(zip(days, volumes, strict=True)):
        if i > 0:
            threshold = (1 + progression) * max(nadir, min_measurable)
            if volume > threshold:
                before, when = volumes[i - 1], days[i - 1]
                if before >= threshold:  # already above at the previous output (cannot be, kept for safety)
                    return when
                return when + (threshold - before) / (volume - before) * (day - when)
        nadir = min(nadir, volume)
    return None


def regimen_metrics(rows: list[dict[str, float]], drugs: list[str], response: ResponseThresholds) -> dict:
    """Outcome and exposure of one regimen from its metrics rows (``response.volume`` resolved, not ``auto``)."""
    key = response.volume
    if key == "auto":
        raise ValueError("response.volume 'auto' must be resolved against the case (case.regimens.response_volume)")
    days = [r["time_day"] for r in rows]
    volumes = [r.get(key, math.nan) for r in rows]
    baseline, final = volumes[0], volumes[-1]
    progression_day = time_to_progression(days, volumes, response.progression, response.min_measurable_volume)
    change = final / baseline - 1 if baseline > 0 else math.nan
    reference = max(min(volumes), response.min_measurable_volume)
    if final <= response.complete * baseline:
        category = "CR"
    elif final > (1 + response.progression) * reference:
        category = "PD"
    elif change <= response.partial:
        category = "PR"
    else:
        category = "SD"
    last = rows[-1]

    def per_drug(column: str, reduce=lambda values: values[-1]) -> dict[str, float]:
        return {d: reduce([r.get(column.format(d=d), math.nan) for r in rows]) for d in drugs}

    return {
        "baseline_tumour_volume_mm3": baseline,
        "final_tumour_volume_mm3": final,
        "min_tumour_volume_mm3": min(volumes),
        "percent_change": 100 * change,
        "time_to_progression_day": progression_day,
        "response": category,
        "final_tumour_cells": last.get("tumour_cells", math.nan),
        "final_viable_volume_mm3": last.get("viable_volume_mm3", math.nan),
        "normal_auc_mg_h_per_L": per_drug("{d}_normal_auc_mean_mg_h_per_L"),
        "normal_cmax_mg_per_L": per_drug("{d}_normal_cmax_max_mg_per_L", max),
        "tumour_auc_mg_h_per_L": per_drug("{d}_tumour_auc_mean_mg_h_per_L"),
        "resistant_fraction_final": last.get("resistant_fraction", math.nan),
        "hypoxic_fraction_final": last.get("hypoxic_fraction", math.nan),
        **immune_columns(rows),
    }


def immune_columns(rows: list[dict[str, float]]) -> dict:
    """Response under immunotherapy (lesion cells, iRECIST-style), final PD-1 occupancy and immune/tumour
    ratio of a run with the T-cell field; nothing without it."""
    category = immune_response(rows)
    if category is None:
        return {}
    return {"immune_response": category, "pd1_occupancy_final": rows[-1]["pd1_occupancy"],
            "immune_tumour_ratio_final": rows[-1]["immune_tumour_ratio"]}
