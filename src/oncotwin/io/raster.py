"""Move fields between voxel images and P1 meshes (both in world RAS millimetres).

An image is a 3D voxel array with a voxel-to-world affine (see :mod:`oncotwin.imaging.images`): voxel index
``(i, j, k)`` sits at ``affine @ (i, j, k, 1)``, the voxel *centre*, in the same coordinates as the mesh.

* :func:`sample_image_at_nodes` reads an image at the nodes of a P1 space (image -> mesh), trilinear or
  nearest-voxel, purely locally on each rank.
* :func:`rasterise` evaluates a P1 function at every voxel centre of an image grid (mesh -> image):
  each rank locates the voxel centres in its own (owned) cells and rank 0 assembles the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.imaging.images import check_affine, world_to_voxel
from oncotwin.problems.level_sets import log_density

#: Voxel centres handled per batch by :func:`rasterise` (bounds the memory of the point location).
RASTER_CHUNK = 200_000

#: Slack in voxel units when deciding whether a point lies within the grid (rounding of the affine).
_VOXEL_TOL = 1e-6


def sample_image_at_nodes(V, image_array: np.ndarray, affine: np.ndarray, *, order: int = 1,
                          outside: float = 0.0) -> np.ndarray:
    """Values of a voxel image at the dof coordinates of a P1 space (local dofs incl. ghosts).

    The image covers the box of its voxels, ``-0.5 <= index <= n - 0.5`` along each axis. A node inside
    that box gets the trilinear interpolant of the voxel values (``order=1``; in the outer half voxel,
    beyond the last voxel centre, the edge value is extended) or the value of the voxel containing it
    (``order=0``); a node outside gets ``outside``. Purely local: no communication.

    Args:
        V: a scalar P1 function space (its mesh carries the communicator; not used).
        image_array: 3D voxel array (any numeric or boolean dtype; read as float).
        affine: voxel-to-world affine (4x4) of ``image_array``, world in the mesh's coordinates (mm).
        order: 1 for trilinear, 0 for nearest voxel.
        outside: value for nodes outside the image.

    Returns:
        Float array with one value per local dof (owned and ghost), in the order of
        ``V.tabulate_dof_coordinates()``, i.e. ready for ``u.x.array[:] = ...`` on a P1 function.

    Raises:
        ValueError: for a non-3D array, a bad affine, or an order other than 0 or 1.
    """
    array = np.asarray(image_array)
    if array.ndim != 3:
        raise ValueError(f"image_array must be 3D, got shape {array.shape}")
    if order not in (0, 1):
        raise ValueError(f"order must be 0 (nearest) or 1 (trilinear), got {order}")
    if V.dofmap.index_map_bs != 1:
        raise ValueError("sample_image_at_nodes needs a scalar (unblocked) function space")
    affine = check_affine(affine)
    shape = np.asarray(array.shape)
    ijk = world_to_voxel(V.tabulate_dof_coordinates(), affine)
    values = np.full(ijk.shape[0], float(outside))
    inside = np.all((ijk >= -0.5 - _VOXEL_TOL) & (ijk <= shape - 0.5 + _VOXEL_TOL), axis=1)
    if not inside.any():
        return values
    pts = ijk[inside]
    if order == 0:
        index = np.clip(np.floor(pts + 0.5).astype(np.int64), 0, shape - 1)
        values[inside] = array[index[:, 0], index[:, 1], index[:, 2]]
        return values
    pts = np.clip(pts, 0.0, shape - 1)
    # convert only the sub-block the nodes need to float (images may be much larger than the mesh)
    lo = np.floor(pts.min(axis=0)).astype(np.int64)
    hi = np.minimum(np.floor(pts.max(axis=0)).astype(np.int64) + 2, shape)
    block = np.asarray(array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], dtype=float)
    values[inside] = ndimage.map_coordinates(block, (pts - lo).T, order=1, mode="nearest", prefilter=False)
    return values


def _global_bounds(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (min, max) of the whole mesh's geometry over all ranks."""
    x = mesh.geometry.x[:, :3]
    lo = x.min(axis=0) if x.size else np.full(3, np.inf)
    hi = x.max(axis=0) if x.size else np.full(3, -np.inf)
    global_lo, global_hi = np.empty(3), np.empty(3)
    mesh.comm.Allreduce(np.ascontiguousarray(lo, dtype=float), global_lo, op=MPI.MIN)
    mesh.comm.Allreduce(np.ascontiguousarray(hi, dtype=float), global_hi, op=MPI.MAX)
    return global_lo, global_hi


def _owned_cell_bounds(mesh, num_owned: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (min, max) of this rank's owned cells (empty box when it owns none)."""
    if num_owned == 0:
        return np.full(3, np.inf), np.full(3, -np.inf)
    nodes = mesh.geometry.dofmaps[0][:num_owned].ravel()
    x = mesh.geometry.x[np.unique(nodes), :3]
    return x.min(axis=0), x.max(axis=0)


def _index_range(lo: np.ndarray, hi: np.ndarray, affine: np.ndarray, shape: np.ndarray):
    """Voxel index range [start, stop) whose centres can lie in the world box [lo, hi]."""
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    ijk = world_to_voxel(corners, affine)
    start = np.clip(np.ceil(ijk.min(axis=0) - _VOXEL_TOL), 0, shape).astype(np.int64)
    stop = np.clip(np.floor(ijk.max(axis=0) + _VOXEL_TOL) + 1, 0, shape).astype(np.int64)
    return start, np.maximum(stop, start)


class _CellLocator:
    """Finds, for each point, one owned cell of the mesh containing it.

    Candidates come from a bounding box tree of the owned cells (``compute_collisions_points``). On
    affine tetrahedra (the meshes built from images) the candidates are checked with barycentric
    coordinates in vectorised NumPy, which is much faster than ``compute_colliding_cells`` (a GJK
    distance per candidate, ~50 us per point); other meshes use ``compute_colliding_cells``.
    """

    #: Barycentric slack: a point within this (relative) distance outside a cell counts as inside.
    TOLERANCE = 1e-10

    def __init__(self, mesh, num_owned: int):
        self.mesh = mesh
        tdim = mesh.topology.dim
        self.tree = dolfinx.geometry.bb_tree(mesh, tdim, entities=np.arange(num_owned, dtype=np.int32))
        self.affine = (mesh.topology.cell_type == dolfinx.mesh.CellType.tetrahedron
                       and len(mesh.geometry.cmaps) == 1 and mesh.geometry.cmaps[0].degree == 1)
        if self.affine:
            x = mesh.geometry.x[:, :3]
            nodes = mesh.geometry.dofmaps[0][:num_owned]
            self.origin = x[nodes[:, 0]]
            edges = np.stack([x[nodes[:, c]] - self.origin for c in (1, 2, 3)], axis=2)  # columns
            inverse = np.linalg.inv(edges)
            self.rows = [np.ascontiguousarray(inverse[:, row, :]) for row in range(3)]

    def locate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices (into ``points``) of the points found in an owned cell, and that cell for each."""
        candidates = dolfinx.geometry.compute_collisions_points(self.tree, points)
        offsets = candidates.offsets
        if not self.affine:
            colliding = dolfinx.geometry.compute_colliding_cells(self.mesh, candidates, points)
            found = np.flatnonzero(np.diff(colliding.offsets) > 0)
            return found, colliding.array[colliding.offsets[found]].astype(np.int32)
        cells = candidates.array
        if cells.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        point = np.repeat(np.arange(points.shape[0]), np.diff(offsets))
        d = points[point] - self.origin[cells]
        inside = np.ones(cells.size, dtype=bool)
        last = np.ones(cells.size)
        for row in self.rows:  # row by row: never materialise the (pairs, 3, 3) gather
            lam = np.einsum("pj,pj->p", row[cells], d)
            inside &= lam >= -self.TOLERANCE
            last -= lam
        inside &= last >= -self.TOLERANCE
        hit_point, hit_cell = point[inside], cells[inside]
        # pairs come sorted by point: keep the first cell found for each point
        first = np.flatnonzero(np.diff(hit_point, prepend=-1) != 0)
        return hit_point[first], hit_cell[first].astype(np.int32)


def _evaluate(u, locator: _CellLocator, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``points``) of the points found in the locator's cells, and ``u`` there."""
    found, cells = locator.locate(points)
    if found.size == 0:
        return found, np.zeros(0)
    values = u.eval(np.ascontiguousarray(points[found]), np.ascontiguousarray(cells))
    return found, np.asarray(values, dtype=float).reshape(found.size, -1)[:, 0]


def rasterise(u, shape: Sequence[int], affine: np.ndarray, *,
              box: tuple[Sequence[int], Sequence[int]] | None = None,
              fill: float = 0.0) -> np.ndarray | None:
    """Values of a scalar finite element function at every voxel centre of an image grid.

    Only voxel centres within the mesh's global bounding box (and within ``box`` when given) are
    evaluated. Each rank looks for them in the cells it owns and sends (flat voxel index, value) pairs
    to rank 0; a centre found by two ranks (on a partition boundary) takes either value. Centres in no
    cell get ``fill``. Collective: every rank of the mesh's communicator must call it.

    Args:
        u: a scalar function (P1 typically; any scalar Lagrange space works) on a 3D mesh in world mm.
        shape: the image shape ``(ni, nj, nk)``.
        affine: the voxel-to-world affine (4x4) of the grid.
        box: optional ``(start, stop)`` voxel index triples (stop exclusive, as in slices) restricting
            the voxels evaluated; voxels outside it get ``fill``.
        fill: value of voxels not evaluated or whose centre lies outside the mesh.

    Returns:
        On rank 0, a float64 array of ``shape``; ``None`` on the other ranks.

    Raises:
        ValueError: for a bad shape, affine or box, or a non-scalar ``u`` (on every rank).
    """
    mesh = u.function_space.mesh
    shape, affine, box = _check_raster_inputs(u, shape, affine, box)
    start, stop = _index_range(*_global_bounds(mesh), affine, shape)
    if box is not None:
        box_start, box_stop = box
        start = np.maximum(start, np.clip(box_start, 0, shape))
        stop = np.maximum(np.minimum(stop, np.clip(box_stop, 0, shape)), start)
    indices, values = _sample_owned(u, affine, shape, start, stop)
    return _gather_image(mesh.comm, indices, values, shape, fill)


def rasterise_density(u, shape: Sequence[int], affine: np.ndarray) -> np.ndarray | None:
    """A P1 density as the readouts see it at every voxel centre: log-linear between the nodes
    (:mod:`oncotwin.problems.level_sets`), 0 outside the mesh. Collective; the array on rank 0, else None."""
    logged = dolfinx.fem.Function(u.function_space)
    logged.x.array[:] = log_density(u.x.array)
    grid = rasterise(logged, shape, affine, fill=-np.inf)
    return None if grid is None else np.exp(grid)


def _check_raster_inputs(u, shape: Sequence[int], affine: np.ndarray,
                         box: tuple[Sequence[int], Sequence[int]] | None):
    """``rasterise``'s arguments checked: shape (int64 array), affine, box as two int64 triples or None."""
    mesh = u.function_space.mesh
    shape = np.asarray([int(n) for n in shape], dtype=np.int64)
    if shape.size != 3 or np.any(shape < 1):
        raise ValueError(f"shape must be three positive sizes, got {tuple(shape)}")
    affine = check_affine(affine)
    if int(np.prod(u.ufl_shape, dtype=np.int64)) != 1:
        raise ValueError(f"rasterise needs a scalar function, got value shape {u.ufl_shape}")
    if mesh.geometry.x.shape[1] < 3 or mesh.topology.dim != 3:
        raise ValueError("rasterise needs a 3D mesh")
    if box is not None:
        box_start, box_stop = (np.asarray(b, dtype=np.int64) for b in box)
        if box_start.shape != (3,) or box_stop.shape != (3,):
            raise ValueError(f"box must be a pair of voxel index triples (start, stop), got {box}")
        box = (box_start, box_stop)
    return shape, affine, box


def _sample_owned(u, affine: np.ndarray, shape: np.ndarray, start: np.ndarray,
                  stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Flat voxel index, value) of the voxel centres in ``[start, stop)`` found in this rank's owned cells."""
    mesh = u.function_space.mesh
    tdim = mesh.topology.dim
    # this rank only searches the part of [start, stop) covered by its owned cells
    num_owned = mesh.topology.index_map(tdim).size_local
    owned_lo, owned_hi = _owned_cell_bounds(mesh, num_owned)
    my_start, my_stop = _index_range(owned_lo, owned_hi, affine, shape)
    my_start = np.maximum(my_start, start)
    my_stop = np.maximum(np.minimum(my_stop, stop), my_start)
    sub = my_stop - my_start
    total = int(np.prod(sub))

    indices, values = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    if total > 0 and num_owned > 0:
        locator = _CellLocator(mesh, num_owned)
        span = owned_hi - owned_lo
        tol = 1e-10 * max(float(np.max(span)), 1.0)
        dtype = mesh.geometry.x.dtype
        for first in range(0, total, RASTER_CHUNK):
            local = np.arange(first, min(first + RASTER_CHUNK, total), dtype=np.int64)
            ijk = np.stack(np.unravel_index(local, tuple(sub)), axis=1) + my_start
            points = ijk @ affine[:3, :3].T + affine[:3, 3]
            keep = np.all((points >= owned_lo - tol) & (points <= owned_hi + tol), axis=1)
            if not keep.any():
                continue
            ijk, points = ijk[keep], np.ascontiguousarray(points[keep], dtype=dtype)
            found, vals = _evaluate(u, locator, points)
            if found.size:
                indices.append(np.ravel_multi_index(tuple(ijk[found].T), tuple(shape)))
                values.append(vals)
    indices = np.ascontiguousarray(np.concatenate(indices), dtype=np.int64)
    values = np.ascontiguousarray(np.concatenate(values), dtype=np.float64)
    return indices, values


def _gather_image(comm: MPI.Comm, indices: np.ndarray, values: np.ndarray, shape: np.ndarray,
                  fill: float) -> np.ndarray | None:
    """The image on rank 0 from every rank's (flat voxel index, value) pairs; None on the other ranks."""
    counts = comm.gather(indices.size, root=0)
    if comm.rank == 0:
        all_indices = np.empty(sum(counts), dtype=np.int64)
        all_values = np.empty(sum(counts), dtype=np.float64)
        comm.Gatherv(indices, (all_indices, counts), root=0)
        comm.Gatherv(values, (all_values, counts), root=0)
        image = np.full(tuple(shape), float(fill), dtype=np.float64)
        image.ravel()[all_indices] = all_values
        return image
    comm.Gatherv(indices, None, root=0)
    comm.Gatherv(values, None, root=0)
    return None
