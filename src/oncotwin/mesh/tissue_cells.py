"""Host tissue regions of a whole-organ mesh assigned per tetrahedron, not meshed as surfaces.

The grey/white matter interface of a registered atlas is a cortex-shaped surface: at voxel size it is
~10^6 triangles on a whole brain, and conforming tetrahedra to it would give several million cells. The
host is therefore meshed as one region with the size field of the tumour, and each host tetrahedron then
takes the tissue of the voxel at its centroid (the argmax of the probability maps there). Tissue
boundaries are resolved to the local cell size: ``size_rim``-fine near the tumour, where the solution
varies, ``size_far``-coarse far from it, where only bulk coefficients matter.
"""

from __future__ import annotations

import gmsh
import numpy as np
from scipy import ndimage

from oncotwin.imaging.images import world_to_voxel


def filled(tissue: np.ndarray) -> np.ndarray:
    """Tissue tags with every zero voxel given the nearest tissue voxel's tag (so any centroid finds one)."""
    inside = tissue > 0
    if inside.all() or not inside.any():
        return tissue
    _, nearest = ndimage.distance_transform_edt(~inside, return_distances=True, return_indices=True)
    return tissue[tuple(nearest)]


def tissue_at(tissue: np.ndarray, affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The tissue tag of the voxel containing each point (world mm); points outside take the nearest voxel."""
    index = np.rint(world_to_voxel(points, affine)).astype(np.int64)
    index = np.clip(index, 0, np.asarray(tissue.shape) - 1)
    return tissue[tuple(index.T)]


def split_host_cells(host_tag: int, tissue: np.ndarray, affine: np.ndarray, names: dict[int, str]) -> dict[int, int]:
    """Move the host region's tetrahedra into one discrete gmsh volume per tissue (current gmsh model).

    Args:
        host_tag: the physical group the host was meshed as.
        tissue: tissue tag per voxel on the meshed grid (0 where undefined).
        affine: voxel -> world of that grid.
        names: tag -> region name of every tissue region.

    Returns:
        Tissue tag -> number of tetrahedra. A tissue with none gets no physical group, so the mesh's
        empty-region check names it.
    """
    entities = list(gmsh.model.getEntitiesForPhysicalGroup(3, host_tag))
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    position = np.zeros((int(node_tags.max()) + 1, 3))
    position[node_tags.astype(np.int64)] = coords.reshape(-1, 3)
    elements, nodes = [], []
    for entity in entities:
        element_tags, element_nodes = gmsh.model.mesh.getElementsByType(4, entity)
        elements.append(element_tags)
        nodes.append(element_nodes.reshape(-1, 4))
    elements, nodes = np.concatenate(elements), np.concatenate(nodes)
    which = tissue_at(filled(tissue), affine, position[nodes.astype(np.int64)].mean(axis=1))
    gmsh.model.removePhysicalGroups([(3, host_tag)])
    for entity in entities:
        gmsh.model.mesh.removeElements(3, entity)
    counts = {}
    for tag, name in sorted(names.items()):
        chosen = which == tag
        counts[tag] = int(chosen.sum())
        if not chosen.any():
            continue
        volume = gmsh.model.addDiscreteEntity(3)
        gmsh.model.mesh.addElementsByType(volume, 4, elements[chosen], nodes[chosen].ravel())
        gmsh.model.addPhysicalGroup(3, [volume], tag, name=name)
    gmsh.model.mesh.reclassifyNodes()
    return counts
