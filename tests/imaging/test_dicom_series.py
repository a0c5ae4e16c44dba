"""DICOM series geometry: slice sorting, the RAS affine of non-square pixels, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.errors import InputDataError
from oncotwin.imaging.dicom_series import read_series
from tests.imaging.dicom_factory import Series, write_rtstruct


@pytest.fixture
def series(tmp_path):
    # non-square pixels (0.8 mm columns, 1.25 mm rows) and slices written in shuffled order
    return Series(tmp_path / "ct", (6, 5, 4), (0.8, 1.25, 2.5), (-10.0, 20.0, -30.0), order=[2, 0, 3, 1])


def test_affine_maps_voxels_to_ras_world(series):
    image = read_series(series.folder, "geometry.series")
    assert image.shape == (6, 5, 4)
    assert image.sop_uids == tuple(series.sop_uids)  # sorted along the slice normal
    for column, row, k in [(0, 0, 0), (5, 4, 3), (2, 1, 2)]:
        lps = series.world_lps(column, row, k)
        ras = image.affine @ np.array([column, row, k, 1.0])
        assert np.allclose(ras[:3], [-lps[0], -lps[1], lps[2]])
    pixels = image.pixels("geometry.series")
    assert pixels.shape == (6, 5, 4)
    for k in range(4):  # the marker at row 1, column 2 of slice k holds 100 + k (after the -1024 rescale)
        assert pixels[2, 1, k] == 100 + k - 1024
        assert np.count_nonzero(pixels[:, :, k] != -1024) == 1


def test_non_dicom_file_is_refused(series):
    (series.folder / "notes.txt").write_text("not an image")
    with pytest.raises(InputDataError, match=r"notes\.txt: key 'geometry\.series': not a DICOM file"):
        read_series(series.folder, "geometry.series")


def test_rtstruct_in_the_series_folder_is_refused(series):
    write_rtstruct(series.folder / "rs.dcm", series, {"GTV": {}})
    with pytest.raises(InputDataError, match="a DICOM RTSTRUCT file, not an image slice"):
        read_series(series.folder, "geometry.series")


def test_uneven_gap_is_refused(tmp_path):
    s = Series(tmp_path / "ct", (4, 4, 4), (1.0, 1.0, 2.0), (0.0, 0.0, 0.0), order=[0, 1, 2, 3])
    (s.folder / "slice001.dcm").unlink()  # slice k = 1: gaps 4, 2 mm
    with pytest.raises(InputDataError, match="uneven slice gaps"):
        read_series(s.folder, "geometry.series")


@pytest.mark.data
def test_lung_series_matches_the_nifti_crop_grid(data_dir):
    """The real CT's affine has the orientation of the NIfTI crop, which sits at whole-voxel offsets in it."""
    nib = pytest.importorskip("nibabel")
    image = read_series(data_dir / "lung1_001_dicom" / "image", "geometry.series")
    crop = nib.load(str(data_dir / "lung1_001_crop" / "LUNG1-001_labels_crop.nii.gz"))
    assert image.shape == (512, 512, 134)
    assert np.allclose(image.affine[:3, :3], crop.affine[:3, :3])
    offset = np.linalg.solve(image.affine[:3, :3], crop.affine[:3, 3] - image.affine[:3, 3])
    assert np.allclose(offset, np.rint(offset), atol=1e-4) and np.all(offset >= 0)
