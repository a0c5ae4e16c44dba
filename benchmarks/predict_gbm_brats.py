"""PREDICT-GBM worked example on shared data (issue 23): BraTS pat0001 in the benchmark's layout, run through
``oncotwin predict-gbm``; prints the output's grid, time and the top-k self-consistency.

Needs ``benchmarks/atlas_brats.py``'s warped maps (``benchmarks/results/atlas_brats/{grey,white,csf}.nii.gz``).
BraTS 2013 labels map to the benchmark's BraTS 2023 convention: 1 necrotic -> 1, 3 non-enhancing -> 1 (core),
4 enhancing -> 3, 2 edema -> 2. Usage: ``python benchmarks/predict_gbm_brats.py [--extent crop]``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from oncotwin.cli import main as cli

DATA = Path("../shared/data/brats2013_pat0001")
MAPS = Path("benchmarks/results/atlas_brats")
ROOT = Path("benchmarks/results")


def build(folder: Path) -> np.ndarray:
    labels_img = nib.load(str(DATA / "OTMultiClass.nii.gz"))
    labels = np.rint(np.asanyarray(labels_img.dataobj)).astype(np.uint8)
    seg = np.select([np.isin(labels, [1, 3]), labels == 4, labels == 2], [1, 3, 2], 0).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(seg, labels_img.affine), str(folder / "0001-tumorseg.nii.gz"))
    for ours, theirs in (("grey", "gm"), ("white", "wm"), ("csf", "csf")):
        image = nib.load(str(MAPS / f"{ours}.nii.gz"))
        nib.save(nib.Nifti1Image(np.asarray(image.dataobj, np.float32), labels_img.affine),
                 str(folder / f"0001-{theirs}.nii.gz"))
    return seg


def main() -> None:
    extent = sys.argv[sys.argv.index("--extent") + 1] if "--extent" in sys.argv else "whole_brain"
    in_dir, out_dir = ROOT / "predict_gbm_in", ROOT / f"predict_gbm_out_{extent}"
    shutil.rmtree(in_dir, ignore_errors=True)
    seg = build(in_dir / "Patient-0001") > 0
    start = time.perf_counter()
    code = cli(["predict-gbm", str(in_dir), str(out_dir), "--extent", extent, "--force"])
    seconds = time.perf_counter() - start
    image = nib.load(str(out_dir / "0001.nii.gz"))
    prediction = np.asarray(image.dataobj)
    k = int(seg.sum())
    top = np.zeros(seg.size, bool)
    top[np.argsort(prediction.ravel())[-k:]] = True
    coverage = float((top.reshape(seg.shape) & seg).sum()) / k
    beyond = float(np.count_nonzero((prediction >= 0.01) & ~seg)) / k
    print(f"exit {code}; {seconds:.0f} s; shape {prediction.shape}, affine equal: "
          f"{np.allclose(image.affine, nib.load(str(DATA / 'OTMultiClass.nii.gz')).affine)}; "
          f"top-k coverage {coverage:.3f}; voxels >= 1 % outside the segmentation: {beyond:.2f} x its size")


if __name__ == "__main__":
    main()
