"""Target tetrahedron size on the voxel grid of a tag volume, and the gmsh background field that uses it.

Sizes are fine in the tumour, ``size_rim`` at its boundary and graded to ``size_far`` outside; gmsh reads
them as a native ``Structured`` field on the voxel grid.
"""

from __future__ import annotations

import os
import tempfile

import gmsh
import numpy as np
from scipy import ndimage

from oncotwin.case.mesh_options import MeshOptions
from oncotwin.mesh.preprocess import TagVolume


def size_volume(volume: TagVolume, options: MeshOptions, tumour_tags: list[int]) -> np.ndarray:
    """Target edge length (mm) on the voxel grid, from the signed distance to the tumour surface."""
    tumour = np.isin(volume.tags, tumour_tags)
    spacing = volume.spacing
    outside = ndimage.distance_transform_edt(~tumour, sampling=spacing)
    inside = ndimage.distance_transform_edt(tumour, sampling=spacing)
    rim = options.size_rim if options.size_rim is not None else options.size_tumour
    grading = max(options.grading_distance, 1e-9)
    size = rim + (options.size_far - rim) * np.clip(outside / grading, 0.0, 1.0)
    band = 2.0 * options.size_tumour
    inner = rim + (options.size_tumour - rim) * np.clip(inside / band, 0.0, 1.0)
    return np.where(tumour, inner, size).astype(np.float64)


def set_size_field(volume: TagVolume, options: MeshOptions, tumour_tags: list[int]) -> str | None:
    """Drive gmsh with the voxel size map (``size_far`` outside the grid).

    When the image axes are the world axes up to order and sign (every NIfTI/NRRD volume without an
    oblique acquisition), the map becomes a native gmsh ``Structured`` field (trilinear, evaluated in
    C++, usable by every 3D algorithm); otherwise a Python size callback looks up the nearest voxel.

    Returns:
        The temporary file of the structured field (remove it after meshing), or None.
    """
    sizes = size_volume(volume, options, tumour_tags)
    far = float(options.size_far)
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
    return _set_structured_field(sizes, volume.affine, axis_of_world, far)


def _set_structured_field(sizes: np.ndarray, affine: np.ndarray, axis_of_world: np.ndarray, far: float) -> str:
    """Write the sizes, reordered to world axes, for a gmsh ``Structured`` background field; returns the file."""
    matrix = affine[:3, :3]
    grid = np.transpose(sizes, axis_of_world)
    steps = matrix[np.arange(3), axis_of_world]
    flip = tuple(w for w in range(3) if steps[w] < 0)
    grid = np.flip(grid, axis=flip) if flip else grid
    corner = affine[:3, 3] + np.where(steps < 0, steps * (np.asarray(grid.shape) - 1), 0.0)
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
