"""Image reading and validation (NIfTI and NRRD), on small synthetic files."""

from __future__ import annotations

import nibabel as nib
import nrrd
import numpy as np
import pytest

from oncotwin.core.errors import InputDataError
from oncotwin.imaging import images


def _nifti(path, data, affine=None):
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def test_reads_float_labels_as_integers(tmp_path):
    data = np.zeros((4, 5, 6), np.float32)
    data[1, 2, 3] = 4.0
    image = images.read_label_map(_nifti(tmp_path / "l.nii.gz", data), "geometry.labels")
    assert image.array.dtype == np.int32 and image.array[1, 2, 3] == 4
    assert images.labels_found(image) == [0, 4]


def test_trailing_singleton_dimension_is_dropped(tmp_path):
    image = images.read_image(_nifti(tmp_path / "l.nii", np.zeros((3, 4, 5, 1), np.uint8)), "k")
    assert image.shape == (3, 4, 5)


def test_nrrd_lps_is_converted_to_ras(tmp_path):
    data = np.zeros((3, 4, 5), np.int16)
    header = {"space": "left-posterior-superior", "space directions": np.diag([0.5, 0.5, 2.0]),
              "space origin": np.array([10.0, 20.0, 30.0])}
    nrrd.write(str(tmp_path / "l.nrrd"), data, header)
    image = images.read_label_map(tmp_path / "l.nrrd", "geometry.labels")
    np.testing.assert_allclose(image.affine[:3, 3], [-10.0, -20.0, 30.0])
    np.testing.assert_allclose(np.diag(image.affine)[:3], [-0.5, -0.5, 2.0])


@pytest.mark.parametrize("data, match", [
    (np.zeros((4, 4), np.uint8), "2 dimensions"),
    (np.zeros((3, 3, 3, 2), np.uint8), "4 dimensions"),
])
def test_rejects_wrong_dimensions(tmp_path, data, match):
    with pytest.raises(InputDataError, match=match):
        images.read_image(_nifti(tmp_path / "x.nii.gz", data), "geometry.labels")


def test_rejects_missing_and_unreadable(tmp_path):
    with pytest.raises(InputDataError, match="file not found"):
        images.read_image(tmp_path / "none.nii.gz", "geometry.labels")
    (tmp_path / "bad.nii.gz").write_bytes(b"not an image")
    with pytest.raises(InputDataError, match="cannot read image"):
        images.read_image(tmp_path / "bad.nii.gz", "geometry.labels")


def test_rejects_nan_and_non_integer_labels(tmp_path):
    data = np.zeros((3, 3, 3), np.float32)
    data[0, 0, 0] = np.nan
    with pytest.raises(InputDataError, match="NaN or infinite"):
        images.read_image(_nifti(tmp_path / "n.nii.gz", data), "k")
    data[0, 0, 0] = 1.5
    with pytest.raises(InputDataError, match="non-integer value 1.5"):
        images.read_label_map(_nifti(tmp_path / "f.nii.gz", data), "geometry.labels")


def test_rejects_grid_mismatch(tmp_path):
    labels = images.read_label_map(_nifti(tmp_path / "l.nii.gz", np.zeros((3, 3, 3), np.uint8)), "l")
    other = images.read_mask(_nifti(tmp_path / "m.nii.gz", np.ones((3, 3, 4), np.uint8)), "m")
    with pytest.raises(InputDataError, match="grid shape"):
        images.check_same_grid(labels, other, "geometry.tissue_mask")
    shifted = np.eye(4)
    shifted[0, 3] = 1e-3
    other = images.read_mask(_nifti(tmp_path / "s.nii.gz", np.ones((3, 3, 3), np.uint8), shifted), "m")
    with pytest.raises(InputDataError, match="voxel-to-world"):
        images.check_same_grid(labels, other, "geometry.tissue_mask")
    tiny = np.eye(4)
    tiny[0, 3] = 1e-6
    same = images.read_mask(_nifti(tmp_path / "t.nii.gz", np.ones((3, 3, 3), np.uint8), tiny), "m")
    images.check_same_grid(labels, same, "geometry.tissue_mask")


def test_absent_label_lists_labels_found(tmp_path):
    data = np.zeros((3, 3, 3), np.uint8)
    data[1, 1, 1] = 2
    labels = images.read_label_map(_nifti(tmp_path / "l.nii.gz", data), "geometry.labels")
    with pytest.raises(InputDataError) as info:
        images.check_labels_present(labels, {"enhancing": [4]}, "geometry.regions")
    message = str(info.value)
    assert "'geometry.regions.enhancing'" in message and "label 4 not present" in message
    assert "[0, 2]" in message and "\n" not in message
