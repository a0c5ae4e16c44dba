"""RTSTRUCT -> masks: orientation, holes, volumes against the polygon areas and the analytic shape."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.errors import InputDataError
from oncotwin.imaging.dicom_series import read_series
from oncotwin.imaging.rtstruct import (
    check_roi_names,
    contour_volume,
    read_structure_set,
    roi_label_map,
    roi_mask,
)
from tests.imaging.dicom_factory import Series, circle, write_rtstruct

SPACING = (0.5, 0.75, 2.0)  # non-square pixels catch a swapped PixelSpacing
CENTRE = (12.0, -3.0)       # LPS mm, off the grid centre so a flipped axis moves the ROI


@pytest.fixture
def drawn(tmp_path):
    series = Series(tmp_path / "ct", (96, 64, 12), SPACING, (-10.0, -25.0, 40.0))
    ring = {k: [circle(CENTRE, 15.0), circle(CENTRE, 6.0)] for k in range(2, 10)}  # a tube with a hole
    disc = {k: [circle((-2.0, 5.0), 4.0)] for k in range(4, 7)}
    path = write_rtstruct(tmp_path / "rs.dcm", series, {"Ring": ring, "Disc": disc})
    image = read_series(series.folder, "geometry.series")
    return series, image, read_structure_set(path, image, "geometry.rtstruct")


def test_hole_and_volume(drawn):
    series, image, structures = drawn
    voxel = float(np.prod(SPACING))
    mask = roi_mask(structures, "Ring", image.shape)
    analytic = np.pi * (15.0**2 - 6.0**2) * SPACING[2] * 8
    polygons = contour_volume(structures, "Ring", voxel)
    assert polygons == pytest.approx(analytic, rel=2e-3)  # 200-gon areas
    assert mask.sum() * voxel == pytest.approx(polygons, rel=0.01)
    # the hole's centre voxel is empty, the ring's is full, slices outside the contours are empty
    centre = np.linalg.solve(image.lps_affine[:3, :3], np.r_[CENTRE, series.z[5]] - image.lps_affine[:3, 3])
    ci, cj, ck = np.rint(centre).astype(int)
    assert not mask[ci, cj, ck] and mask[ci + int(10.0 / SPACING[0]), cj, ck]
    assert not mask[:, :, :2].any() and not mask[:, :, 10:].any() and mask[:, :, 2:10].any(axis=(0, 1)).all()


def test_orientation_of_the_mask(drawn):
    series, image, structures = drawn
    mask = roi_mask(structures, "Disc", image.shape)
    index = np.argwhere(mask).mean(axis=0)
    world = image.affine[:3, :3] @ index + image.affine[:3, 3]  # RAS
    assert np.allclose(world[:2], [2.0, -5.0], atol=0.05)  # LPS (-2, 5) -> RAS (2, -5)
    assert world[2] == pytest.approx(series.z[5])


def test_label_map_first_region_keeps_overlaps(drawn):
    _, image, structures = drawn
    labels = roi_label_map(structures, {1: ["Disc"], 2: ["Ring"]}, image.shape)
    assert (labels == 1).sum() == roi_mask(structures, "Disc", image.shape).sum()
    assert set(np.unique(labels)) == {0, 1, 2}


def test_roi_not_found_lists_the_names(drawn):
    _, _, structures = drawn
    with pytest.raises(InputDataError, match=r"key 'geometry.regions.tumour': ROI 'GTV-1' not found; ROI names "
                                             r"present: Ring, Disc"):
        check_roi_names(structures, {"Ring": "geometry.regions.host", "GTV-1": "geometry.regions.tumour"})


def test_rtstruct_of_another_series_is_refused(tmp_path):
    series = Series(tmp_path / "ct", (8, 8, 3), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    path = write_rtstruct(tmp_path / "rs.dcm", series, {"GTV": {1: [circle((4, 4), 2)]}}, series_uid="1.2.3.4")
    with pytest.raises(InputDataError, match=r"references the image series 1\.2\.3\.4, not the series"):
        read_structure_set(path, read_series(series.folder, "s"), "geometry.rtstruct")


@pytest.mark.data
def test_lung_rois_against_polygon_areas_and_the_nifti_crop(data_dir):
    """GTV-1, lungs and cord: masks within 1 % of the slice-wise polygon areas; GTV-1 equals the crop's label 4."""
    nib = pytest.importorskip("nibabel")
    root = data_dir / "lung1_001_dicom"
    image = read_series(root / "image", "s")
    structures = read_structure_set(root / "mask_rtstruct" / "1-1.dcm", image, "r")
    voxel = abs(np.linalg.det(image.affine[:3, :3]))
    for roi in ("GTV-1", "Lung-Left", "Lung-Right", "Spinal-Cord"):
        mask = roi_mask(structures, roi, image.shape)
        assert mask.sum() * voxel == pytest.approx(contour_volume(structures, roi, voxel), rel=0.01), roi
    crop = nib.load(str(data_dir / "lung1_001_crop" / "LUNG1-001_labels_crop.nii.gz"))
    start = np.rint(np.linalg.solve(image.affine[:3, :3], crop.affine[:3, 3] - image.affine[:3, 3])).astype(int)
    box = tuple(slice(a, a + n) for a, n in zip(start, crop.shape, strict=True))
    gtv = roi_mask(structures, "GTV-1", image.shape)
    crop_gtv = np.asarray(crop.dataobj).astype(int) == 4
    assert gtv.sum() == gtv[box].sum()  # the crop holds the whole tumour
    assert np.sum(gtv[box] & crop_gtv) / max(gtv.sum(), crop_gtv.sum()) > 0.97
