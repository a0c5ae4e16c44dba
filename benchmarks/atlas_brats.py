"""MNI152 atlas registered to BraTS pat0001 (issue 23): brain-mask Dice, metric, time and a GM/WM/CSF figure.

Usage: ``python benchmarks/atlas_brats.py [DATA_DIR] [OUT_DIR]`` (defaults ../shared/data/brats2013_pat0001,
benchmarks/results/atlas_brats). Writes grey/white/csf NIfTI maps (the CSF from the T1c's dark intensity class, as
``geometry.atlas.csf_from_image: dark``) and ``overlay.png``; the summary compares the ventricles (deep, dark
T1c voxels) given CSF by the atlas alone and with the patient's CSF.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from oncotwin.imaging import csf, images, registration  # noqa: E402


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/brats2013_pat0001")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "benchmarks/results/atlas_brats")
    out.mkdir(parents=True, exist_ok=True)
    t1c = images.read_image(data / "T1c_subtrMeanDivStd.nii.gz", "image")
    brain = images.read_mask(data / "brainmask.nii.gz", "tissue_mask").array
    labels = images.read_label_map(data / "OTMultiClass.nii.gz", "labels").array
    start = time.perf_counter()
    maps = registration.atlas_tissue_maps(t1c.array, t1c.affine, brain, labels > 0)
    keep = registration.excluded_lesion(labels > 0, t1c.affine, 3.0)
    patient_csf, _ = csf.csf_probability(t1c.array, brain, keep, "dark")
    refined = csf.with_patient_csf(maps.grey, maps.white, maps.csf, patient_csf, brain, keep)
    seconds = time.perf_counter() - start
    # ventricle agreement: deep brain voxels (15 voxels inside the mask, away from the lesion) that are
    # dark on the T1c (z-score < -2: CSF), and the share of them given CSF
    deep = ndimage.binary_erosion(brain, iterations=15) & ~ndimage.binary_dilation(labels > 0, iterations=3)
    dark = deep & (t1c.array < -2.0)
    summary = {"dice": round(maps.dice, 4), "metric": round(maps.metric, 4),
               "registration_s": round(maps.seconds, 1), "total_s": round(seconds, 1),
               "voxels": int(brain.sum()), "dark_deep_voxels": int(dark.sum()),
               "dark_deep_csf_atlas": round(float(np.mean(maps.csf[dark] > 0.5)), 3),
               "dark_deep_csf_patient": round(float(np.mean(refined[2][dark] > 0.5)), 3),
               "csf_cm3_atlas": round(float(maps.csf[brain].sum()) / 1000, 1),
               "csf_cm3_patient": round(float(refined[2][brain].sum()) / 1000, 1)}
    maps = dataclasses.replace(maps, grey=refined[0], white=refined[1], csf=refined[2])
    print(json.dumps(summary))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    for name in ("grey", "white", "csf"):
        nib.save(nib.Nifti1Image(getattr(maps, name), t1c.affine), str(out / f"{name}.nii.gz"))
    figure(t1c.array, brain, labels, maps, out / "overlay.png")


def figure(t1c, brain, labels, maps, path: Path) -> None:
    """Axial, coronal and sagittal slices through the lesion centre: T1c with the GM/WM/CSF map (RGB)."""
    centre = np.round(np.argwhere(labels > 0).mean(axis=0)).astype(int)
    rgb = np.stack([maps.csf, maps.grey, maps.white], axis=-1)  # CSF red, grey green, white blue
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    for col, axis in enumerate((2, 1, 0)):
        index = [slice(None)] * 3
        index[axis] = centre[axis]
        index = tuple(index)
        background = np.rot90(t1c[index])
        for row in range(2):
            axes[row, col].imshow(background, cmap="gray")
            axes[row, col].axis("off")
        overlay = np.rot90(rgb[index])
        alpha = np.rot90(brain[index]).astype(float) * 0.55
        axes[1, col].imshow(np.concatenate([overlay, alpha[..., None]], axis=-1))
        axes[1, col].contour(np.rot90(labels[index] > 0), levels=[0.5], colors="yellow", linewidths=0.8)
    axes[0, 0].set_title("T1c (axial / coronal / sagittal)")
    axes[1, 0].set_title(f"MNI152 (Dice {maps.dice:.3f}) + T1c CSF: CSF red, GM green, WM blue", loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
