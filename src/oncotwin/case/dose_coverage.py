"""Check, when the case is read, that a radiotherapy RTDOSE grid covers the tumour it is to treat.

The tumour is the radiotherapy's ``target_regions`` (else the tumour regions) of the geometry: the contour
vertices of their ROIs (DICOM geometry), the centres of their voxels (segmentation), or points on the
sphere of the tumour radius (sphere, MNI152 synthetic tumour). Points are world RAS mm, the frame of the
dose grid (:mod:`oncotwin.imaging.rtdose`).
"""

from __future__ import annotations

import numpy as np

from oncotwin.case.base import FieldProblem
from oncotwin.case.geometry import AtlasGeometry, DicomGeometry, SegmentationGeometry
from oncotwin.imaging.dicom_series import read_series
from oncotwin.imaging.images import read_label_map
from oncotwin.imaging.rtstruct import read_structure_set


def _sphere_points(centre: np.ndarray, radius: float) -> np.ndarray:
    """The centre and 26 points of the sphere (the cube's face, edge and corner directions)."""
    axes = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=float)
    norms = np.linalg.norm(axes, axis=1)
    directions = np.divide(axes, np.where(norms > 0, norms, 1.0)[:, None])
    return centre + radius * directions


def tumour_points(geometry, regions: list[str]) -> np.ndarray:
    """World RAS points (n, 3) that the dose grid must cover for the named regions of ``geometry``."""
    if isinstance(geometry, DicomGeometry):
        series = read_series(geometry.series, "geometry.series")
        structures = read_structure_set(geometry.rtstruct, series, "geometry.rtstruct")
        voxels = [np.c_[polygon, np.full(len(polygon), k)] for name in regions
                  for roi in geometry.regions.get(name, []) for k, polygon in structures.contours[roi]]
        index = np.concatenate(voxels) if voxels else np.zeros((0, 3))
        return index @ series.affine[:3, :3].T + series.affine[:3, 3]
    if isinstance(geometry, SegmentationGeometry):
        labels = read_label_map(geometry.labels, "geometry.labels")
        values = [v for name in regions for v in geometry.label_map().get(name, [])]
        index = np.argwhere(np.isin(labels.array, values)).astype(float)
        return index @ labels.affine[:3, :3].T + labels.affine[:3, 3]
    if isinstance(geometry, AtlasGeometry):
        return _sphere_points(np.asarray(geometry.tumour.centre, dtype=float), geometry.tumour.radius)
    return _sphere_points(np.zeros(3), geometry.tumour_radius)


def check_dose_covers(case) -> None:
    """Raise a :class:`FieldProblem` on ``treatment.radiotherapy.dose`` when the grid misses tumour points."""
    rt = case.treatment.radiotherapy
    grid = None if rt is None else rt.dose_grid()
    if grid is None:
        return
    regions = list(rt.target_regions or case.tumour_regions())
    points = tumour_points(case.geometry, regions)
    outside = ~grid.covers(points)
    if outside.any():
        lo = grid.affine[:3, 3]
        hi = grid.affine[:3, :3] @ (np.asarray(grid.dose.shape) - 1.0) + lo
        box = ", ".join(f"{min(a, b):.1f}..{max(a, b):.1f}" for a, b in zip(lo, hi, strict=True))
        raise FieldProblem("treatment.radiotherapy.dose", str(rt.dose),
                           f"the RTDOSE grid (RAS mm {box}) does not cover the tumour: {int(outside.sum())} of "
                           f"{len(points)} points of {', '.join(regions)} lie outside it, e.g. "
                           f"{np.round(points[outside][0], 1).tolist()} mm")
