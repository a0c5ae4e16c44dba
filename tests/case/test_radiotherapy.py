"""treatment.radiotherapy with an RTDOSE: fraction count from the RTPLAN or the schedule, coverage at load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from tests.imaging.dicom_factory import _dataset, write_rtdose

CASE = """
name: rt_plan
geometry: {kind: sphere, tumour_radius: "5 mm", host_radius: "20 mm"}
regions: {tumour: {kind: tumour}, host: {kind: normal}}
physics: {growth: {enabled: true}}
time: {end: "7 day", max_step: "1 day", min_step: "1 h", output_every: "1 day"}
treatment:
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "daily x 5", dose: rd.dcm EXTRA}
"""


def write_plan(path, fractions: int) -> None:
    ds = _dataset("1.2.840.10008.5.1.4.1.1.481.5", "RTPLAN", "1.2.3")
    group = Dataset()
    group.FractionGroupNumber, group.NumberOfFractionsPlanned = 1, fractions
    ds.FractionGroupSequence = Sequence([group])
    ds.save_as(path, enforce_file_format=True)


def case(tmp_path, origin=(-10.0, -10.0, -10.0), extra: str = ""):
    write_rtdose(tmp_path / "rd.dcm", np.full((6, 6, 6), 50.0), origin, (4.0, 4.0, 4.0))  # 20 mm cube
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace(" EXTRA", extra))
    return path


def test_grid_per_fraction_from_the_schedule_or_the_plan(tmp_path):
    rt = read_case(case(tmp_path))[0].treatment.radiotherapy
    assert np.allclose(rt.dose_grid().dose, 10.0)  # 50 Gy planned / 5 fractions
    write_plan(tmp_path / "rp.dcm", 5)
    rt = read_case(case(tmp_path, extra=", plan: rp.dcm"))[0].treatment.radiotherapy
    assert np.allclose(rt.dose_grid().dose, 10.0)


def test_plan_and_schedule_must_agree(tmp_path):
    write_plan(tmp_path / "rp.dcm", 25)
    with pytest.raises(CaseError, match=r"treatment\.radiotherapy\.plan'.*plans 25 fractions but the schedule "
                                        r"'daily x 5' gives 5"):
        read_case(case(tmp_path, extra=", plan: rp.dcm"))


def test_grid_that_misses_the_tumour_is_refused_at_load(tmp_path):
    # RAS x of the grid: -(-10 + 20) .. 10 = -10 .. 10 covers the sphere; shifted by 8 mm it misses its edge
    read_case(case(tmp_path))
    with pytest.raises(CaseError, match=r"key 'treatment\.radiotherapy\.dose'.*does not cover the tumour: \d+ of 27 "
                                        r"points of tumour"):
        read_case(case(tmp_path, origin=(-2.0, -10.0, -10.0)))


def test_an_rtstruct_is_no_rtdose(tmp_path):
    from pydicom.data import get_testdata_file

    path = case(tmp_path)
    (tmp_path / "rd.dcm").write_bytes(Path(get_testdata_file("rtstruct.dcm")).read_bytes())
    with pytest.raises(CaseError, match=r"radiotherapy\.dose'.*a DICOM RTSTRUCT file, not an RTDOSE"):
        read_case(path)
