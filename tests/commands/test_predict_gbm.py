"""``oncotwin predict-gbm``: a tiny synthetic folder in the benchmark's layout, the output's grid, a
self-consistency check of the prediction, the parameter choice and a missing file."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from oncotwin.imaging.front_profile import front_level_gap
from oncotwin.imaging.images import Image
from oncotwin.studies.predict_gbm import choose_parameters
from tests.conftest import run_cli

N = 36
AFFINE = np.array([[-1.5, 0, 0, 26.0], [0, -1.5, 0, 30.0], [0, 0, 1.5, -24.0], [0, 0, 0, 1]])


def patient_folder(root: Path, pid: str = "00007", pet: bool = True) -> dict[str, np.ndarray]:
    """An ellipsoidal brain (grey cortex, white core, CSF ventricle) with a BraTS 2023 lesion, as
    ``root/Patient-<pid>/<pid>-{gm,wm,csf,tumorseg,pet}.nii.gz``."""
    x, y, z = np.indices((N, N, N), dtype=float) - N / 2
    ellipsoid = (x / 16) ** 2 + (y / 14) ** 2 + (z / 13) ** 2
    brain = ellipsoid <= 1.0
    ventricle = (x / 4) ** 2 + ((y + 2) / 6) ** 2 + (z / 4) ** 2 <= 1.0
    white = ((ellipsoid <= 0.5) & ~ventricle).astype(np.float32)
    csf = ventricle.astype(np.float32)
    grey = (brain & ~ventricle).astype(np.float32) - white
    r = np.sqrt((x - 10) ** 2 + y**2 + (z - 4) ** 2)
    seg = np.where(r <= 1.6, 1, np.where(r <= 3.2, 3, np.where(r <= 5.0, 2, 0))).astype(np.uint8)
    folder = root / f"Patient-{pid}"
    folder.mkdir(parents=True)
    arrays = {"gm": grey, "wm": white, "csf": csf, "tumorseg": seg}
    if pet:
        arrays["pet"] = np.exp(-(r / 4) ** 2).astype(np.float32)
    for kind, array in arrays.items():
        nib.save(nib.Nifti1Image(array, AFFINE), str(folder / f"{pid}-{kind}.nii.gz"))
    return arrays


def test_predict_gbm_writes_the_concentration_on_the_input_grid(tmp_path):
    arrays = patient_folder(tmp_path / "in")
    result = run_cli("-q", "predict-gbm", str(tmp_path / "in"), str(tmp_path / "out"), "--extent", "whole_brain")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00007.nii.gz"]  # work folder removed
    image = nib.load(str(tmp_path / "out" / "00007.nii.gz"))
    prediction = np.asarray(image.dataobj)
    assert prediction.shape == (N, N, N)
    assert np.allclose(image.affine, AFFINE)
    assert prediction.dtype == np.float32 and 0.0 <= prediction.min() and prediction.max() <= 1.0
    seg = arrays["tumorseg"] > 0
    # Self-consistency (not a benchmark score): the k voxels of highest predicted concentration, k the
    # segmentation's size, cover most of the segmentation the model started from.
    k = int(seg.sum())
    top = np.zeros(seg.size, bool)
    top[np.argsort(prediction.ravel())[-k:]] = True
    coverage = float((top.reshape(seg.shape) & seg).sum()) / k
    assert coverage > 0.8, coverage
    # infiltration beyond the FLAIR edge, and none in the ventricle nor outside the brain
    ring = ~seg & (np.sqrt(((np.indices(seg.shape).T - np.argwhere(seg).mean(0)) ** 2).sum(-1)).T < 8)
    assert prediction[ring].max() > 0.05
    # (the nodes on the ventricle's wall carry the parenchyma's value, 0.09 here: look one voxel inside;
    # measured 0.0014)
    assert prediction[ndimage.binary_erosion(arrays["csf"] > 0)].max() < 0.01
    # outside the brain (beyond the half voxel the smoothed surface may move)
    outside = ~ndimage.binary_dilation((arrays["gm"] + arrays["wm"] + arrays["csf"]) > 0)
    assert prediction[outside].max() == 0.0


def test_a_missing_file_is_a_one_line_error_naming_it(tmp_path):
    patient_folder(tmp_path / "in", pet=False)
    (tmp_path / "in" / "Patient-00007" / "00007-wm.nii.gz").unlink()
    result = run_cli("predict-gbm", str(tmp_path / "in"), str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing required file 00007-wm.nii.gz" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_parameters_from_the_two_edges():
    """Core and lesion balls of radii 6 and 10 mm: lambda = 4 mm / ln 5, D_white = lambda^2 rho, grey 1/5."""
    x, y, z = np.indices((40, 40, 40), dtype=float) - 20
    r = np.sqrt(x**2 + y**2 + z**2)
    seg = np.where(r <= 6, 3, np.where(r <= 10, 2, 0)).astype(np.int32)
    half = np.full(seg.shape, 0.5, np.float32)
    data = {"tumorseg": Image(seg, np.eye(4), Path("s")), "wm": Image(half, np.eye(4), Path("w")),
            "gm": Image(half, np.eye(4), Path("g"))}
    p = choose_parameters(data)
    core = (3 * np.count_nonzero(seg == 3) / (4 * math.pi)) ** (1 / 3)
    lesion = (3 * np.count_nonzero(seg > 0) / (4 * math.pi)) ** (1 / 3)
    length = (lesion - core) / front_level_gap(0.8, 0.16)  # the T1Gd (80 %) and FLAIR (16 %) edges of Rockne 2010
    assert core == pytest.approx(6, rel=0.02) and lesion == pytest.approx(10, rel=0.02)
    assert p.infiltration_length == pytest.approx(length)
    assert p.d_white == pytest.approx(length**2 * p.proliferation_rate)
    assert p.d_grey == pytest.approx(p.d_white / 5)
    assert p.d_lesion == pytest.approx((p.d_white + p.d_grey) / 2)  # half white, half grey
    assert p.days == pytest.approx(1 / (4 * p.proliferation_rate))
