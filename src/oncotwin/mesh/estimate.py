"""Order-of-magnitude cell count of a mesh job, checked before gmsh starts.

A regular tetrahedron of edge ``h`` has the volume ``h^3 / (6 sqrt 2) = h^3 / 8.49``, so a region meshed at
the target size ``h`` holds about ``8.5 V / h^3`` cells. Every geometry is treated as radially symmetric
about the tumour: the tumour is a ball of radius ``R`` (the segmented lesion as the ball of the same
volume), meshed at ``size_tumour`` inside, ``size_rim`` within ``rim_band`` of its surface, then graded
linearly to ``size_far`` over ``grading_distance``, out to the radius of the meshed domain. The estimate is

    cells ~ integral over r of 4 pi r^2 * 8.5 / h(r)^3 dr,

within a factor of about 2 of gmsh's count for the sphere (78 718 cells of sphere_baxter_jain against an
estimate of 1.07e5). The surfaces of an image-derived geometry follow the voxel staircase of every
tissue interface (grey/white matter, sulci), which refines the mesh well beyond the size field; its
estimate is multiplied by ``IMAGE_SURFACE_FACTOR`` (mni152_demo: 138 634 cells against 3.5e4 radially).
"""

from __future__ import annotations

import math

import numpy as np

from oncotwin.case.geometry import AtlasGeometry, DicomGeometry, SegmentationGeometry, SphereGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.core.errors import InputDataError
from oncotwin.imaging.images import Image, read_label_map, read_mask
from oncotwin.mesh.job import MeshJob
from oncotwin.mesh.preprocess import dicom_images

CELLS_PER_SIZE_CUBED = 8.5  # 6 sqrt(2): regular tetrahedra of edge h per volume h^3
# ~20 M linear tetrahedra need ~10 GB for the coupled solves at a few hundred bytes per cell and dof
MAX_CELLS = 20_000_000
# adult human brain ~1.2-1.5 L (the MNI152 brain mask is of that size): the atlas domain never exceeds it
BRAIN_VOLUME_MM3 = 1.5e6
IMAGE_SURFACE_FACTOR = 4.0  # measured on mni152_demo (see the module docstring)


def ball_radius(volume: float) -> float:
    """Radius of the ball of ``volume``."""
    return (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)


def radial_cells(tumour_radius: float, outer_radius: float, options: MeshOptions) -> float:
    """Estimated cells of a ball of ``outer_radius`` around a tumour ball (module docstring)."""
    rim = options.size_rim if options.size_rim is not None else options.size_tumour
    band, grading = options.rim_band, max(options.grading_distance, 1e-9)
    breaks = [0.0, tumour_radius - band, tumour_radius + band, tumour_radius + band + grading, outer_radius]
    breaks = sorted({min(max(b, 0.0), outer_radius) for b in breaks})
    total = 0.0
    for lo, hi in zip(breaks, breaks[1:], strict=False):
        r = np.linspace(lo, hi, 2001)
        outside = np.clip(r - tumour_radius - band, 0.0, None)
        size = np.where(np.abs(r - tumour_radius) <= band, rim,
                        np.where(r < tumour_radius, options.size_tumour,
                                 rim + (options.size_far - rim) * np.clip(outside / grading, 0.0, 1.0)))
        total += float(np.trapezoid(4.0 * np.pi * r**2 * CELLS_PER_SIZE_CUBED / size**3, r))
    return total


def estimate_cells(job: MeshJob) -> float:
    """Estimated number of tetrahedra of the job's mesh (reads a segmentation's label map and mask)."""
    geometry, options = job.geometry, job.options
    if isinstance(geometry, SphereGeometry):
        outer = geometry.host_radius if geometry.host_radius is not None else geometry.tumour_radius
        return radial_cells(geometry.tumour_radius, outer, options)
    if isinstance(geometry, AtlasGeometry):
        lesion = max(geometry.tumour.radius, geometry.tumour.edema_radius)
        outer = min(lesion + options.margin, ball_radius(BRAIN_VOLUME_MM3))
        return IMAGE_SURFACE_FACTOR * radial_cells(min(geometry.tumour.radius, outer), outer, options)
    if isinstance(geometry, SegmentationGeometry):
        return _segmentation_cells(geometry, options)
    if isinstance(geometry, DicomGeometry):
        labels, mask = dicom_images(geometry)
        return _image_cells(labels, [v for values in geometry.label_map().values() for v in values], mask, options)
    raise TypeError(f"no estimate for geometry {type(geometry).__name__}")  # unreachable: schema is closed


def _segmentation_cells(geometry: SegmentationGeometry, options: MeshOptions) -> float:
    labels = read_label_map(geometry.labels, "geometry.labels")
    labelled = [v for values in geometry.label_map().values() for v in values]
    mask = None if geometry.tissue_mask is None else read_mask(geometry.tissue_mask, "geometry.tissue_mask")
    return _image_cells(labels, labelled, mask, options)


def _image_cells(labels: Image, labelled: list[int], mask: Image | None, options: MeshOptions) -> float:
    tumour = ball_radius(np.isin(labels.array, labelled).sum() * labels.voxel_volume)
    if mask is not None:
        # the domain is the mask within mesh.margin of the lesion: a whole-organ mask is not all meshed
        outer = min(ball_radius(np.count_nonzero(mask.array) * mask.voxel_volume), tumour + options.margin)
    else:
        outer = tumour + options.margin
    return IMAGE_SURFACE_FACTOR * radial_cells(min(tumour, outer), max(tumour, outer), options)


def check_mesh_size(job: MeshJob, limit: float = MAX_CELLS) -> float:
    """The estimated cell count of the job; refuses a mesh estimated beyond ``limit`` cells.

    Raises:
        InputDataError: the estimate exceeds ``limit`` (names the keys to change).
    """
    cells = estimate_cells(job)
    if cells > limit:
        raise InputDataError(f"{job.name}: the mesh is estimated at {cells:.3g} cells, more than {limit:.3g}; "
                             "raise mesh.size_tumour, mesh.size_far or mesh.size_rim, or shrink the domain "
                             "(geometry radii, mesh.margin)")
    return cells
