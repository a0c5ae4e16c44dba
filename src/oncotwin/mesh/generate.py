"""Generate the tagged mesh of a case with gmsh and check its quality (runs on one rank)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gmsh
import numpy as np

from oncotwin.case.geometry import AtlasGeometry, DicomGeometry, SegmentationGeometry, SphereGeometry
from oncotwin.core.errors import InputDataError
from oncotwin.mesh.atlas import build_atlas_mesh
from oncotwin.mesh.gmsh_session import gmsh_session
from oncotwin.mesh.idealized import build_sphere_mesh
from oncotwin.mesh.job import MeshJob
from oncotwin.mesh.quality import tet_quality
from oncotwin.mesh.segmentation import build_dicom_mesh, build_segmentation_mesh

# Elements with a normalised radius ratio (3 r_in / r_circ, 1 for the regular tetrahedron) below this
# are called degenerate and the mesh is rejected (their stiffness rows are ill-conditioned).
DEGENERATE_RADIUS_RATIO = 1e-3


def build_model(job: MeshJob, progress: Callable[[str], None]) -> dict:
    """Build and mesh the job's geometry in the current gmsh model; returns frame metadata."""
    geometry, options, regions = job.geometry, job.options, job.regions
    if isinstance(geometry, SphereGeometry):
        return build_sphere_mesh(geometry, options, regions, progress)
    if isinstance(geometry, SegmentationGeometry):
        return build_segmentation_mesh(job.name, geometry, options, regions, progress)
    if isinstance(geometry, DicomGeometry):
        return build_dicom_mesh(job.name, geometry, options, regions, progress)
    if isinstance(geometry, AtlasGeometry):
        return build_atlas_mesh(job.name, geometry, options, regions, progress)
    raise TypeError(f"no mesher for geometry {type(geometry).__name__}")  # unreachable: schema is closed


def model_tets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes, linear tetrahedra and their physical (region) tags of the current gmsh model."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    index = np.zeros(int(node_tags.max()) + 1, dtype=np.int64)
    index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
    points = coords.reshape(-1, 3)
    tets, tags = [], []
    for dim, phys in gmsh.model.getPhysicalGroups(3):
        for entity in gmsh.model.getEntitiesForPhysicalGroup(dim, phys):
            types, _, nodes = gmsh.model.mesh.getElements(3, entity)
            for etype, enodes in zip(types, nodes):
                if etype != 4:  # 4-node tetrahedron
                    continue
                t = index[enodes.astype(np.int64)].reshape(-1, 4)
                tets.append(t)
                tags.append(np.full(len(t), phys, dtype=np.int32))
    if not tets:
        return points, np.zeros((0, 4), np.int64), np.zeros(0, np.int32)
    return points, np.concatenate(tets), np.concatenate(tags)


def generate_mesh(job: MeshJob, msh_path: Path, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Mesh the job's geometry, write ``msh_path`` (gmsh 4.1) and return the quality report.

    Raises:
        InputDataError: when the mesh has inverted or degenerate elements or an empty region.
    """
    with gmsh_session(job.name):
        frame = build_model(job, progress)
        points, tets, tags = model_tets()
        progress(f"quality check of {len(tets)} tetrahedra")
        report = tet_quality(points, tets, tags)
        names = {tag: name for name, tag in job.regions.tags.items()}
        report["regions"] = {
            names.get(tag, str(tag)): {"tag": tag, "cells": report["cells_per_tag"].get(tag, 0),
                                       "volume_mm3": report["volume_per_tag"].get(tag, 0.0)}
            for tag in sorted(names)
        }
        report["frame"] = frame
        empty = [name for name, r in report["regions"].items() if r["cells"] == 0]
        if empty:
            raise InputDataError(f"{job.name}: mesh has no cells in region(s) {empty}; refine mesh sizes "
                                 f"(mesh.size_tumour = {job.options.size_tumour:g} mm)")
        report["degenerate_threshold"] = DEGENERATE_RADIUS_RATIO
        if report["inverted"] or report["min_radius_ratio"] < DEGENERATE_RADIUS_RATIO:
            raise InputDataError(
                f"{job.name}: the mesh has {report['inverted']} inverted elements and a minimum radius ratio of "
                f"{report['min_radius_ratio']:.2e} (degenerate below {DEGENERATE_RADIUS_RATIO:g}); change "
                "mesh.size_tumour/size_far, mesh.smoothing_iterations or mesh.optimize")
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.SaveAll", 0)
        msh_path.parent.mkdir(parents=True, exist_ok=True)
        gmsh.write(str(msh_path))
    return report
