"""From images to the final integer region-tag volume that the mesher turns into tetrahedra.

Tags are the case's cell tags (:class:`~oncotwin.mesh.job.MeshRegions`, 1-based); 0 is outside the meshed
domain.

Domain rule (so that, e.g., a lung tumour does not mesh the whole CT): the *lesion* is the union of the
labelled regions of kind tumour, necrotic or edema. The meshed domain is every voxel within
``mesh.margin`` (Euclidean, in mm) of the lesion that is either labelled or, when a tissue mask is
given, inside the mask; without a mask, the whole margin ball around the lesion is meshed. Labelled
regions of kind ``normal`` (lungs, cord, ...) are clipped to that domain like the host tissue.

Clean-up, in this order: keep only the parts of the domain connected (face-adjacent voxels) to the
lesion, fill enclosed holes of the domain, and merge connected components of a region smaller than
``mesh.min_component`` into the neighbouring region (nearest voxel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from oncotwin.case.geometry import DicomGeometry, SegmentationGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.core.errors import InputDataError
from oncotwin.imaging import images
from oncotwin.imaging.dicom_series import read_series
from oncotwin.imaging.rtstruct import read_structure_set, roi_label_map
from oncotwin.mesh.anatomy import host_tissue_tags
from oncotwin.mesh.job import MeshRegions

_FACE_CONNECTIVITY = ndimage.generate_binary_structure(3, 1)
PAD = 2  # background voxels kept around the domain (surface extraction needs a closed outside)


@dataclass(frozen=True)
class TagVolume:
    """Region tags on a cropped voxel grid, with the frame of the original image.

    Attributes:
        tags: int32 tags on the cropped grid (0 = outside).
        affine: voxel -> world (RAS mm) of the cropped grid.
        full_shape: shape of the original image grid.
        full_affine: voxel -> world of the original grid.
        crop_start: first voxel (i, j, k) of the cropped grid in the original grid (may be negative
            when the padding leaves the image).
        labels_found: label values present in the original label map.
        tissue: for a whole-organ mesh, the host tissue tag of every voxel on the cropped grid (0 where
            none); the host is then one tag in ``tags`` (``host_tag``, the first tissue's) and every host
            tetrahedron takes its tissue from here (:mod:`oncotwin.mesh.tissue_cells`). None otherwise.
        host_tag: the tag the host is meshed as when ``tissue`` is given.
        segmented_voxels: voxels of every lesion tag in the meshed domain before the clean-up, which
            relabels some (merging small components and bridging diagonal contacts only ever raises a
            tag, so it moves volume from the regions listed first to those listed later); the surfaces
            restore these volumes (:func:`~oncotwin.mesh.surfaces.component_targets`). None: the
            cleaned counts are the targets.
    """

    tags: np.ndarray
    affine: np.ndarray
    full_shape: tuple[int, int, int]
    full_affine: np.ndarray
    crop_start: tuple[int, int, int]
    labels_found: list[int]
    tissue: np.ndarray | None = None
    host_tag: int = 0
    segmented_voxels: dict[int, int] | None = None

    @property
    def spacing(self) -> np.ndarray:
        """Voxel edge lengths (mm)."""
        return images.affine_spacing(self.affine)

    @property
    def voxel_volume(self) -> float:
        """Voxel volume (mm^3)."""
        return images.affine_voxel_volume(self.affine)

    def frame(self) -> dict:
        """JSON-serialisable description of the image frame (for overlays on the image)."""
        start = np.asarray(self.crop_start)
        return {
            "affine": self.full_affine.tolist(),
            "shape": list(self.full_shape),
            "spacing": np.linalg.norm(self.full_affine[:3, :3], axis=0).tolist(),
            "crop_start": start.tolist(),
            "crop_stop": (start + np.asarray(self.tags.shape)).tolist(),
            "labels_found": list(self.labels_found),
            "voxels_per_tag": {int(t): int(n) for t, n in zip(*np.unique(self.tags, return_counts=True))
                               if t > 0},
            "segmented_voxels_per_tag": dict(self.segmented_voxels or {}),
        }


def within_distance(mask: np.ndarray, spacing: np.ndarray, distance: float) -> np.ndarray:
    """Voxels whose centre lies within ``distance`` mm of a voxel of ``mask`` (Euclidean)."""
    out = np.zeros(mask.shape, dtype=bool)
    if not mask.any():
        return out
    reach = np.ceil(distance / spacing).astype(int) + 1
    lo, hi = _bbox(mask)
    lo = np.maximum(lo - reach, 0)
    hi = np.minimum(hi + reach, mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    out[box] = ndimage.distance_transform_edt(~mask[box], sampling=spacing) <= distance
    return out


def _bbox(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
    return np.array([i[0] for i in idx]), np.array([i[-1] + 1 for i in idx])


def fill_from_nearest(tags: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Give every ``targets`` voxel the tag of the nearest non-zero, non-target voxel."""
    if not targets.any():
        return tags
    sources = (tags > 0) & ~targets
    if not sources.any():
        return tags
    _, nearest = ndimage.distance_transform_edt(~sources, return_distances=True, return_indices=True)
    out = tags.copy()
    out[targets] = tags[tuple(n[targets] for n in nearest)]
    return out


def keep_connected_to(domain: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The face-connected components of ``domain`` that contain a ``seed`` voxel."""
    labels, _ = ndimage.label(domain, structure=_FACE_CONNECTIVITY)
    keep = np.unique(labels[seed & domain])
    return np.isin(labels, keep[keep > 0])


def fill_holes(tags: np.ndarray) -> np.ndarray:
    """Fill cavities of the domain (background enclosed by the domain) with the nearest tag."""
    domain = tags > 0
    holes = ndimage.binary_fill_holes(domain, structure=_FACE_CONNECTIVITY) & ~domain
    return fill_from_nearest(tags, holes)


def merge_small_components(tags: np.ndarray, min_voxels: int) -> np.ndarray:
    """Merge face-connected components of each tag with fewer than ``min_voxels`` voxels into neighbours."""
    if min_voxels <= 1:
        return tags
    small = np.zeros(tags.shape, dtype=bool)
    for tag in np.unique(tags):
        if tag == 0:
            continue
        labels, count = ndimage.label(tags == tag, structure=_FACE_CONNECTIVITY)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        tiny = np.flatnonzero(sizes < min_voxels)
        tiny = tiny[tiny > 0]
        if tiny.size:
            small |= np.isin(labels, tiny)
    return fill_from_nearest(tags, small)


def crop(tags: np.ndarray, affine: np.ndarray, pad: int = PAD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop to the bounding box of the non-zero tags plus ``pad`` background voxels on every side.

    Returns:
        The cropped tags, their voxel -> world affine and the start voxel in the original grid.
    """
    lo, hi = _bbox(tags > 0)
    start = lo - pad
    out = np.zeros(tuple(hi - lo + 2 * pad), dtype=np.int32)
    out[tuple(slice(pad, pad + h - l) for l, h in zip(lo, hi))] = tags[tuple(slice(l, h) for l, h in zip(lo, hi))]
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ start + affine[:3, 3]
    return out, shifted, start


def _diagonal_fixes(tags: np.ndarray) -> int:
    """One pass of :func:`remove_diagonal_contacts`; returns the number of voxels changed."""
    changed = 0
    n = tags.shape
    for u, v in ((0, 1), (0, 2), (1, 2)):
        for flip in (False, True):
            lo_u, hi_u = slice(0, n[u] - 1), slice(1, n[u])
            lo_v, hi_v = (slice(1, n[v]), slice(0, n[v] - 1)) if flip else (slice(0, n[v] - 1), slice(1, n[v]))

            def view(su, sv):
                index = [slice(None)] * 3
                index[u], index[v] = su, sv
                return tuple(index)

            a, d = tags[view(lo_u, lo_v)], tags[view(hi_u, hi_v)]
            b, c = tags[view(hi_u, lo_v)], tags[view(lo_u, hi_v)]
            changed += _bridge(a, d, b, c)
    for di in ((1, 1, 1), (1, 1, -1), (1, -1, 1), (-1, 1, 1)):
        changed += _corner_fix(tags, di)
    return changed


def _corner_fix(tags: np.ndarray, direction: tuple[int, int, int]) -> int:
    """Bridge voxels of one tag that touch only at a cube corner along ``direction``."""
    n = tags.shape

    def shifted(offset):
        index = []
        for axis, (o, d) in enumerate(zip(offset, direction)):
            o = o if d > 0 else 1 - o
            index.append(slice(o, n[axis] - 1 + o))
        return tuple(index)

    a, h = tags[shifted((0, 0, 0))], tags[shifted((1, 1, 1))]
    bad = a == h
    for offset in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)):
        bad &= tags[shifted(offset)] != a
    if not bad.any():
        return 0
    return _bridge(a, h, tags[shifted((1, 0, 0))], tags[shifted((1, 1, 0))], bad)


def _bridge(a: np.ndarray, d: np.ndarray, b: np.ndarray, c: np.ndarray, bad: np.ndarray | None = None) -> int:
    """Resolve diagonal contacts ``a == d`` (views into the tag volume) where ``b``, ``c`` differ.

    Labels only ever increase (a lower neighbour is raised to bridge the contact, else ``d`` is raised
    to the higher neighbour), so repeated passes terminate instead of oscillating.
    """
    if bad is None:
        bad = (a == d) & (b != a) & (c != a)
    if not bad.any():
        return 0
    before = int(d.sum()) + int(b.sum()) + int(c.sum())
    raise_b = bad & (b < a)
    b[raise_b] = np.maximum(b[raise_b], a[raise_b])
    raise_c = bad & ~raise_b & (c < a)
    c[raise_c] = np.maximum(c[raise_c], a[raise_c])
    raise_d = bad & ~raise_b & ~raise_c
    d[raise_d] = np.maximum(d[raise_d], np.maximum(b[raise_d], c[raise_d]))
    return int(d.sum()) + int(b.sum()) + int(c.sum()) - before


def remove_diagonal_contacts(tags: np.ndarray, max_passes: int = 200) -> np.ndarray:
    """Make every tag (outside included) meet itself through faces, never only at an edge or corner.

    Voxels of one tag touching only along an edge or at a corner make the extracted surfaces
    non-manifold there, which gmsh cannot parametrise; the fix relabels one voxel per contact.
    """
    tags = tags.copy()
    for _ in range(max_passes):
        if _diagonal_fixes(tags) == 0:
            break
    return tags


def clean(tags: np.ndarray, lesion: np.ndarray, voxel_volume: float, min_component: float,
          max_rounds: int = 5) -> np.ndarray:
    """Domain connected to the lesion, holes filled, small components merged (see module docstring).

    Removing diagonal contacts relabels voxels and can leave new small components (single voxels),
    and merging those can create new diagonal contacts: both steps repeat until neither changes.
    """
    tags = np.where(keep_connected_to(tags > 0, lesion), tags, 0).astype(np.int32)
    tags = fill_holes(tags)
    min_voxels = int(np.ceil(min_component / voxel_volume))
    for _ in range(max_rounds):
        merged = merge_small_components(tags, min_voxels)
        fixed = remove_diagonal_contacts(merged)
        done = np.array_equal(fixed, tags)
        tags = fixed
        if done:
            break
    return tags


def clean_and_crop(tags: np.ndarray, lesion: np.ndarray, affine: np.ndarray, min_component: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`clean` on the bounding box of the domain only (the image grid can be 10x larger), then crop.

    Returns:
        As :func:`crop`, with the start voxel in the original grid.
    """
    lo, hi = _bbox(tags > 0)
    lo, hi = np.maximum(lo - PAD, 0), np.minimum(hi + PAD, tags.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    voxel_volume = float(abs(np.linalg.det(affine[:3, :3])))
    cleaned = clean(tags[box], lesion[box], voxel_volume, min_component)
    if not cleaned.any():
        return cleaned, affine, lo
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]
    cropped, cropped_affine, start = crop(cleaned, shifted)
    return cropped, cropped_affine, start + lo


def check_regions_present(regions: MeshRegions, min_component: float, tags: np.ndarray, source: str,
                          what: str) -> None:
    """Raise when a region (or the whole tumour) has no voxel in ``tags``.

    Args:
        regions: region tags.
        min_component: ``mesh.min_component`` (mm^3), for the message.
        tags: the tag volume.
        source: what the tags come from (prefix of the message).
        what: the stage, e.g. ``after cropping and clean-up``.
    """
    present = set(np.unique(tags).tolist())
    if not present.intersection(regions.tumour_tags()):
        raise InputDataError(f"{source}: key 'regions': the tumour ({', '.join(regions.tumour)}) is "
                             f"empty {what}; it needs at least "
                             f"{min_component:g} mm^3 (mesh.min_component)")
    for name, tag in regions.tags.items():
        if tag not in present:
            raise InputDataError(f"{source}: key 'regions.{name}': region has no voxels {what}; "
                                 "check the labels, the tissue mask and mesh.margin / mesh.min_component")


def segmentation_tag_volume(geometry: SegmentationGeometry, options: MeshOptions, regions: MeshRegions,
                            progress: Callable[[str], None] = lambda _: None) -> TagVolume:
    """Read and validate the images of a segmentation and build its cropped tag volume."""
    labels = images.read_label_map(geometry.labels, "geometry.labels")
    label_key = "geometry.regions" if geometry.regions is not None else "geometry.label_preset"
    images.check_labels_present(labels, geometry.label_map(), label_key)
    mask = None
    if geometry.tissue_mask is not None:
        mask = images.read_mask(geometry.tissue_mask, "geometry.tissue_mask")
        images.check_same_grid(labels, mask, "geometry.tissue_mask")
    return tag_volume(labels, geometry.label_map(), mask, options, regions, progress,
                      lambda host, lesion: host_tissue_tags(geometry, regions.tags, labels, mask, lesion, host,
                                                            progress),
                      whole=geometry.extent == "whole_brain")


def dicom_images(geometry: DicomGeometry) -> tuple[images.Image, images.Image | None]:
    """The label map of a DICOM geometry's ROIs on its series grid, and the tissue mask of ``tissue_rois``."""
    series = read_series(geometry.series, "geometry.series")
    structures = read_structure_set(geometry.rtstruct, series, "geometry.rtstruct")
    values = {v[0]: geometry.regions[name] for name, v in geometry.label_map().items()}
    labels = images.Image(roi_label_map(structures, values, series.shape), series.affine, geometry.rtstruct)
    if not geometry.tissue_rois:
        return labels, None
    tissue = roi_label_map(structures, {1: geometry.tissue_rois}, series.shape) > 0
    return labels, images.Image(tissue, series.affine, geometry.rtstruct)


def dicom_tag_volume(geometry: DicomGeometry, options: MeshOptions, regions: MeshRegions,
                     progress: Callable[[str], None] = lambda _: None) -> TagVolume:
    """The cropped tag volume of a DICOM series and its RTSTRUCT (ROIs rasterised on the series grid)."""
    labels, mask = dicom_images(geometry)
    images.check_labels_present(labels, geometry.label_map(), "geometry.regions")
    return tag_volume(labels, geometry.label_map(), mask, options, regions, progress,
                      lambda host, lesion: regions.tags[geometry.host_region])


def tag_volume(labels: images.Image, label_map: dict[str, list[int]], mask: images.Image | None,
               options: MeshOptions, regions: MeshRegions, progress: Callable[[str], None],
               host_tags: Callable[[np.ndarray, np.ndarray], np.ndarray | int], whole: bool = False) -> TagVolume:
    """The cropped tag volume of a label map (region -> label values), an optional tissue mask on its grid
    and the tags of the host voxels (``host_tags(host mask, lesion mask)``).

    With ``whole`` the domain is the whole tissue mask (plus the labelled voxels) instead of the mask within
    ``mesh.margin`` of the lesion."""
    found = images.labels_found(labels)
    progress(f"label map {labels.path.name}: shape {labels.shape}, spacing "
             f"{np.round(labels.spacing, 3).tolist()} mm, labels {found}")
    tags = np.zeros(labels.shape, dtype=np.int32)
    for name, values in label_map.items():
        tags[np.isin(labels.array, values)] = regions.tags[name]
    lesion = np.isin(tags, regions.lesion_tags())
    if whole:
        domain = mask.array | (tags > 0)
    else:
        domain = within_distance(lesion, labels.spacing, options.margin)
        if mask is not None:
            domain &= mask.array | (tags > 0)
    tags[~domain] = 0
    host = domain & (tags == 0)
    tags[host] = host_tags(host, lesion)
    tissue_tags = np.unique(tags[host]) if whole and host.any() else np.zeros(0, np.int32)
    tissue = None
    if len(tissue_tags) > 1:  # whole organ: one host tag to mesh, the tissue kept per voxel
        tissue = np.where(host, tags, 0).astype(np.int32)
        tags[host] = tissue_tags[0]

    if not tags.any():
        check_regions_present(regions, options.min_component, tags, str(labels.path), "after cropping and clean-up")
    counts = np.bincount(tags.ravel(), minlength=max(regions.tags.values()) + 1)
    segmented = {t: int(counts[t]) for t in regions.lesion_tags()}
    cropped, affine, start = clean_and_crop(tags, lesion, labels.affine, options.min_component)
    present = cropped
    if tissue is not None:
        tissue = window(tissue, start, cropped.shape)
        present = np.where(cropped == tissue_tags[0], tissue, cropped)
    check_regions_present(regions, options.min_component, present, str(labels.path), "after cropping and clean-up")
    progress(f"tag volume: crop {cropped.shape} voxels from {start.tolist()}, "
             f"{int((cropped > 0).sum())} voxels in the domain")
    return TagVolume(cropped, affine, labels.shape, labels.affine, tuple(int(s) for s in start), found, tissue,
                     int(tissue_tags[0]) if tissue is not None else 0, segmented)


def window(array: np.ndarray, start: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The ``shape`` box of ``array`` from voxel ``start`` (which may lie outside it: zeros there)."""
    out = np.zeros(shape, dtype=array.dtype)
    lo = np.maximum(start, 0)
    hi = np.minimum(np.asarray(start) + shape, array.shape)
    if np.any(hi <= lo):
        return out
    source = tuple(slice(a, b) for a, b in zip(lo, hi))
    out[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))] = array[source]
    return out
