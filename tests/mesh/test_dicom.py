"""Meshing a DICOM series with its RTSTRUCT: the label map enters the segmentation pipeline unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.imaging.dicom_series import read_series
from oncotwin.imaging.images import read_label_map
from oncotwin.imaging.rtstruct import contour_volume, read_structure_set
from oncotwin.mesh.cache import mesh_inputs
from oncotwin.mesh.preprocess import dicom_images, dicom_tag_volume
from oncotwin.mesh.segmentation import build_dicom_mesh
from tests.imaging.dicom_factory import Series, circle, write_rtstruct

from .helpers import make_case, need_data, run_gmsh, sections, tet_volumes


def synthetic_case(tmp_path):
    series = Series(tmp_path / "ct", (48, 48, 14), (1.0, 1.0, 2.0), (-24.0, -24.0, 0.0))
    gtv = {k: [circle((3.37, 0.41), 6.2)] for k in range(4, 10)}  # off the pixel lattice
    body = {k: [circle((0.0, 0.0), 20.0)] for k in range(14)}
    write_rtstruct(tmp_path / "rs.dcm", series, {"GTV": gtv, "Body": body})
    geometry = {"kind": "dicom", "series": str(series.folder), "rtstruct": str(tmp_path / "rs.dcm"),
                "regions": {"tumour": ["GTV"]}, "tissue_rois": ["Body"]}
    return make_case({"name": "dicom", "geometry": geometry,
                      "mesh": {"size_tumour": "2 mm", "size_rim": "2 mm", "size_far": "4 mm", "margin": "6 mm"},
                      "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}}})


def test_label_map_tissue_mask_and_cache_inputs(tmp_path):
    case = synthetic_case(tmp_path)
    labels, mask = dicom_images(case.geometry)
    assert labels.shape == (48, 48, 14) and set(np.unique(labels.array)) == {0, 1}
    assert np.all(mask.array[labels.array > 0])  # the GTV lies in the Body
    volume = dicom_tag_volume(*sections(case))
    assert set(volume.frame()["voxels_per_tag"]) == {1, 2}
    hashed = mesh_inputs(case)["geometry"]["series"]["sha256"]
    assert len(hashed) == 14  # one content hash per slice file
    (tmp_path / "ct" / "slice000.dcm").write_bytes((tmp_path / "ct" / "slice000.dcm").read_bytes() + b"\0")
    assert mesh_inputs(case)["geometry"]["series"] != {"sha256": hashed}


def test_synthetic_mesh_volume(tmp_path):
    case = synthetic_case(tmp_path)
    _, points, tets, tags, _ = run_gmsh(build_dicom_mesh, case)
    image = read_series(case.geometry.series, "s")
    polygons = contour_volume(read_structure_set(case.geometry.rtstruct, image, "r"), "GTV", 2.0)
    assert tet_volumes(points, tets)[tags == 1].sum() == pytest.approx(polygons, rel=0.03)


@pytest.mark.data
def test_lung_dicom_tumour_volume_matches_polygons_and_the_nifti_crop():
    """GTV-1 from the RTSTRUCT -> label map -> mesh within 3 % of the polygon areas and of the crop's label 4."""
    root = need_data("lung1_001_dicom")
    crop = need_data("lung1_001_crop") / "LUNG1-001_labels_crop.nii.gz"
    case = make_case({"name": "lung_dicom",
                      "geometry": {"kind": "dicom", "series": str(root / "image"),
                                   "rtstruct": str(root / "mask_rtstruct" / "1-1.dcm"),
                                   "regions": {"tumour": ["GTV-1"]},
                                   "tissue_rois": ["Lung-Left", "Lung-Right", "Spinal-Cord"], "host_region": "lung"},
                      "mesh": {"size_tumour": "3 mm", "size_rim": "2 mm", "size_far": "6 mm", "margin": "5 mm",
                               "optimize": False},
                      "regions": {"tumour": {"kind": "tumour"}, "lung": {"kind": "normal"}}})
    _, points, tets, tags, _ = run_gmsh(build_dicom_mesh, case)
    meshed = tet_volumes(points, tets)[tags == 1].sum()
    image = read_series(root / "image", "s")
    voxel = abs(np.linalg.det(image.affine[:3, :3]))
    polygons = contour_volume(read_structure_set(root / "mask_rtstruct" / "1-1.dcm", image, "r"), "GTV-1", voxel)
    labels = read_label_map(crop, "geometry.labels")
    assert meshed == pytest.approx(polygons, rel=0.03)
    assert meshed == pytest.approx(np.count_nonzero(labels.array == 4) * labels.voxel_volume, rel=0.03)
