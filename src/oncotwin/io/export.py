"""A run's field at one output time as a NIfTI volume on the grid of an input image (3D Slicer overlays it).

The run's VTK series (``fields.pvd``) is sampled at the voxel centres of the reference image with
VTK's probe filter, the same interpolation as ``oncotwin probe`` (linear in each tetrahedron for vertex
fields; the containing cell's value for cell fields such as ``regions``, written as integers when all its values are). The volume keeps the
reference image's shape and voxel-to-world affine: world coordinates are the mesh's (RAS mm; an LPS
NRRD reference is converted on reading, see :mod:`oncotwin.imaging.images`). Voxels whose centre lies
outside the mesh are 0. Vector fields are written as NIfTI vector volumes (shape ``(i, j, k, 1, 3)``,
intent ``vector``). Only the reference image's geometry is used: no header text is copied.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from oncotwin.core.errors import InputDataError
from oncotwin.imaging.images import Image, world_to_voxel
from oncotwin.io.probe import LOCATE_TOLERANCE_MM

#: Voxels sampled per probe call (bounds the memory of the VTK point set).
CHUNK = 500_000

#: Slack in voxel units for a mesh node on the boundary of the image's box.
_VOXEL_TOL = 1e-6


def read_output(run_dir: Path, field: str, time: float | None):
    """The pieces (one per rank of the run) of the output at ``time`` (default: the last) and that time.

    Raises:
        InputDataError: not a run folder, no output at ``time`` (lists the output times) or no ``field``
            (lists the fields present).
    """
    import pyvista as pv

    index = Path(run_dir) / "fields.pvd"
    if not index.is_file():
        raise InputDataError(f"{run_dir}: not a run folder with fields (fields.pvd expected)")
    reader = pv.get_reader(str(index))
    available = list(reader.time_values)
    if not available:
        raise InputDataError(f"{index}: the run wrote no output time")
    if time is None:
        time = available[-1]
    matches = [a for a in available if abs(time - a) <= 1e-6 * max(1.0, abs(a))]
    if not matches:
        raise InputDataError(f"{run_dir}: --time: no output at {time:g} s; output times are "
                             f"{', '.join(f'{a:g}' for a in available)} s")
    reader.set_active_time_value(matches[0])
    data = reader.read()
    blocks = [b for b in (list(data) if isinstance(data, pv.MultiBlock) else [data]) if b is not None]
    names = sorted({n for b in blocks for n in (*b.point_data, *b.cell_data) if not n.startswith("vtk")})
    if field not in names:
        raise InputDataError(f"{run_dir}: --field: no field {field!r}; fields: {', '.join(names)}")
    return blocks, float(matches[0])


def check_covers(blocks, image: Image) -> None:
    """Raise unless every mesh node lies within the image's box (voxel centres +- half a voxel).

    Raises:
        InputDataError: naming the image, the mesh's extent and the image's.
    """
    shape = np.asarray(image.shape)
    points = np.concatenate([np.asarray(b.points, dtype=float) for b in blocks])
    ijk = world_to_voxel(points, image.affine)
    outside = np.any((ijk < -0.5 - _VOXEL_TOL) | (ijk > shape - 0.5 + _VOXEL_TOL), axis=1)
    if outside.any():
        lo, hi = points.min(axis=0), points.max(axis=0)
        corners = np.array([[a, b, c] for a in (-0.5, shape[0] - 0.5) for b in (-0.5, shape[1] - 0.5)
                            for c in (-0.5, shape[2] - 0.5)])
        world = corners @ image.affine[:3, :3].T + image.affine[:3, 3]
        raise InputDataError(
            f"{image.path}: --like: the image does not cover the mesh ({int(outside.sum())} of {len(points)} "
            f"nodes outside): the mesh spans {_box(lo, hi)} mm, the image {_box(world.min(0), world.max(0))} mm; "
            "use the image the case was meshed from (or one containing it)")


def _box(lo: np.ndarray, hi: np.ndarray) -> str:
    return " x ".join(f"[{a:.1f}, {b:.1f}]" for a, b in zip(lo, hi, strict=True))


def export_volume(blocks, field: str, image: Image) -> np.ndarray:
    """``field`` at every voxel centre of ``image``: shape ``image.shape`` (+ components), 0 outside the mesh."""
    import pyvista as pv

    shape = np.asarray(image.shape)
    points = np.concatenate([np.asarray(b.points, dtype=float) for b in blocks])
    ijk = world_to_voxel(points, image.affine)  # only the voxels of the mesh's box are sampled
    start = np.clip(np.floor(ijk.min(axis=0)).astype(np.int64), 0, shape)
    stop = np.clip(np.ceil(ijk.max(axis=0)).astype(np.int64) + 1, 0, shape)
    sub = np.maximum(stop - start, 0)
    grid = pv.MultiBlock(list(blocks)).combine() if len(blocks) > 1 else blocks[0]
    source = np.asarray(grid.cell_data[field]) if field in grid.cell_data else None
    labels = source is not None and bool(np.all(source == np.round(source)))  # region tags: an integer volume
    values = None
    for first in range(0, int(np.prod(sub)), CHUNK):
        flat = np.arange(first, min(first + CHUNK, int(np.prod(sub))), dtype=np.int64)
        index = np.stack(np.unravel_index(flat, tuple(sub)), axis=1) + start
        centres = index @ image.affine[:3, :3].T + image.affine[:3, 3]
        sampled = _sample(pv.PolyData(centres), grid, field)
        sampled = np.rint(sampled).astype(np.int32) if labels else sampled
        if values is None:
            values = np.zeros((*image.shape, *sampled.shape[1:]), dtype=sampled.dtype)
        values[index[:, 0], index[:, 1], index[:, 2]] = sampled
    if values is None:  # the mesh's box misses every voxel centre
        values = np.zeros(image.shape)
    return values


def _sample(cloud, grid, field: str) -> np.ndarray:
    """Values at the cloud's points (0 where no cell contains one)."""
    sampled = cloud.sample(grid, tolerance=LOCATE_TOLERANCE_MM)
    valid = np.asarray(sampled["vtkValidPointMask"], dtype=bool)
    piece = np.asarray(sampled[field])
    out = np.zeros(piece.shape, dtype=np.float32)
    out[valid] = piece[valid]
    return out


def write_nifti(path: Path, values: np.ndarray, image: Image, target_name: str) -> None:
    """Write ``values`` with ``image``'s affine as NIfTI-1 (gzip when ``target_name`` ends in ``.gz``)."""
    import nibabel as nib

    data = values if values.ndim == 3 else values[:, :, :, None, :]
    nifti = nib.Nifti1Image(data, image.affine)
    nifti.set_qform(image.affine, code=1)  # scanner coordinates, like the input
    nifti.set_sform(image.affine, code=1)
    if values.ndim == 4:
        nifti.header.set_intent("vector")
    payload = nifti.to_bytes()
    if target_name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    Path(path).write_bytes(payload)
