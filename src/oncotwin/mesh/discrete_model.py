"""Surfaces between components -> gmsh discrete model (surfaces, volumes, physical groups) -> tetrahedra.

One gmsh discrete surface per pair of adjacent component ids, kept as is (surface triangles stay at
voxel size; gmsh's reparametrisation of the discrete surfaces failed on BraTS with overlapping facets),
and one volume per component, bounded by all its surfaces (holes included). Components (rather than
regions) bound the gmsh volumes because gmsh identifies each volume from the set of surfaces around a
connected cavity: a region in two pieces must be two volumes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import gmsh
import numpy as np

from oncotwin.case.mesh_options import MeshOptions
from oncotwin.core.errors import InputDataError
from oncotwin.mesh.job import MeshRegions


def _triangle_keys(triangles: np.ndarray, base: int) -> np.ndarray:
    ordered = np.sort(triangles, axis=1).astype(np.int64)
    return (ordered[:, 0] * base + ordered[:, 1]) * base + ordered[:, 2]


def add_discrete_surfaces(points: np.ndarray, triangles: np.ndarray, pairs: np.ndarray,
                          remesh: bool = False) -> dict[int, tuple[int, int]]:
    """Add one discrete surface per component pair, split into parametrisable patches.

    Returns:
        Surface tag -> (component id, component id) for every patch of the final gmsh geometry.
    """
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    surfaces = [gmsh.model.addDiscreteEntity(2) for _ in unique]
    node_tags = np.arange(1, len(points) + 1, dtype=np.int64)
    gmsh.model.mesh.addNodes(2, surfaces[0], node_tags, points.ravel())
    for k, surface in enumerate(surfaces):
        gmsh.model.mesh.addElementsByType(surface, 2, [], (triangles[inverse == k] + 1).ravel())
    base = len(points) + 2
    if base ** 3 >= 2 ** 63:
        raise InputDataError(f"surface of {len(points)} vertices is too large to mesh; increase the voxel "
                             "size or reduce mesh.margin")
    keys = _triangle_keys(triangles + 1, base)
    order = np.argsort(keys)
    if remesh:
        # angle pi: no new feature edges, only the interfaces between different surfaces stay
        gmsh.model.mesh.classifySurfaces(math.pi, True, True, math.pi)
    else:
        gmsh.model.mesh.createTopology()  # may split and renumber surfaces: map them back below
    patches: dict[int, tuple[int, int]] = {}
    for _, surface in gmsh.model.getEntities(2):
        _, _, nodes = gmsh.model.mesh.getElements(2, surface)
        if not len(nodes) or not len(nodes[0]):
            continue
        key = _triangle_keys(np.asarray(nodes[0][:3], dtype=np.int64).reshape(1, 3), base)[0]
        where = order[np.searchsorted(keys, key, sorter=order)]
        patches[surface] = tuple(int(c) for c in unique[inverse[where]])
    if remesh:
        gmsh.model.mesh.createGeometry()
    return patches


def add_volumes(surface_pairs: dict[int, tuple[int, int]], n_components: int, remesh: bool = False
                ) -> dict[int, int]:
    """One volume per component, bounded by all its surfaces (holes included).

    Returns:
        Component id -> volume tag.
    """
    volumes = {}
    for component in range(1, n_components):
        bounding = [s for s, pair in surface_pairs.items() if component in pair]
        loop = gmsh.model.geo.addSurfaceLoop(bounding)
        volumes[component] = gmsh.model.geo.addVolume([loop])
    gmsh.model.geo.synchronize()
    return volumes


def add_physical_groups(name: str, regions: MeshRegions, surface_pairs: dict[int, tuple[int, int]],
                        volumes: dict[int, int], component_tag: list[int], per_cell: set[int] = frozenset()
                        ) -> None:
    """Region volumes (tag = region tag) and the ``outer`` / ``tumour_boundary`` facet groups.

    Regions whose tags are in ``per_cell`` are not meshed as volumes: their cells are taken from the host
    after meshing (:func:`oncotwin.mesh.tissue_cells.split_host_cells`).

    Raises:
        InputDataError: a region without any component (``name`` is the case name for the message).
    """
    for region, tag in regions.tags.items():
        if tag in per_cell:
            continue
        entities = [v for c, v in volumes.items() if component_tag[c] == tag]
        if not entities:
            raise InputDataError(f"{name}: key 'regions.{region}': region has no voxels to mesh")
        gmsh.model.addPhysicalGroup(3, entities, tag, name=region)
    tumour = set(regions.tumour_tags())
    in_tumour = [component_tag[c] in tumour for c in range(len(component_tag))]
    outer = [s for s, pair in surface_pairs.items() if 0 in pair]
    boundary = [s for s, (a, b) in surface_pairs.items() if in_tumour[a] != in_tumour[b]]
    names = list(regions.boundaries)
    gmsh.model.addPhysicalGroup(2, outer, names.index("outer") + 1, name="outer")
    gmsh.model.addPhysicalGroup(2, boundary, names.index("tumour_boundary") + 1, name="tumour_boundary")


def generate(name: str, options: MeshOptions, progress: Callable[[str], None]) -> None:
    """Mesh surfaces and volumes (Delaunay); with ``mesh.optimize``, gmsh's own tetrahedral optimiser.

    The surfaces are the fixed surface-nets triangles, so the optimiser only improves interior
    elements below ``Mesh.OptimizeThreshold``. Netgen's optimiser gave the same worst elements (flat
    caps on two adjacent surface triangles) at 3-4x the meshing time on BraTS, and HXT stalled in its
    improvement passes on these surfaces.

    Raises:
        InputDataError: when gmsh fails (``name`` is the case name for the message).
    """
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("Mesh.Optimize", 1 if options.optimize else 0)
    start = time.perf_counter()
    try:
        gmsh.model.mesh.generate(2)
        gmsh.model.mesh.generate(3)
        progress(f"volume mesh done ({time.perf_counter() - start:.1f} s)")
    except Exception as exc:  # gmsh raises a bare Exception with its last error
        raise InputDataError(f"{name}: gmsh failed to mesh the segmentation ({exc}); try a smaller "
                             "mesh.size_far, more mesh.smoothing_iterations or a larger mesh.min_component"
                             ) from None
