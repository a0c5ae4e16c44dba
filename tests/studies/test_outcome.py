"""Response categories and progression from a metrics table: RANO minimum measurable volume, interpolation."""

import math

import pytest

from oncotwin.case.regimens import MIN_MEASURABLE_VOLUME_MM3, ResponseThresholds
from oncotwin.studies.outcome import regimen_metrics, time_to_progression


def rows(days, volumes):
    return [{"time_day": d, "tumour_volume_mm3": v, "tumour_cells": 1e6} for d, v in zip(days, volumes, strict=True)]


def test_min_measurable_volume_is_the_10_mm_sphere():
    assert MIN_MEASURABLE_VOLUME_MM3 == pytest.approx(math.pi / 6 * 1000)
    assert ResponseThresholds().min_measurable_volume == pytest.approx(523.6, abs=0.1)


def test_regrowth_of_a_vanished_tumour_is_progression_only_once_measurable():
    r = ResponseThresholds(volume="tumour_volume_mm3")
    # nadir 0, regrowth to 300 mm^3: below the measurable 524 mm^3, not progression
    m = regimen_metrics(rows([0, 7, 14, 21], [2000.0, 0.0, 100.0, 300.0]), [], r)
    assert m["time_to_progression_day"] is None and m["response"] != "PD"
    # regrowth to 1000 mm^3 exceeds 1.4 x 524 = 733 mm^3: progression, interpolated between day 14 and 21
    m = regimen_metrics(rows([0, 7, 14, 21], [2000.0, 0.0, 100.0, 1000.0]), [], r)
    assert m["response"] == "PD"
    expected = 14 + (1.4 * MIN_MEASURABLE_VOLUME_MM3 - 100.0) / 900.0 * 7
    assert m["time_to_progression_day"] == pytest.approx(expected)


def test_time_to_progression_is_interpolated_not_quantised():
    days, volumes = [0.0, 10.0, 20.0], [1000.0, 1000.0, 2000.0]
    # threshold 1400 crossed 40 % of the way from day 10 to 20
    assert time_to_progression(days, volumes, 0.4, 1.0) == pytest.approx(14.0)
    assert time_to_progression(days, [1000.0, 900.0, 1000.0], 0.4, 1.0) is None


def test_categories_still_follow_the_thresholds():
    r = ResponseThresholds(volume="tumour_volume_mm3")
    assert regimen_metrics(rows([0, 7], [2000.0, 10.0]), [], r)["response"] == "CR"
    assert regimen_metrics(rows([0, 7], [2000.0, 600.0]), [], r)["response"] == "PR"
    assert regimen_metrics(rows([0, 7], [2000.0, 2100.0]), [], r)["response"] == "SD"
    assert regimen_metrics(rows([0, 7], [2000.0, 3000.0]), [], r)["response"] == "PD"
