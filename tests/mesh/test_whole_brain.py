"""Whole-brain meshes with grey/white/CSF regions: domain, tissue argmax, bad maps, and the crop path untouched."""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest
import yaml

from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.mesh.cache import _job_inputs
from oncotwin.mesh.job import mesh_job
from oncotwin.mesh.preprocess import segmentation_tag_volume
from oncotwin.mesh.segmentation import build_segmentation_mesh

from .helpers import make_case, run_gmsh, sections, tet_volumes

N = 40
AFFINE = np.diag([-1.5, -1.5, 1.5, 1.0])
REGIONS = {"tumour": {"kind": "tumour"}, "edema": {"kind": "edema"},
           "grey": {"kind": "normal", "tissue": "grey_matter"}, "white": {"kind": "normal", "tissue": "white_matter"},
           "csf": {"kind": "normal", "tissue": "csf"}}


def brain_phantom(tmp_path, shape=(N, N, N), affine=AFFINE, csf_scale=1.0):
    """An ellipsoidal brain: grey cortex, white core, a CSF 'ventricle', and a tumour with edema off-centre."""
    x, y, z = (np.indices(shape, dtype=float) - np.asarray(shape)[:, None, None, None] / 2)
    ellipsoid = (x / 17) ** 2 + (y / 15) ** 2 + (z / 14) ** 2
    brain = ellipsoid <= 1.0
    ventricle = (x / 4) ** 2 + ((y + 2) / 6) ** 2 + (z / 4) ** 2 <= 1.0
    white = (ellipsoid <= 0.55) & ~ventricle
    grey = brain & ~white & ~ventricle
    tumour_r2 = (x - 8) ** 2 + (y - 4) ** 2 + z ** 2
    labels = np.where(tumour_r2 <= 16, 1, np.where(tumour_r2 <= 36, 2, 0)) * brain
    for name, array in {"labels": labels.astype(np.float32), "mask": brain.astype(np.float32),
                        "gm": grey.astype(np.float32), "wm": white.astype(np.float32),
                        "csf": csf_scale * ventricle.astype(np.float32)}.items():
        nib.save(nib.Nifti1Image(array, affine), str(tmp_path / f"{name}.nii.gz"))
    return brain, ventricle


def case(tmp_path, extent: str | None = "whole_brain", margin: str = "4 mm"):
    geometry = {"kind": "segmentation", "labels": "labels.nii.gz", "tissue_mask": "mask.nii.gz",
                "regions": {"tumour": [1], "edema": [2]},
                "tissue_maps": {"grey": "gm.nii.gz", "white": "wm.nii.gz", "csf": "csf.nii.gz"}}
    if extent is not None:
        geometry["extent"] = extent
    mesh = {"size_tumour": "1.5 mm", "size_far": "5 mm", "grading_distance": "8 mm", "margin": margin,
            "optimize": False}
    return make_case({"name": "brain", "geometry": geometry, "mesh": mesh, "regions": REGIONS}, tmp_path)


def test_whole_brain_domain_is_the_mask_with_tissue_regions(tmp_path):
    brain, ventricle = brain_phantom(tmp_path)
    whole = segmentation_tag_volume(*sections(case(tmp_path)))
    cropped = segmentation_tag_volume(*sections(case(tmp_path, extent="crop")))
    tags = mesh_job(case(tmp_path)).regions.tags
    assert int((whole.tags > 0).sum()) == int(brain.sum())  # every brain voxel, nothing else
    assert int((cropped.tags > 0).sum()) < 0.6 * brain.sum()  # the crop keeps the 4 mm around the lesion only
    labelled = np.where(whole.tissue > 0, whole.tissue, whole.tags)
    counts = {name: int((labelled == tag).sum()) for name, tag in tags.items()}
    # the ventricle is its own region (argmax of the CSF map), away from the lesion
    assert counts["csf"] == pytest.approx(int(ventricle.sum()), rel=0.1)
    assert all(counts[n] > 0 for n in ("grey", "white", "tumour", "edema"))


def test_whole_brain_mesh_fills_the_brain_and_its_surface_is_the_outer_boundary(tmp_path):
    brain, _ = brain_phantom(tmp_path)
    frame, points, tets, tags, facets = run_gmsh(build_segmentation_mesh, case(tmp_path))
    volumes = tet_volumes(points, tets)
    assert volumes.min() > 0
    assert volumes.sum() == pytest.approx(brain.sum() * 1.5 ** 3, rel=0.03)
    assert "outer" in facets
    # graded: cells far from the tumour are coarser than at the tumour
    regions = mesh_job(case(tmp_path)).regions.tags
    tumour_cells = volumes[tags == regions["tumour"]]
    csf_cells = volumes[tags == regions["csf"]]
    assert np.median(tumour_cells) < np.median(volumes[tags == regions["grey"]])
    assert csf_cells.size > 0


def test_crop_path_is_untouched(tmp_path):
    """Without 'extent' the case is the crop of before: same tag volume, and mesh-cache inputs without the
    new keys (so cached crop meshes, and every result computed on them, are reused bit for bit)."""
    brain_phantom(tmp_path)
    default, explicit = case(tmp_path, extent=None), case(tmp_path, extent="crop")
    a = segmentation_tag_volume(*sections(default))
    b = segmentation_tag_volume(*sections(explicit))
    assert np.array_equal(a.tags, b.tags) and np.array_equal(a.affine, b.affine)
    for c in (default, explicit):
        inputs = _job_inputs(mesh_job(c))
        assert "extent" not in inputs["geometry"] and "atlas" not in inputs["geometry"]
        assert "image" not in inputs["geometry"]
    assert _job_inputs(mesh_job(default)) == _job_inputs(mesh_job(explicit))
    assert "extent" in _job_inputs(mesh_job(case(tmp_path)))["geometry"]


def test_maps_on_another_grid_are_a_one_line_error(tmp_path):
    brain_phantom(tmp_path)
    shifted = AFFINE.copy()
    shifted[0, 3] = 3.0
    nib.save(nib.Nifti1Image(np.zeros((N, N, N), np.float32), shifted), str(tmp_path / "wm.nii.gz"))
    with pytest.raises(InputDataError, match=r"wm.nii.gz: key 'geometry.tissue_maps.white': voxel-to-world "
                                             r"transform differs .* by 3 mm") as info:
        segmentation_tag_volume(*sections(case(tmp_path)))
    assert "\n" not in str(info.value)


def test_maps_not_summing_to_one_are_a_one_line_error(tmp_path):
    brain_phantom(tmp_path, csf_scale=0.92)  # partial volumes within 1 +- 0.1 are accepted
    segmentation_tag_volume(*sections(case(tmp_path)))
    brain_phantom(tmp_path)
    nib.save(nib.Nifti1Image(np.zeros((N, N, N), np.float32), AFFINE), str(tmp_path / "gm.nii.gz"))
    with pytest.raises(InputDataError, match=r"key 'geometry.tissue_maps': the maps \(grey, white, csf\) sum to "
                                             r"0 \(median\).* within 1 \+- 0.1") as info:
        segmentation_tag_volume(*sections(case(tmp_path)))
    assert "\n" not in str(info.value)
    assert "gm.nii.gz" in str(info.value)


def bad_case(tmp_path, geometry: dict) -> str:
    data = {"name": "b", "regions": {"tumour": {"kind": "tumour"}, "edema": {"kind": "edema"},
                                      "host": {"kind": "normal"}},
            "geometry": {"kind": "segmentation", "labels": "labels.nii.gz", "regions": {"tumour": [1], "edema": [2]},
                         **geometry}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CaseError) as info:
        read_case(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_case_keys_are_checked(tmp_path):
    brain_phantom(tmp_path)
    assert re.search(r"bad.yaml:\d+: key 'geometry.extent'.*needs geometry.tissue_mask",
                     bad_case(tmp_path, {"extent": "whole_brain"}))
    assert re.search(r"key 'geometry.atlas'.*needs geometry.image",
                     bad_case(tmp_path, {"tissue_mask": "mask.nii.gz", "atlas": {"min_dice": 0.95}}))
    assert re.search(r"key 'geometry.extent'.*'crop'.*'whole_brain'", bad_case(tmp_path, {"extent": "skull"}))
    assert re.search(r"key 'geometry.atlas.min_dice'", bad_case(tmp_path, {"tissue_mask": "mask.nii.gz",
                                                                           "image": "mask.nii.gz",
                                                                           "atlas": {"min_dice": 1.5}}))
