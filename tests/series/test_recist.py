"""RECIST 1.1 categories against hand-computed ones (10 + 1 patients of the Laleh data, and synthetic sums)."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.series.recist import categorise, category, recist_table
from oncotwin.series.table import read_table

B = "baseline"
# Categories computed by hand from the diameters of the lesion on each line of lesions.csv (one target
# lesion per patient there): baseline = the scan before day 0; PD = +20 % and +5 mm over the nadir of the
# earlier scans; PR = -30 % from baseline; CR = 0 mm.
HAND = {
    2: [B, "SD", "SD", "SD", "PR", "PR", "PD"],          # 13,11,10,10,5,7,10: 7 is +2 mm over 5 (not PD), 10 is +5
    77: [B, "SD", "PR", "CR", "CR", "CR"],               # 12,9,3,0,0,0
    152: [B, "PR", "PR", "PR", "PR", "PD"],              # 31.5 ... 11.4, 17.3 (+5.9 mm, +52 %)
    227: [B, "SD", "PD"],                                # 26,26,32 (+6 mm, +23 %)
    302: [B, "SD", "PR"],                                # 20,15,14 (exactly -30 %)
    377: [B, "SD", "SD", "SD", "SD", "SD"],              # 43 ... 31.7 (-26 %)
    452: [B, "PR", "PR", "CR", "CR", "CR", "CR"],        # 11,7,7,0,0,0,0
    527: [B, "SD", "SD", "SD", "SD", "PD", "PD", "PD"],  # 75,58,60,58,58,70 (+12 mm, +20.7 %),72,72
    602: [B, "SD", "PD"],                                # 22.2,25.5 (+3.3 mm only),63.2
    677: [B, "SD", "PR", "PR", "PR", "PR", "PR", "PR", "PR", "PR"],  # 51,37,21,...,19,20,22 (+3 mm)
    752: [B, "SD", "SD", "SD", "SD", "SD", "SD"],        # 42,48 (+6 mm but +14 %: not PD),37,...,30 (-28.6 %)
}


@pytest.mark.data
def test_categories_match_hand_computed_ones(data_dir):
    lesions = read_table(data_dir / "laleh2022_lesions" / "lesions.csv", strict=False)
    by_line = {les.lines[0]: les for les in lesions}
    for line, expected in HAND.items():
        scans = recist_table([by_line[line]])
        assert [s.category for s in scans] == expected, line


def test_sum_over_lesions_and_absolute_rule(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("patient,lesion,day,diameter_mm\n" + "".join(
        f"P,{les},{day},{d}\n" for les, series in {"a": [10, 4, 6], "b": [10, 4, 5]}.items()
        for day, d in zip([-5, 40, 80], series, strict=True)))
    scans = recist_table(read_table(path))
    assert [s.sum_mm for s in scans] == [20, 8, 11]
    assert [s.category for s in scans] == [B, "PR", "PR"]  # +3 mm over the nadir 8 (+37 %): not PD


def test_pd_checked_before_pr_and_reappearance_after_cr():
    assert category(total=65.0, baseline=100.0, nadir=50.0) == "PD"  # -35 % from baseline but +30 % over nadir
    scans = categorise(np.array([0.0, 40.0, 80.0]), np.array([10.0, 0.0, 6.0]))
    assert [s.category for s in scans] == [B, "CR", "PD"]
