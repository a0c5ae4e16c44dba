"""MNI152 atlas geometry: real brain anatomy (nilearn, offline) with a synthetic spherical tumour.

Region tags come from the case (``necrotic``, ``tumour``, ``edema``, ``grey``, ``white``): inside the
MNI152 brain mask every voxel is grey or white matter by the argmax of the nilearn probability maps,
then the tumour spheres around the world centre (RAS mm) overwrite them: necrotic core, viable tumour
rim, edema shell (all clipped to the brain). As for segmentations, the meshed domain is the brain
within ``mesh.margin`` of the lesion (a large margin meshes the whole brain), and the same surface
extraction and gmsh path is used (:func:`oncotwin.mesh.segmentation.mesh_tag_volume`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from oncotwin.case.geometry import AtlasGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.core.errors import InputDataError
from oncotwin.mesh import preprocess
from oncotwin.mesh.job import MeshRegions
from oncotwin.mesh.segmentation import mesh_tag_volume


def _load_atlas(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Brain mask, grey and white probability maps and the affine of the nilearn MNI152 templates."""
    from nilearn import datasets

    mask_img = datasets.load_mni152_brain_mask(resolution=resolution)
    grey_img = datasets.load_mni152_gm_template(resolution=resolution)
    white_img = datasets.load_mni152_wm_template(resolution=resolution)
    mask = np.asanyarray(mask_img.dataobj) > 0.5
    grey = np.asanyarray(grey_img.dataobj).astype(np.float32)
    white = np.asanyarray(white_img.dataobj).astype(np.float32)
    if grey.shape != mask.shape or white.shape != mask.shape:  # nilearn versions differ in grids
        raise InputDataError(f"nilearn MNI152 templates at resolution {resolution} do not share a grid "
                             f"(mask {mask.shape}, grey {grey.shape}, white {white.shape})")
    return mask, grey, white, np.asarray(mask_img.affine, dtype=float)


def atlas_tag_volume(geometry: AtlasGeometry, options: MeshOptions, regions: MeshRegions,
                     progress: Callable[[str], None] = lambda _: None) -> preprocess.TagVolume:
    """The cropped region-tag volume of an MNI152 geometry."""
    tumour = geometry.tumour
    mask, grey, white, affine = _load_atlas(geometry.resolution)
    tags_of = regions.tags
    tags = np.zeros(mask.shape, dtype=np.int32)
    tags[mask] = np.where(grey[mask] >= white[mask], tags_of["grey"], tags_of["white"])

    centre_index = np.linalg.solve(affine[:3, :3], np.asarray(tumour.centre) - affine[:3, 3])
    ijk = np.round(centre_index).astype(int)
    inside_grid = np.all(ijk >= 0) and np.all(ijk < mask.shape)
    if not inside_grid or not mask[tuple(ijk)]:
        raise InputDataError(f"MNI152 atlas: key 'geometry.tumour.centre': {list(tumour.centre)} mm is outside "
                             "the brain mask; choose a centre inside the brain (RAS mm, e.g. [30, -20, 20])")
    grid = np.indices(mask.shape, dtype=np.float32).reshape(3, -1).T
    world = grid @ affine[:3, :3].T.astype(np.float32) + affine[:3, 3].astype(np.float32)
    distance = np.linalg.norm(world - np.asarray(tumour.centre, dtype=np.float32), axis=1).reshape(mask.shape)
    if tumour.edema_radius > 0:
        tags[mask & (distance <= tumour.edema_radius)] = tags_of["edema"]
    tags[mask & (distance <= tumour.radius)] = tags_of["tumour"]
    if tumour.necrotic_radius > 0:
        tags[mask & (distance <= tumour.necrotic_radius)] = tags_of["necrotic"]
    progress(f"MNI152 at {geometry.resolution} mm: {int(mask.sum())} brain voxels, tumour "
             f"{int((tags == tags_of['tumour']).sum())} voxels")

    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    lesion = np.isin(tags, regions.lesion_tags())
    tags[~preprocess.within_distance(lesion, spacing, options.margin)] = 0
    cropped, cropped_affine, start = preprocess.clean_and_crop(tags, lesion, affine, options.min_component)
    preprocess.check_regions_present(regions, options.min_component, cropped, "MNI152 atlas",
                                     "within mesh.margin of the tumour")
    return preprocess.TagVolume(cropped, cropped_affine, mask.shape, affine, tuple(int(s) for s in start), [])


def build_atlas_mesh(name: str, geometry: AtlasGeometry, options: MeshOptions, regions: MeshRegions,
                     progress: Callable[[str], None]) -> dict:
    """Mesh an MNI152 geometry in the current gmsh model; returns the image-frame metadata.

    Args:
        name: the case name (prefix of error messages).
        geometry: the atlas geometry (resolution and synthetic tumour).
        options: the mesh options.
        regions: region and boundary tags.
        progress: receives progress messages.
    """
    volume = atlas_tag_volume(geometry, options, regions, progress)
    return mesh_tag_volume(name, volume, options, regions, progress)
