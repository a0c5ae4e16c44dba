"""Tagged tetrahedral meshes from segmentations (gmsh), with conforming smooth interfaces.

Pipeline (all on one rank, in the caller's current gmsh model):

1. :mod:`oncotwin.mesh.preprocess` builds the cropped region-tag volume.
2. Every face-connected component of every region gets its own id, and ``vtkSurfaceNets3D`` extracts
   the multi-material surface between ids: a triangle mesh with shared vertices on every interface
   and triple line, smoothed by constrained relaxation (vertices stay within half a voxel of their
   start, so there is no staircase) (:mod:`oncotwin.mesh.surfaces`).
3. Smoothing shrinks small and thin structures (15-40 % for 1-2 voxel thick fragments), so
   :func:`~oncotwin.mesh.surfaces.restore_volumes` moves every interface along its normal until each
   component encloses its voxel volume again (to 0.2 %), keeping the surface smooth and conforming;
   the lesion regions enclose their segmented volumes from before the clean-up, which relabels voxels
   (:func:`~oncotwin.mesh.surfaces.component_targets`).
4. One gmsh discrete surface per pair of adjacent ids, kept as is (surface triangles stay at voxel
   size; gmsh's reparametrisation of the discrete surfaces failed on BraTS with overlapping facets)
   (:mod:`oncotwin.mesh.discrete_model`). The volume size field (fine in the tumour, ``size_rim`` at
   its boundary, graded to ``size_far``) is a native gmsh ``Structured`` field on the voxel grid
   (:mod:`oncotwin.mesh.size_field`).
5. One volume per component (bounded by all its surfaces, holes included), Delaunay ``generate(3)``
   and, with ``mesh.optimize``, gmsh's tetrahedral optimiser.
6. :func:`~oncotwin.mesh.cap_repair.remove_surface_caps` repairs the flat tetrahedra spanning two
   surface triangles of one patch (local deletion on the outer boundary, edge removal otherwise),
   which no optimiser can touch.
7. Whole-organ meshes (``geometry.extent: whole_brain``) mesh the host tissues as one region and give
   each host tetrahedron the tissue at its centroid (:mod:`oncotwin.mesh.tissue_cells`): conforming to
   the cortex-shaped grey/white interface would triple the surface triangles.

Components (rather than regions) bound the gmsh volumes because gmsh identifies each volume from the
set of surfaces around a connected cavity: a region in two pieces must be two volumes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from oncotwin.case.geometry import DicomGeometry, SegmentationGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.mesh.cap_repair import remove_surface_caps
from oncotwin.mesh.discrete_model import add_discrete_surfaces, add_physical_groups, add_volumes, generate
from oncotwin.mesh.job import MeshRegions
from oncotwin.mesh.preprocess import TagVolume, dicom_tag_volume, segmentation_tag_volume
from oncotwin.mesh.size_field import set_size_field
from oncotwin.mesh.surfaces import component_targets, extract_surfaces, label_components
from oncotwin.mesh.tissue_cells import split_host_cells

REMESH = False


def build_segmentation_mesh(name: str, geometry: SegmentationGeometry, options: MeshOptions,
                            regions: MeshRegions, progress: Callable[[str], None]) -> dict:
    """Mesh a segmentation in the current gmsh model (gmsh initialised by the caller).

    Args:
        name: the case name (prefix of error messages).
        geometry: the segmentation geometry (images and label mapping).
        options: the mesh options.
        regions: region and boundary tags.
        progress: receives progress messages.

    Returns:
        JSON-serialisable metadata of the image frame (affine, shape, spacing, crop box, labels found)
        and meshing statistics.

    Raises:
        InputDataError: bad images, absent labels, empty regions or a failed mesh generation.
    """
    volume = segmentation_tag_volume(geometry, options, regions, progress)
    return mesh_tag_volume(name, volume, options, regions, progress)


def build_dicom_mesh(name: str, geometry: DicomGeometry, options: MeshOptions, regions: MeshRegions,
                     progress: Callable[[str], None]) -> dict:
    """Mesh a DICOM series with its RTSTRUCT (the ROIs rasterised on the series grid) as a segmentation."""
    volume = dicom_tag_volume(geometry, options, regions, progress)
    return mesh_tag_volume(name, volume, options, regions, progress)


def mesh_tag_volume(name: str, volume: TagVolume, options: MeshOptions, regions: MeshRegions,
                    progress: Callable[[str], None]) -> dict:
    """Mesh a region-tag volume in the current gmsh model and return the frame metadata."""
    start = time.perf_counter()
    components, component_tag = label_components(volume.tags)
    progress(f"{len(component_tag) - 1} connected components in {len(set(component_tag[1:]))} regions")
    targets = component_targets(components, component_tag, volume.segmented_voxels, volume.voxel_volume)
    points, triangles, pairs = extract_surfaces(components, volume, options.smoothing_iterations, targets)
    progress(f"surface nets: {len(triangles)} triangles on {len(np.unique(pairs, axis=0))} interfaces "
             f"({time.perf_counter() - start:.1f} s)")
    tissue_tags = _tissue_tags(volume, regions)
    surface_pairs = add_discrete_surfaces(points, triangles, pairs, REMESH)
    progress(f"{len(surface_pairs)} discrete surface patches ({time.perf_counter() - start:.1f} s)")
    volumes = add_volumes(surface_pairs, len(component_tag), REMESH)
    add_physical_groups(name, regions, surface_pairs, volumes, component_tag, set(tissue_tags[1:]))
    size_file = set_size_field(volume, options, regions.tumour_tags())
    try:
        generate(name, options, progress)
        caps = remove_surface_caps(volumes, surface_pairs)
        progress(f"flat surface caps removed: {caps['outer']} outer, {caps['inner']} across interfaces, "
                 f"{caps['interior']} inside ({time.perf_counter() - start:.1f} s)")
    finally:
        if size_file is not None:
            os.remove(size_file)
    if tissue_tags:
        names = {tag: n for n, tag in regions.tags.items() if tag in tissue_tags}
        counts = split_host_cells(tissue_tags[0], volume.tissue, volume.affine, names)
        progress("host tetrahedra by tissue at their centroid: "
                 + ", ".join(f"{names[t]} {n}" for t, n in counts.items()))
    frame = volume.frame()
    frame["meshing_seconds"] = round(time.perf_counter() - start, 2)
    frame["surface_patches"] = len(surface_pairs)
    frame["surface_caps_removed"] = caps
    return frame


def _tissue_tags(volume: TagVolume, regions: MeshRegions) -> list[int]:
    """The host tissue tags assigned per cell (whole-organ meshes; the first is the meshed host), or []."""
    if volume.tissue is None:
        return []
    present = set(np.unique(volume.tissue).tolist()) - {0}
    host = volume.host_tag
    return [host] + sorted(t for t in regions.tags.values() if t in present and t != host)

