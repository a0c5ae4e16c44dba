"""Lesion tables: both layouts, the volume rule against the data set, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.errors import CaseError
from oncotwin.series.registry import get_model
from oncotwin.series.table import check_forecastable, read_table
from oncotwin.series.volume import SPHERE_FACTOR, volume_from_diameter


def write(tmp_path, text: str):
    path = tmp_path / "lesions.csv"
    path.write_text(text)
    return path


def test_long_form_days_units_and_volume(tmp_path):
    path = write(tmp_path, "patient,lesion,day,diameter_cm\nP1,a,-7,2.0\nP1,a,42,1.5\nP1,b,-7,1.0\nP1,b,42,1.2\n")
    lesions = read_table(path)
    assert [les.key for les in lesions] == ["P1/a", "P1/b"]
    np.testing.assert_allclose(lesions[0].diameters_mm, [20.0, 15.0])
    np.testing.assert_allclose(lesions[0].volumes_mm3, SPHERE_FACTOR * np.array([20.0, 15.0]) ** 3)
    np.testing.assert_allclose(lesions[1].days, [-7, 42])


def test_long_form_dates_and_unit_column(tmp_path):
    path = write(tmp_path, "patient,date,diameter,unit,volume_mm3\nP1,2024-01-01,10,mm,\nP1,2024-02-12,8,mm,300\n")
    (lesion,) = read_table(path)
    np.testing.assert_allclose(lesion.days, [0, 42])
    np.testing.assert_allclose(lesion.volumes_mm3, [volume_from_diameter(10.0), 300.0])


@pytest.mark.parametrize(("text", "expected"), [
    ("patient,day,diameter_mm\nP1,0,10\nP1,0,11\n", "lesions.csv:3: key 'day': got '0'; scan times must increase"),
    ("patient,date,diameter_mm\nP1,2024-03-01,10\nP1,2024-02-01,9\n", "lesions.csv:3: key 'date': got '2024-02-01'"),
    ("patient,day,diameter_mm\nP1,0,10\nP1,40,-2\n", "lesions.csv:3: key 'diameter_mm': got '-2'; a diameter must be >= 0"),
    ("patient,day,diameter,unit\nP1,0,10,mm\nP1,40,1.1,cm\n", ("lesions.csv:3: key 'unit': got 'cm'; mixed units: "
                                                               "line 2 uses mm")),
    ("patient,day,diameter\nP1,0,10\n", "key 'diameter': got 'diameter'; the diameter needs a unit"),
    ("patient,day,diameter_furlong\nP1,0,10\n", "key 'diameter_furlong': got 'furlong'; unknown length unit"),
    ("patient,day,diameter_mm\nP1,0,ten\n", "lesions.csv:2: key 'diameter_mm': got 'ten'; expected a number"),
])
def test_bad_input_is_one_line(tmp_path, text, expected):
    with pytest.raises(CaseError) as info:
        read_table(write(tmp_path, text))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_one_reading_cannot_be_forecast(tmp_path):
    path = write(tmp_path, "patient,day,diameter_mm\nP1,0,10\nP1,40,9\nP2,0,10\n")
    lesions = read_table(path)
    with pytest.raises(CaseError, match=r"lesions.csv:4: key 'lesion': got 'P2/1'; has 1 reading\(s\)"):
        check_forecastable(lesions, path)


def test_unknown_model_name():
    with pytest.raises(CaseError, match="key 'model': got 'gompertzz'; unknown model; allowed: exponential"):
        get_model("gompertzz")


@pytest.mark.data
def test_volume_rule_reproduces_the_data_set(data_dir):
    lesions = read_table(data_dir / "laleh2022_lesions" / "lesions.csv", strict=False)
    assert len(lesions) == 765
    for lesion in lesions:
        # Lesion_vol is given to 2 decimals
        np.testing.assert_allclose(volume_from_diameter(lesion.diameters_mm), lesion.volumes_mm3, atol=0.006)
    assert sum(bool(les.problem) for les in lesions) == 8  # the table's own non-increasing T_days


@pytest.mark.data
def test_strict_reading_refuses_the_non_increasing_series(data_dir):
    with pytest.raises(CaseError, match=r"lesions.csv:83: key 'T_days': got '37'; scan times must increase"):
        read_table(data_dir / "laleh2022_lesions" / "lesions.csv")


def test_dates_count_from_start_date_or_the_patients_first_scan(tmp_path):
    path = write(tmp_path, "patient,lesion,date,diameter_mm,start_date\n"
                           "P1,a,2024-01-10,10,\nP1,b,2024-01-03,5,\nP1,b,2024-02-01,4,\nP1,a,2024-02-01,9,\n"
                           "P2,a,2024-01-01,10,2024-01-15\nP2,a,2024-03-01,9,\n")
    days = {les.key: les.days.tolist() for les in read_table(path)}
    assert days == {"P1/a": [7, 29], "P1/b": [0, 29], "P2/a": [-14, 46]}
