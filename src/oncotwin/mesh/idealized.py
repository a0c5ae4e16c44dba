"""Idealized geometries with gmsh's OpenCASCADE kernel (carry the analytic verification cases).

A spherical tumour (optionally with a necrotic core) centred at the origin inside a concentric sphere of
host tissue. Regions and boundaries carry the same physical names and tags as image-based meshes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import gmsh

from oncotwin.case.schema import Case, MeshOptions, SphereGeometry


def sphere_size(geometry: SphereGeometry, options: MeshOptions) -> Callable[[float, float, float], float]:
    """Target element size at a point: ``size_rim`` at the tumour (and core) surface, grading linearly
    to ``size_far`` over ``grading_distance``, and at most ``size_tumour`` inside the tumour.

    The distance to the spherical interfaces is analytic, so no surface sampling is needed. Near the
    outer sphere the size is capped at 0.12 radii so that its polyhedral volume is within 1%.
    """
    rim = options.size_rim or options.size_tumour
    surfaces = [geometry.tumour_radius] + ([geometry.necrotic_radius] if geometry.necrotic_radius > 0 else [])

    def size(x: float, y: float, z: float) -> float:
        r = math.sqrt(x * x + y * y + z * z)
        dist = min(abs(r - s) for s in surfaces)
        h = min(options.size_far, rim + (options.size_far - rim) * dist / options.grading_distance)
        h = min(h, max(0.12 * geometry.host_radius, (geometry.host_radius - r) * 0.5 + 0.12 * geometry.host_radius))
        return min(h, options.size_tumour) if r < geometry.tumour_radius else h

    return size


def build_sphere_mesh(case: Case, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Build and mesh the concentric-sphere geometry in the current gmsh model.

    Returns:
        Metadata describing the geometry frame (JSON-serialisable).
    """
    geometry: SphereGeometry = case.geometry
    options = case.mesh
    occ = gmsh.model.occ
    radii = [geometry.host_radius, geometry.tumour_radius]
    if geometry.necrotic_radius > 0:
        radii.append(geometry.necrotic_radius)
    balls = [(3, occ.addSphere(0, 0, 0, r)) for r in radii]
    occ.fragment(balls[:1], balls[1:])
    occ.synchronize()

    def extent(dim: int, tag: int) -> float:
        xmin, _, _, xmax, _, _ = gmsh.model.getBoundingBox(dim, tag)
        return 0.5 * (xmax - xmin)

    def nearest(values: list[float], target: float) -> int:
        return min(range(len(values)), key=lambda i: abs(values[i] - target))

    volumes = [tag for _, tag in gmsh.model.getEntities(3)]
    names_by_radius = {geometry.host_radius: "host", geometry.tumour_radius: "tumour"}
    if geometry.necrotic_radius > 0:
        names_by_radius[geometry.necrotic_radius] = "necrotic"
    region_tags = case.region_tags()
    vol_extent = [extent(3, v) for v in volumes]
    for radius, name in names_by_radius.items():
        vol = volumes[nearest(vol_extent, radius)]
        gmsh.model.addPhysicalGroup(3, [vol], region_tags[name], name=name)

    surfaces = [tag for _, tag in gmsh.model.getEntities(2)]
    surf_extent = [extent(2, s) for s in surfaces]
    boundary_by_radius = {geometry.host_radius: "outer", geometry.tumour_radius: "tumour_boundary"}
    if geometry.necrotic_radius > 0:
        boundary_by_radius[geometry.necrotic_radius] = "necrotic_boundary"
    boundary_tags = {name: i + 1 for i, name in enumerate(case.boundary_names())}
    for radius, name in boundary_by_radius.items():
        surf = surfaces[nearest(surf_extent, radius)]
        gmsh.model.addPhysicalGroup(2, [surf], boundary_tags[name], name=name)

    size = sphere_size(geometry, options)
    gmsh.model.mesh.setSizeCallback(lambda dim, tag, x, y, z, lc: size(x, y, z))
    for option in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{option}", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay surfaces
    gmsh.option.setNumber("Mesh.Algorithm3D", 10)  # HXT: fast, no slivers left after its optimisation
    gmsh.option.setNumber("Mesh.Optimize", 1 if options.optimize else 0)
    progress("meshing concentric spheres")
    gmsh.model.mesh.generate(3)
    return {"kind": "sphere", "centre_mm": [0.0, 0.0, 0.0],
            "radii_mm": {name: radius for radius, name in names_by_radius.items()}}
