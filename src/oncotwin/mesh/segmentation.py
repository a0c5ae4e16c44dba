"""Tagged tetrahedral meshes from segmentations (gmsh), with conforming smooth interfaces.

Pipeline (all on one rank, in the caller's current gmsh model):

1. :mod:`oncotwin.mesh.preprocess` builds the cropped region-tag volume.
2. Every face-connected component of every region gets its own id, and ``vtkSurfaceNets3D`` extracts
   the multi-material surface between ids: a triangle mesh with shared vertices on every interface
   and triple line, smoothed by constrained relaxation (vertices stay within half a voxel of their
   start, so there is no staircase).
3. Smoothing shrinks small and thin structures (15-40 % for 1-2 voxel thick fragments), so
   :func:`restore_volumes` moves every interface along its normal until each component encloses its
   voxel volume again (to 0.2 %), keeping the surface smooth and conforming.
4. One gmsh discrete surface per pair of adjacent ids, kept as is (surface triangles stay at voxel
   size; gmsh's reparametrisation of the discrete surfaces failed on BraTS with overlapping facets).
   The volume size field (fine in the tumour, ``size_rim`` at its boundary, graded to ``size_far``)
   is a native gmsh ``Structured`` field on the voxel grid.
5. One volume per component (bounded by all its surfaces, holes included), Delaunay ``generate(3)``
   and, with ``mesh.optimize``, gmsh's tetrahedral optimiser.
6. :func:`remove_surface_caps` repairs the flat tetrahedra spanning two surface triangles of one
   patch (local deletion on the outer boundary, edge removal otherwise), which no optimiser can touch.

Components (rather than regions) bound the gmsh volumes because gmsh identifies each volume from the
set of surfaces around a connected cavity: a region in two pieces must be two volumes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import gmsh
import numpy as np
from scipy import ndimage

from oncotwin.case.schema import Case
from oncotwin.core.errors import InputDataError
from oncotwin.mesh.preprocess import TagVolume, segmentation_tag_volume

REMESH = False
_FACE_CONNECTIVITY = ndimage.generate_binary_structure(3, 1)


def build_segmentation_mesh(case: Case, progress: Callable[[str], None]) -> dict:
    """Mesh a segmentation case in the current gmsh model (gmsh initialised by the caller).

    Returns:
        JSON-serialisable metadata of the image frame (affine, shape, spacing, crop box, labels found)
        and meshing statistics.

    Raises:
        InputDataError: bad images, absent labels, empty regions or a failed mesh generation.
    """
    volume = segmentation_tag_volume(case, progress)
    return mesh_tag_volume(volume, case, progress)


def mesh_tag_volume(volume: TagVolume, case: Case, progress: Callable[[str], None]) -> dict:
    """Mesh a region-tag volume in the current gmsh model and return the frame metadata."""
    start = time.perf_counter()
    components, component_tag = label_components(volume.tags)
    progress(f"{len(component_tag) - 1} connected components in {len(set(component_tag[1:]))} regions")
    points, triangles, pairs = extract_surfaces(components, volume, case.mesh.smoothing_iterations)
    progress(f"surface nets: {len(triangles)} triangles on {len(np.unique(pairs, axis=0))} interfaces "
             f"({time.perf_counter() - start:.1f} s)")
    surface_pairs = add_discrete_surfaces(points, triangles, pairs, REMESH)
    progress(f"{len(surface_pairs)} discrete surface patches ({time.perf_counter() - start:.1f} s)")
    volumes = add_volumes(surface_pairs, len(component_tag), REMESH)
    add_physical_groups(case, surface_pairs, volumes, component_tag)
    size_file = set_size_field(case, volume)
    try:
        generate(case, progress)
        caps = remove_surface_caps(volumes, surface_pairs)
        progress(f"flat surface caps removed: {caps['outer']} outer, {caps['inner']} across interfaces, "
                 f"{caps['interior']} inside ({time.perf_counter() - start:.1f} s)")
    finally:
        if size_file is not None:
            os.remove(size_file)
    frame = volume.frame()
    frame["meshing_seconds"] = round(time.perf_counter() - start, 2)
    frame["surface_patches"] = len(surface_pairs)
    frame["surface_caps_removed"] = caps
    return frame


# ------------------------------------------------------------------------------------ components
def label_components(tags: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Number the face-connected components of every tag.

    Returns:
        Component ids (0 = outside) and the region tag of every id (index 0 -> 0).
    """
    components = np.zeros(tags.shape, dtype=np.int32)
    component_tag = [0]
    for tag in np.unique(tags):
        if tag == 0:
            continue
        labels, count = ndimage.label(tags == tag, structure=_FACE_CONNECTIVITY)
        inside = labels > 0
        components[inside] = labels[inside] + len(component_tag) - 1
        component_tag += [int(tag)] * count
    return components, component_tag


# -------------------------------------------------------------------------------------- surfaces
def extract_surfaces(components: np.ndarray, volume: TagVolume, iterations: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conforming smoothed multi-material surface of the component ids (world coordinates).

    Returns:
        Points (n, 3) in world mm, triangles (m, 3) and the sorted pair of component ids on the two
        sides of every triangle (m, 2).
    """
    import vtk
    from vtk.util import numpy_support

    spacing = volume.spacing
    image = vtk.vtkImageData()
    image.SetDimensions(*components.shape)
    image.SetSpacing(*spacing)
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(components.ravel(order="F"), deep=True))
    nets = vtk.vtkSurfaceNets3D()
    nets.SetInputData(image)
    count = int(components.max())
    nets.GenerateLabels(count, 1, count)
    nets.SetBackgroundLabel(0)
    nets.SetOutputMeshTypeToTriangles()
    nets.SetSmoothing(iterations > 0)
    nets.SetNumberOfIterations(max(iterations, 0))
    # A vertex may move at most a quarter voxel from where it started: removes the staircase while
    # bounding the shrinkage of small convex lesions (the automatic constraint lost ~25 % on r = 6 voxels).
    nets.SetAutomaticSmoothingConstraints(False)
    nets.SetConstraintStrategyToConstraintBox()
    nets.SetConstraintBox(*(0.5 * spacing))
    nets.Update()
    output = nets.GetOutput()
    points = numpy_support.vtk_to_numpy(output.GetPoints().GetData()).astype(float)
    triangles = numpy_support.vtk_to_numpy(output.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    triangles = triangles.astype(np.int64)
    # BoundaryLabels (a, b): the triangle normal (right-hand rule) points out of a, into b
    labels = numpy_support.vtk_to_numpy(output.GetCellData().GetArray("BoundaryLabels")).astype(np.int64)
    if iterations > 0:
        targets = np.bincount(components.ravel(), minlength=int(components.max()) + 1) * float(np.prod(spacing))
        points = restore_volumes(points, triangles, labels, targets.astype(float), 0.25 * float(spacing.min()))
    # scaled voxel coordinates -> voxel indices -> world
    index = points / spacing
    world = index @ volume.affine[:3, :3].T + volume.affine[:3, 3]
    return world, triangles, np.sort(labels, axis=1)


def enclosed_volumes(points: np.ndarray, triangles: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Volume enclosed by every component id (divergence theorem on the oriented multi-material surface).

    ``labels[t] = (a, b)`` with the normal of triangle ``t`` pointing out of ``a`` into ``b``.
    """
    origin = points.mean(axis=0)
    a, b, c = (points[triangles[:, i]] - origin for i in range(3))
    signed = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
    return np.bincount(labels[:, 0], signed, count) - np.bincount(labels[:, 1], signed, count)


def restore_volumes(points: np.ndarray, triangles: np.ndarray, labels: np.ndarray, targets: np.ndarray,
                    max_step: float, iterations: int = 12, tolerance: float = 2e-3) -> np.ndarray:
    """Move the interfaces along their normals until every component encloses its voxel volume.

    Smoothing shrinks convex and thin structures (a 1-2 voxel thick fragment loses 15-40 %). Every
    component ``c`` gets a pressure ``p_c`` (``p_0 = 0`` outside) and the interface between ``a`` and
    ``b`` moves by ``p_a - p_b`` towards ``b``: the least-squares (area-weighted) displacement that
    restores all volumes to first order, which is a graph-Laplacian solve on the components. A few
    Newton-like passes converge; each vertex moves by the area-weighted mean of its triangles'
    displacements (so the surface stays smooth and conforming), at most ``max_step`` per pass, and
    never so far that one of its triangles turns over.

    Args:
        points: vertex coordinates (mm, axis-aligned voxel frame).
        triangles: vertex indices (m, 3).
        labels: (a, b) component ids on the two sides (normal from a into b), shape (m, 2).
        targets: volume of every component id (index 0, outside, is ignored).
        max_step: largest vertex displacement per pass (mm).

    Returns:
        The displaced points.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    count = len(targets)
    points = points.copy()
    pairs = np.sort(labels, axis=1)
    sign = np.where(labels[:, 0] == pairs[:, 0], 1.0, -1.0)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    first, second = unique[:, 0], unique[:, 1]
    rows, cols = np.concatenate([first, second, first, second]), np.concatenate([first, second, second, first])

    def unit_normals(p):
        cross = np.cross(p[triangles[:, 1]] - p[triangles[:, 0]], p[triangles[:, 2]] - p[triangles[:, 0]])
        norm = np.linalg.norm(cross, axis=1)
        return cross / np.maximum(norm, 1e-300)[:, None], 0.5 * norm

    start_normal = unit_normals(points)[0]
    for _ in range(iterations):
        deficit = targets - enclosed_volumes(points, triangles, labels, count)
        if np.all(np.abs(deficit[1:]) <= tolerance * targets[1:]):
            break
        normal, area = unit_normals(points)
        pair_area = np.bincount(inverse, area, len(unique))
        values = np.concatenate([pair_area, pair_area, -pair_area, -pair_area])
        laplacian = sparse.csc_matrix((values, (rows, cols)), shape=(count, count))[1:, 1:]
        pressure = np.zeros(count)
        pressure[1:] = spsolve(laplacian.tocsc(), deficit[1:])
        shift = pressure[first] - pressure[second]  # along the normal from pairs[0] into pairs[1]
        contribution = (area * shift[inverse] * sign)[:, None] * normal
        move = np.zeros_like(points)
        weight = np.zeros(len(points))
        for k in range(3):
            np.add.at(move, triangles[:, k], contribution)
            np.add.at(weight, triangles[:, k], area)
        move /= np.maximum(weight, 1e-300)[:, None]
        length = np.linalg.norm(move, axis=1)
        move *= np.minimum(1.0, max_step / np.maximum(length, 1e-300))[:, None]
        for _ in range(20):  # freeze the vertices of triangles that would turn (> ~80 deg from the start)
            turned = np.einsum("ij,ij->i", unit_normals(points + move)[0], start_normal) < 0.2
            if not turned.any():
                break
            move[np.unique(triangles[turned])] = 0.0
        points += move
    return points


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


def add_physical_groups(case: Case, surface_pairs: dict[int, tuple[int, int]], volumes: dict[int, int],
                        component_tag: list[int]) -> None:
    """Region volumes (tag = region tag) and the ``outer`` / ``tumour_boundary`` facet groups."""
    for name, tag in case.region_tags().items():
        entities = [v for c, v in volumes.items() if component_tag[c] == tag]
        if not entities:
            raise InputDataError(f"{case.name}: key 'regions.{name}': region has no voxels to mesh")
        gmsh.model.addPhysicalGroup(3, entities, tag, name=name)
    tumour = {case.region_tags()[n] for n in case.tumour_regions()}
    in_tumour = [component_tag[c] in tumour for c in range(len(component_tag))]
    outer = [s for s, pair in surface_pairs.items() if 0 in pair]
    boundary = [s for s, (a, b) in surface_pairs.items() if in_tumour[a] != in_tumour[b]]
    names = case.boundary_names()
    gmsh.model.addPhysicalGroup(2, outer, names.index("outer") + 1, name="outer")
    gmsh.model.addPhysicalGroup(2, boundary, names.index("tumour_boundary") + 1, name="tumour_boundary")


# ------------------------------------------------------------------------------------ size field
def size_volume(case: Case, volume: TagVolume) -> np.ndarray:
    """Target edge length (mm) on the voxel grid, from the signed distance to the tumour surface."""
    options = case.mesh
    region_tags = case.region_tags()
    tumour = np.isin(volume.tags, [region_tags[n] for n in case.tumour_regions()])
    spacing = volume.spacing
    outside = ndimage.distance_transform_edt(~tumour, sampling=spacing)
    inside = ndimage.distance_transform_edt(tumour, sampling=spacing)
    rim = options.size_rim if options.size_rim is not None else options.size_tumour
    grading = max(options.grading_distance, 1e-9)
    size = rim + (options.size_far - rim) * np.clip(outside / grading, 0.0, 1.0)
    band = 2.0 * options.size_tumour
    inner = rim + (options.size_tumour - rim) * np.clip(inside / band, 0.0, 1.0)
    return np.where(tumour, inner, size).astype(np.float64)


def set_size_field(case: Case, volume: TagVolume) -> str | None:
    """Drive gmsh with the voxel size map (``size_far`` outside the grid).

    When the image axes are the world axes up to order and sign (every NIfTI/NRRD volume without an
    oblique acquisition), the map becomes a native gmsh ``Structured`` field (trilinear, evaluated in
    C++, usable by every 3D algorithm); otherwise a Python size callback looks up the nearest voxel.

    Returns:
        The temporary file of the structured field (remove it after meshing), or None.
    """
    import tempfile

    sizes = size_volume(case, volume)
    far = float(case.mesh.size_far)
    for option, value in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                          ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.MeshSizeMax", far),
                          ("Mesh.MeshSizeMin", 0.25 * float(sizes.min()))):
        gmsh.option.setNumber(option, value)
    matrix = volume.affine[:3, :3]
    axis_of_world = np.argmax(np.abs(matrix), axis=1)  # voxel axis along each world axis
    aligned = (sorted(axis_of_world) == [0, 1, 2]
               and np.allclose(np.abs(matrix[np.arange(3), axis_of_world]), volume.spacing[axis_of_world])
               and np.count_nonzero(np.abs(matrix) > 1e-6 * volume.spacing.max()) == 3)
    if not aligned:
        _set_size_callback(sizes, volume.affine, far)
        return None
    grid = np.transpose(sizes, axis_of_world)
    steps = matrix[np.arange(3), axis_of_world]
    flip = tuple(w for w in range(3) if steps[w] < 0)
    grid = np.flip(grid, axis=flip) if flip else grid
    corner = volume.affine[:3, 3] + np.where(steps < 0, steps * (np.asarray(grid.shape) - 1), 0.0)
    descriptor, path = tempfile.mkstemp(prefix="oncotwin_size_", suffix=".bin")
    with os.fdopen(descriptor, "wb") as stream:
        corner.astype(np.float64).tofile(stream)
        np.abs(steps).astype(np.float64).tofile(stream)
        np.asarray(grid.shape, dtype=np.int32).tofile(stream)
        np.ascontiguousarray(grid, dtype=np.float64).tofile(stream)
    field = gmsh.model.mesh.field.add("Structured")
    gmsh.model.mesh.field.setString(field, "FileName", path)
    gmsh.model.mesh.field.setNumber(field, "TextFormat", 0)
    gmsh.model.mesh.field.setNumber(field, "SetOutsideValue", 1)
    gmsh.model.mesh.field.setNumber(field, "OutsideValue", far)
    gmsh.model.mesh.field.setAsBackgroundMesh(field)
    return path


def _set_size_callback(sizes: np.ndarray, affine: np.ndarray, far: float) -> None:
    inverse = np.linalg.inv(affine)
    rows = [tuple(float(v) for v in inverse[r]) for r in range(3)]
    shape = sizes.shape
    flat = sizes.ravel().tolist()
    strides = (shape[1] * shape[2], shape[2], 1)

    def size_at(dim, tag, x, y, z, lc):  # noqa: ARG001 - gmsh callback signature
        ijk = [int(round(r[0] * x + r[1] * y + r[2] * z + r[3])) for r in rows]
        if not all(0 <= ijk[a] < shape[a] for a in range(3)):
            return far
        return flat[ijk[0] * strides[0] + ijk[1] * strides[1] + ijk[2]]

    gmsh.model.mesh.setSizeCallback(size_at)


# ------------------------------------------------------------------------------------ generation
def generate(case: Case, progress: Callable[[str], None]) -> None:
    """Mesh surfaces and volumes (Delaunay); with ``mesh.optimize``, gmsh's own tetrahedral optimiser.

    The surfaces are the fixed surface-nets triangles, so the optimiser only improves interior
    elements below ``Mesh.OptimizeThreshold``. Netgen's optimiser gave the same worst elements (flat
    caps on two adjacent surface triangles) at 3-4x the meshing time on BraTS, and HXT stalled in its
    improvement passes on these surfaces.
    """
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("Mesh.Optimize", 1 if case.mesh.optimize else 0)
    start = time.perf_counter()
    try:
        gmsh.model.mesh.generate(2)
        gmsh.model.mesh.generate(3)
        progress(f"volume mesh done ({time.perf_counter() - start:.1f} s)")
    except Exception as exc:  # gmsh raises a bare Exception with its last error
        raise InputDataError(f"{case.name}: gmsh failed to mesh the segmentation ({exc}); try a smaller "
                             "mesh.size_far, more mesh.smoothing_iterations or a larger mesh.min_component"
                             ) from None


# ------------------------------------------------------------------------------------ cap repair
_FACES = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))


def _signed_volume(p: np.ndarray, tet) -> float:
    a, b, c, d = (p[i] for i in tet)
    return float(np.dot(np.cross(b - a, c - a), d - a)) / 6.0


def _triangulations(polygon: list[int]):
    """Every triangulation of a convex-indexed polygon (list of vertex ids), as lists of triangles."""
    if len(polygon) < 3:
        yield []
        return
    first, last = polygon[0], polygon[-1]
    for k in range(1, len(polygon) - 1):
        for left in _triangulations(polygon[:k + 1]):
            for right in _triangulations(polygon[k:]):
                yield left + [(first, polygon[k], last)] + right


def _ratio(p: np.ndarray, tets) -> np.ndarray:
    from oncotwin.mesh.quality import radius_ratio

    return radius_ratio(p, np.asarray(tets, dtype=np.int64).reshape(-1, 4))


def remove_surface_caps(volumes: dict[int, int], surface_pairs: dict[int, tuple[int, int]],
                        threshold: float = 0.1, passes: int = 3) -> dict:
    """Remove the flat tetrahedra ("caps") spanning two adjacent triangles of one surface patch.

    Surface nets quads are nearly planar and cocircular, so Delaunay may fill one with a flat
    tetrahedron ``abcd`` whose faces ``abc`` and ``abd`` are both surface triangles; with fixed surface
    triangles no optimiser can remove it. Locally:

    * on the outer boundary the cap is deleted and its other faces ``acd``, ``bcd`` become the
      boundary triangles (the volume changes by the cap's tiny volume);
    * on an inner interface, either the tetrahedra around the cap's inner edge ``cd`` (all in its
      region) are re-meshed without ``cd`` (edge removal: best triangulation of the ring polygon; the
      surface is unchanged), or else the cap and the tetrahedra around the surface edge ``ab`` on the
      other side are re-meshed without ``ab`` and given to the other region: the interface then runs
      through ``acd`` and ``bcd``.

    An operation is applied only when every new tetrahedron is positive, the ring's volume is kept
    and the worst element improves; ``cd`` must not already be a surface edge. Cells below
    ``0.2 * threshold`` that are not such caps (or whose cap cannot be repaired so) get the best
    removal of one of their interior edges (ring in one region, no surface triangle around it), which
    keeps every surface (only the worst: these Python loops are slow on unoptimised meshes). Triangles
    are updated in their discrete surface (same orientation with respect to the regions), so facet
    groups stay consistent.

    Returns:
        Counts of repaired caps: deleted on the outer boundary, moved across an interface, and
        removed inside their region by an interior edge removal (surface unchanged).
    """
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    node_tags = node_tags.astype(np.int64)
    p = np.zeros((int(node_tags.max()) + 1, 3))
    p[node_tags] = coords.reshape(-1, 3)
    stats = {"outer": 0, "inner": 0, "interior": 0}
    for _ in range(passes):
        done = _cap_pass(p, volumes, surface_pairs, threshold, stats)
        if not done:
            break
    return stats


def _cap_pass(p: np.ndarray, volumes: dict[int, int], surface_pairs: dict[int, tuple[int, int]],
              threshold: float, stats: dict) -> int:
    entity_of = {v: c for c, v in volumes.items()}
    tet_list, comp_list, tag_list = [], [], []
    for volume, component in entity_of.items():
        _, etags, enodes = gmsh.model.mesh.getElements(3, volume)
        if not len(etags):
            continue
        tet_list.append(enodes[0].astype(np.int64).reshape(-1, 4))
        tag_list.append(etags[0].astype(np.int64))
        comp_list.append(np.full(len(etags[0]), component, dtype=np.int64))
    tets, comps, etags = np.concatenate(tet_list), np.concatenate(comp_list), np.concatenate(tag_list)
    ratio = _ratio(p, tets)
    bad = np.flatnonzero(ratio < threshold)
    if not len(bad):
        return 0
    near = np.zeros(len(p), dtype=bool)
    near[tets[bad].ravel()] = True
    surface_of: dict[tuple, tuple[int, int, tuple]] = {}  # sorted triangle -> (surface, element tag, nodes)
    for surface in surface_pairs:  # only the triangles touching a bad cell
        _, stags, snodes = gmsh.model.mesh.getElements(2, surface)
        if not len(stags):
            continue
        triangles = snodes[0].astype(np.int64).reshape(-1, 3)
        keep = near[triangles].any(axis=1)
        for tag, tri in zip(stags[0][keep].tolist(), triangles[keep].tolist()):
            surface_of[tuple(sorted(tri))] = (surface, tag, tuple(tri))
    # vertex -> tetrahedra (CSR)
    flat = tets.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(len(p) + 1))

    def around(*vertices):
        sets = [set((order[starts[v]:starts[v + 1]] // 4).tolist()) for v in vertices]
        return sorted(set.intersection(*sets))

    locked: set[int] = set()
    remove_tets: dict[int, list[int]] = {}
    add_tets: dict[int, list[tuple]] = {}
    remove_tris: dict[int, list[int]] = {}
    add_tris: dict[int, list[tuple]] = {}
    changed = 0

    def remove_an_edge(t: int) -> bool:
        """Edge removal on the best interior edge of tetrahedron ``t`` (ring in one region, not on a surface)."""
        tet = tets[t].tolist()
        if ratio[t] >= 0.2 * threshold or locked & set(tet):  # only the worst: the loop is in Python
            return False
        component, best, best_ring, quality = int(comps[t]), [], [], float(ratio[t])
        for i, j in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
            u, v = tet[i], tet[j]
            ring = around(u, v)
            if len(ring) > 7 or any(comps[s] != component for s in ring):
                continue
            if any(tuple(sorted((u, v, x))) in surface_of for s in ring for x in tets[s] if x not in (u, v)):
                continue
            start, end = (x for x in tet if x not in (u, v))
            new, quality = _edge_removal(p, tets, [s for s in ring if s != t], u, v, start, end, ring, quality)
            if new:
                best, best_ring = new, ring
        if not best:
            return False
        for s in best_ring:
            remove_tets.setdefault(component, []).append(int(etags[s]))
            locked.update(tets[s].tolist())
        add_tets.setdefault(component, []).extend(best)
        stats["interior"] += 1
        return True

    for t in bad[np.argsort(ratio[bad])]:
        tet = tets[t].tolist()
        faces = [tuple(sorted(tet[i] for i in f)) for f in _FACES]
        on_surface = [f for f in faces if f in surface_of]
        if len(on_surface) != 2 or surface_of[on_surface[0]][0] != surface_of[on_surface[1]][0]:
            changed += remove_an_edge(t)
            continue
        surface = surface_of[on_surface[0]][0]
        a, b = sorted(set(on_surface[0]) & set(on_surface[1]))
        c, d = (v for v in tet if v not in (a, b))
        if locked & set(tet):
            continue
        # cd must not be a surface edge already
        cd_ring = around(c, d)
        if any(tuple(sorted((c, d, x))) in surface_of for s in cd_ring for x in tets[s] if x not in (c, d)):
            changed += remove_an_edge(t)
            continue
        ring = around(a, b)
        component = int(comps[t])
        pair = surface_pairs[surface]
        other = pair[1] if pair[0] == component else pair[0]
        new: list[tuple] = []
        if other == 0:
            if ring != [t]:
                changed += remove_an_edge(t)
                continue
        else:
            # (1) remove cd inside the cap's region (surface unchanged); (2) remove ab across the interface
            quality = float(ratio[t])
            inside = [s for s in cd_ring if s != t]
            if all(comps[s] == component for s in inside) and len(inside) <= 7:
                new, quality = _edge_removal(p, tets, inside, c, d, a, b, cd_ring, quality)
                if new:
                    for s in cd_ring:
                        remove_tets.setdefault(component, []).append(int(etags[s]))
                        locked |= set(tets[s].tolist())
                    add_tets.setdefault(component, []).extend(new)
                    stats["interior"] += 1
                    changed += 1
                    continue  # done
            others = [s for s in ring if s != t]
            if any(comps[s] != other for s in others) or len(others) > 7:
                changed += remove_an_edge(t)
                continue
            new, _ = _edge_removal(p, tets, others, a, b, c, d, ring, quality)
            if not new:
                changed += remove_an_edge(t)
                continue
        # surface: remove abc, abd; add acd, bcd with the same orientation relative to the regions
        old = surface_of[on_surface[0]][2]
        centre = p[tet].mean(axis=0)
        old_out = np.dot(np.cross(p[old[1]] - p[old[0]], p[old[2]] - p[old[0]]), p[old[0]] - centre) > 0
        for face in (on_surface[0], on_surface[1]):
            remove_tris.setdefault(surface, []).append(surface_of.pop(face)[1])
        for tri in ((a, c, d), (b, c, d)):
            out = np.dot(np.cross(p[tri[1]] - p[tri[0]], p[tri[2]] - p[tri[0]]), p[tri[0]] - centre) > 0
            tri = tri if out != old_out else (tri[0], tri[2], tri[1])
            add_tris.setdefault(surface, []).append(tri)
            surface_of[tuple(sorted(tri))] = (surface, -1, tri)
        for s in ring:
            remove_tets.setdefault(int(comps[s]), []).append(int(etags[s]))
            locked |= set(tets[s].tolist())
        if new:
            add_tets.setdefault(other, []).extend(new)
        stats["inner" if other else "outer"] += 1
        changed += 1
    for component, removed in remove_tets.items():
        gmsh.model.mesh.removeElements(3, volumes[component], removed)
    for component, added in add_tets.items():
        gmsh.model.mesh.addElementsByType(volumes[component], 4, [], np.asarray(added, dtype=np.int64).ravel())
    for surface, removed in remove_tris.items():
        gmsh.model.mesh.removeElements(2, surface, removed)
    for surface, added in add_tris.items():
        gmsh.model.mesh.addElementsByType(surface, 2, [], np.asarray(added, dtype=np.int64).ravel())
    return changed


def _edge_removal(p: np.ndarray, tets: np.ndarray, others: list[int], u: int, v: int, start: int, end: int,
                  ring: list[int], quality: float) -> tuple[list[tuple], float]:
    """Best re-meshing of the ring of edge ``uv`` without it (tetrahedra over a triangulated link polygon).

    ``others`` are the ring's tetrahedra but the one whose link edge is ``(start, end)``. Returns the new
    tetrahedra (positive, same total volume, worst radius ratio above ``quality``) or ``[]``.
    """
    polygon = _ring_polygon([tets[s].tolist() for s in others], u, v, start, end)
    if polygon is None:
        return [], quality
    old_volume = sum(abs(_signed_volume(p, tets[s])) for s in ring)
    best: list[tuple] = []
    for triangles in _triangulations(polygon):
        candidate = [q for x, y, z in triangles for q in ((x, y, z, u), (y, x, z, v))]
        signed = np.array([_signed_volume(p, q) for q in candidate])
        if signed.max() < 0:
            candidate, signed = [(q[1], q[0], q[2], q[3]) for q in candidate], -signed
        if signed.min() <= 0 or abs(signed.sum() - old_volume) > 1e-6 * old_volume:
            continue
        worst = float(_ratio(p, candidate).min())
        if worst > quality:
            best, quality = candidate, worst
    return best, quality


def _ring_polygon(others: list[list[int]], a: int, b: int, c: int, d: int) -> list[int] | None:
    """Chain the link edges of the tetrahedra around ``ab`` (other side) from ``c`` to ``d``."""
    links = [tuple(v for v in tet if v not in (a, b)) for tet in others]
    polygon, current, unused = [c], c, list(links)
    while current != d:
        step = next((e for e in unused if current in e), None)
        if step is None:
            return None
        unused.remove(step)
        current = step[1] if step[0] == current else step[0]
        polygon.append(current)
    return polygon if not unused and len(set(polygon)) == len(polygon) else None
