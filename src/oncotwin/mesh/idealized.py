"""Idealized geometries with gmsh's OpenCASCADE kernel (carry the analytic verification cases).

A spherical tumour (optionally with a necrotic core) centred at the origin inside a concentric sphere of
host tissue. Regions and boundaries carry the same physical names and tags as image-based meshes.
"""

from __future__ import annotations

from collections.abc import Callable

import gmsh

from oncotwin.case.geometry import SphereGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.mesh.job import MeshRegions


def add_sphere_size_field(geometry: SphereGeometry, options: MeshOptions) -> int:
    """Background size field: ``size_rim`` within ``rim_band`` of the tumour (and core) surface, grading
    linearly to ``size_far`` over ``grading_distance``, at most ``size_tumour`` inside the tumour, and near the
    outer sphere at most 0.12 radii (so that its polyhedral volume is within 1%) or ``size_tumour``, whichever
    is larger.

    Distances to the spherical interfaces are analytic (MathEval), so no surface sampling is needed.
    """
    field = gmsh.model.mesh.field
    rim = options.size_rim or options.size_tumour
    r = "Sqrt(x*x+y*y+z*z)"
    fields = []
    for radius in (geometry.tumour_radius, geometry.necrotic_radius):
        if radius > 0:
            f = field.add("MathEval")
            dist = f"Max(0, Fabs({r}-{radius!r}) - {options.rim_band!r})"
            field.setString(f, "F", f"Min({options.size_far!r}, {rim!r} + {options.size_far - rim!r}"
                                    f"*{dist}/{options.grading_distance!r})")
            fields.append(f)
    ball = field.add("Ball")
    for key, value in {"Radius": geometry.tumour_radius, "VIn": options.size_tumour,
                       "VOut": 1e22, "Thickness": 0.0}.items():
        field.setNumber(ball, key, value)
    fields.append(ball)
    outer = geometry.host_radius or geometry.tumour_radius
    cap = field.add("MathEval")
    cap_size = max(0.12 * outer, options.size_tumour)  # never finer than the tumour size asks for
    field.setString(cap, "F", f"{cap_size!r} + 0.5*Fabs({outer!r}-{r})")
    fields.append(cap)
    combined = field.add("Min")
    field.setNumbers(combined, "FieldsList", fields)
    field.setAsBackgroundMesh(combined)
    return combined


def build_sphere_mesh(geometry: SphereGeometry, options: MeshOptions, regions: MeshRegions,
                      progress: Callable[[str], None] = lambda _: None) -> dict:
    """Build and mesh the concentric-sphere geometry in the current gmsh model.

    Args:
        geometry: the sphere radii.
        options: the mesh options.
        regions: region and boundary tags.
        progress: receives progress messages.

    Returns:
        Metadata describing the geometry frame (JSON-serialisable).
    """
    occ = gmsh.model.occ
    radii = [r for r in (geometry.host_radius, geometry.tumour_radius, geometry.necrotic_radius) if r]
    balls = [(3, occ.addSphere(0, 0, 0, r)) for r in radii]
    if len(balls) > 1:
        occ.fragment(balls[:1], balls[1:])
    occ.synchronize()

    def extent(dim: int, tag: int) -> float:
        xmin, _, _, xmax, _, _ = gmsh.model.getBoundingBox(dim, tag)
        return 0.5 * (xmax - xmin)

    def nearest(values: list[float], target: float) -> int:
        return min(range(len(values)), key=lambda i: abs(values[i] - target))

    volumes = [tag for _, tag in gmsh.model.getEntities(3)]
    names_by_radius = {geometry.tumour_radius: "tumour"}
    if geometry.host_radius:
        names_by_radius[geometry.host_radius] = "host"
    if geometry.necrotic_radius > 0:
        names_by_radius[geometry.necrotic_radius] = "necrotic"
    region_tags = regions.tags
    vol_extent = [extent(3, v) for v in volumes]
    for radius, name in names_by_radius.items():
        vol = volumes[nearest(vol_extent, radius)]
        gmsh.model.addPhysicalGroup(3, [vol], region_tags[name], name=name)

    surfaces = [tag for _, tag in gmsh.model.getEntities(2)]
    surf_extent = [extent(2, s) for s in surfaces]
    boundary_by_radius = {geometry.tumour_radius: "tumour_boundary"}
    if geometry.host_radius:
        boundary_by_radius[geometry.host_radius] = "outer"
    if geometry.necrotic_radius > 0:
        boundary_by_radius[geometry.necrotic_radius] = "necrotic_boundary"
    boundary_tags = regions.boundary_tags()
    for radius, name in boundary_by_radius.items():
        surf = surfaces[nearest(surf_extent, radius)]
        gmsh.model.addPhysicalGroup(2, [surf], boundary_tags[name], name=name)

    add_sphere_size_field(geometry, options)
    for option in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{option}", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay surfaces
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay: follows the size field inside volumes
    gmsh.option.setNumber("Mesh.Optimize", 1 if options.optimize else 0)
    progress("meshing concentric spheres")
    gmsh.model.mesh.generate(3)
    return {"kind": "sphere", "centre_mm": [0.0, 0.0, 0.0],
            "radii_mm": {name: radius for radius, name in names_by_radius.items()}}
