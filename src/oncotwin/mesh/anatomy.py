"""Host-tissue anatomy of a segmentation: probability maps (given, or the MNI152 atlas registered to the
scan) checked on the label map's grid, and the host voxels' region tags by their argmax.

Checks, each a one-line error naming the file and key: every map on the label map's grid
(:func:`oncotwin.imaging.images.check_same_grid`), and the maps summing to about 1 inside the tissue mask
(at least :data:`MIN_FRACTION_NEAR_ONE` of the mask's unlabelled voxels within ``1 +- SUM_TOLERANCE``:
partial volumes at the brain's edge may fall short, a wrong or missing class may not).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from oncotwin.case.geometry import ATLAS_TISSUES, SegmentationGeometry
from oncotwin.core.errors import InputDataError
from oncotwin.imaging import images
from oncotwin.imaging.csf import csf_probability, with_patient_csf
from oncotwin.imaging.registration import RegistrationSettings, atlas_tissue_maps, excluded_lesion

SUM_TOLERANCE = 0.1
MIN_FRACTION_NEAR_ONE = 0.95


def check_maps_sum_to_one(maps: dict[str, np.ndarray], inside: np.ndarray, where: str, key: str) -> None:
    """Raise unless the maps sum to about 1 on ``inside`` (see the module docstring).

    Args:
        maps: tissue name -> probability map.
        inside: the voxels checked (the tissue mask minus the labelled regions).
        where: the file(s) named in the message.
        key: the case key named in the message.
    """
    if not inside.any():
        return
    total = np.sum([m[inside] for m in maps.values()], axis=0)
    near = float(np.mean(np.abs(total - 1.0) <= SUM_TOLERANCE))
    if near < MIN_FRACTION_NEAR_ONE:
        raise InputDataError(
            f"{where}: key '{key}': the maps ({', '.join(maps)}) sum to {float(np.median(total)):.3g} (median) "
            f"inside the tissue mask, and only {near:.1%} of its voxels are within 1 +- {SUM_TOLERANCE:g}; "
            f"probability maps must sum to about 1 there (at least {MIN_FRACTION_NEAR_ONE:.0%} of the voxels)")


def given_tissue_maps(geometry: SegmentationGeometry, labels: images.Image) -> dict[str, np.ndarray]:
    """The ``tissue_maps`` files, each checked to lie on the label map's grid."""
    maps = {}
    for name, path in geometry.tissue_maps.items():
        prob = images.read_probability_map(path, f"geometry.tissue_maps.{name}")
        images.check_same_grid(labels, prob, f"geometry.tissue_maps.{name}")
        maps[name] = prob.array
    return maps


def registered_tissue_maps(geometry: SegmentationGeometry, labels: images.Image, mask: images.Image,
                           lesion: np.ndarray, progress: Callable[[str], None]) -> dict[str, np.ndarray]:
    """Grey, white and CSF maps of the MNI152 atlas registered to ``geometry.image`` (lesion excluded)."""
    scan = images.read_image(geometry.image, "geometry.image")
    images.check_same_grid(labels, scan, "geometry.image")
    options = geometry.atlas
    settings = RegistrationSettings(deformable=options.deformable, grid_spacing=options.grid_spacing)
    maps = atlas_tissue_maps(scan.array, scan.affine, mask.array, lesion, settings, options.min_dice)
    progress(f"MNI152 atlas registered to {scan.path.name}: brain-mask Dice {maps.dice:.4f}, Mattes MI "
             f"{maps.metric:.4f} ({maps.seconds:.1f} s); inside the lesion the registered healthy anatomy is kept")
    tissues = (maps.grey, maps.white, maps.csf)
    if options.csf_from_image != "off":
        brain = np.asarray(mask.array, bool)
        keep = excluded_lesion(lesion, scan.affine, settings.exclude_margin)
        patient_csf, mean = csf_probability(scan.array, brain, keep, options.csf_from_image)
        tissues = with_patient_csf(*tissues, patient_csf, brain, keep)
        voxel_cm3 = float(abs(np.linalg.det(scan.affine[:3, :3]))) / 1000.0
        progress(f"CSF from {scan.path.name} ({options.csf_from_image} class, mean {mean:.3g}): "
                 f"{float(maps.csf[brain].sum()) * voxel_cm3:.1f} cm^3 in the atlas -> "
                 f"{float(tissues[2][brain].sum()) * voxel_cm3:.1f} cm^3")
    return dict(zip(ATLAS_TISSUES, tissues))


def host_tissue_tags(geometry: SegmentationGeometry, region_tags: dict[str, int], labels: images.Image,
                     mask: images.Image | None, lesion: np.ndarray, host: np.ndarray,
                     progress: Callable[[str], None] = lambda _: None) -> np.ndarray | int:
    """Tags of the host voxels: the host region, or the argmax of the tissue probability maps.

    Args:
        geometry: the segmentation geometry.
        region_tags: region name -> cell tag.
        labels: the label map.
        mask: the tissue mask (on the label map's grid), if any.
        lesion: the tumour and edema voxels.
        host: the host voxels (domain minus labelled regions).
        progress: receives progress messages.
    """
    if geometry.atlas is not None:
        maps = registered_tissue_maps(geometry, labels, mask, lesion, progress)
    elif geometry.tissue_maps:
        maps = given_tissue_maps(geometry, labels)
        if mask is not None:
            files = ", ".join(p.name for p in geometry.tissue_maps.values())
            check_maps_sum_to_one(maps, mask.array & (labels.array == 0), files, "geometry.tissue_maps")
    else:
        return region_tags[geometry.host_region]
    names = list(maps)
    choice = np.argmax(np.stack([maps[n][host] for n in names]), axis=0)
    return np.asarray([region_tags[n] for n in names], dtype=np.int32)[choice]
