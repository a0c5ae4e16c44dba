"""RTDOSE reading: scaling, frame offsets (relative and absolute), affine, coverage and refused files."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from oncotwin.core.errors import InputDataError
from oncotwin.imaging.rtdose import read_rtdose
from tests.imaging.dicom_factory import dose_on_grid, write_rtdose

ORIGIN = (-55.0, 10.0, 96.0)  # LPS mm
SPACING = (2.5, 3.0, 4.0)
SHAPE = (25, 5, 4)


def field(x, y, z):
    return 1.0 + 0.5 * x - 0.25 * y + 0.1 * z  # linear: trilinear interpolation is exact


@pytest.mark.parametrize("absolute", [False, True])
def test_dose_at_world_points(tmp_path, absolute):
    path = write_rtdose(tmp_path / "rd.dcm", dose_on_grid(field, ORIGIN, SPACING, SHAPE) + 40.0, ORIGIN, SPACING,
                        absolute_offsets=absolute)
    grid = read_rtdose(path, "treatment.radiotherapy.dose")
    assert grid.dose.shape == SHAPE and not grid.per_fraction
    rng = np.random.default_rng(1)
    ras = np.c_[rng.uniform(5, 55, 50), rng.uniform(-22, -10, 50), rng.uniform(96, 108, 50)]
    assert np.allclose(grid.sample(ras), field(*ras.T) + 40.0, rtol=1e-6)
    outside = np.array([[-7.0, -15.0, 100.0], [30.0, -15.0, 111.0]])  # RAS x -5..55 and z 96..108, + half a voxel
    assert not grid.covers(outside).any() and np.isnan(grid.sample(outside)).all()


def test_fraction_summation_is_flagged(tmp_path):
    path = write_rtdose(tmp_path / "rd.dcm", np.ones((2, 3, 4)), ORIGIN, SPACING, summation="FRACTION")
    assert read_rtdose(path, "k").per_fraction


def test_relative_dose_and_other_objects_are_refused():
    with pytest.raises(InputDataError, match="DoseUnits RELATIVE; an absolute dose in GY is required"):
        read_rtdose(get_testdata_file("rtdose.dcm"), "treatment.radiotherapy.dose")
    with pytest.raises(InputDataError, match="a DICOM RTSTRUCT file, not an RTDOSE"):
        read_rtdose(get_testdata_file("rtstruct.dcm"), "treatment.radiotherapy.dose")
