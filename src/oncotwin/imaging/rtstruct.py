"""Regions of interest of a DICOM RTSTRUCT as masks on the grid of the image series they were drawn on.

Contours are ``CLOSED_PLANAR`` polygons in the patient's LPS frame, one plane per image slice. Each is
mapped to continuous voxel indices with the series affine and must lie on a slice plane (within 10 % of
the slice gap). On a slice, the contours of one ROI combine by the even-odd rule: a contour inside
another is a hole (the DICOM convention for inner contours, also used by dicompyler and plastimatch).
A voxel is inside when its centre is (matplotlib's point-in-polygon test), so a voxel mask has, on
average, the area of its polygons; each slice stands for a slab of one slice gap.

:func:`contour_volume` integrates the polygon areas (shoelace, holes subtracted) slice by slice, the
reference the masks are checked against. Only the ROI names, the geometry and the referenced UIDs are
read: no patient or study attribute leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.path import Path as Polygon

from oncotwin.imaging.dicom_series import DicomSeries, dicom_error, read_dicom_object

ON_PLANE_TOLERANCE = 0.1  # fraction of the slice gap a contour may lie off a slice plane


@dataclass(frozen=True)
class StructureSet:
    """The ROIs of an RTSTRUCT: name -> list of (slice index k, polygon (n, 2) in voxel indices i, j)."""

    path: Path
    contours: dict[str, list[tuple[int, np.ndarray]]]

    def names(self) -> list[str]:
        """ROI names in file order."""
        return list(self.contours)


_fail = dicom_error


def referenced_series(ds, path: Path, key: str) -> tuple[set[str], set[str]]:
    """SeriesInstanceUIDs and FrameOfReferenceUIDs an RTSTRUCT's contours refer to."""
    series, frames = set(), set()
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []):
        frames.add(str(frame.get("FrameOfReferenceUID", "")))
        for study in frame.get("RTReferencedStudySequence", []):
            for item in study.get("RTReferencedSeriesSequence", []):
                series.add(str(item.SeriesInstanceUID))
    if not series:
        raise _fail(path, key, "the RTSTRUCT names no referenced image series "
                    "(ReferencedFrameOfReferenceSequence / RTReferencedSeriesSequence)")
    return series, frames


def read_structure_set(path: str | Path, series: DicomSeries, key: str) -> StructureSet:
    """Read an RTSTRUCT drawn on ``series`` and map its contours to the series voxel grid.

    Raises:
        InputDataError: not an RTSTRUCT, drawn on another series, or a contour off the slice planes or
            not closed planar.
    """
    path = Path(path)
    ds = read_dicom_object(path, key, "RTSTRUCT")
    uids, frames = referenced_series(ds, path, key)
    if series.series_uid not in uids:
        raise _fail(path, key, f"the RTSTRUCT references the image series {min(uids)}, not the series "
                    f"{series.series_uid} of the folder {series.folder}; give the series it was drawn on")
    if series.frame_uid and frames and series.frame_uid not in frames:
        raise _fail(path, key, "the RTSTRUCT's frame of reference differs from the image series'")
    names = {int(r.ROINumber): str(r.ROIName) for r in ds.get("StructureSetROISequence", [])}
    to_voxel = np.linalg.inv(series.lps_affine)
    contours: dict[str, list[tuple[int, np.ndarray]]] = {name: [] for name in names.values()}
    for roi in ds.get("ROIContourSequence", []):
        name = names.get(int(roi.ReferencedROINumber))
        if name is None:
            continue
        for contour in roi.get("ContourSequence", []):
            contours[name].append(_contour_in_voxels(contour, to_voxel, series, path, key, name))
    return StructureSet(path=path, contours=contours)


def _contour_in_voxels(contour, to_voxel: np.ndarray, series: DicomSeries, path: Path, key: str,
                       name: str) -> tuple[int, np.ndarray]:
    kind = str(contour.get("ContourGeometricType", ""))
    if kind != "CLOSED_PLANAR":
        raise _fail(path, key, f"ROI '{name}' has a {kind or 'untyped'} contour; only CLOSED_PLANAR contours "
                    "bound a region")
    points = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
    voxels = (np.c_[points, np.ones(len(points))] @ to_voxel.T)[:, :3]
    k = float(np.mean(voxels[:, 2]))
    nearest = round(k)
    if np.max(np.abs(voxels[:, 2] - nearest)) > ON_PLANE_TOLERANCE or not 0 <= nearest < series.shape[2]:
        raise _fail(path, key, f"ROI '{name}' has a contour at slice position {k:.2f}, not on a slice plane of "
                    f"the series (0..{series.shape[2] - 1})")
    return nearest, voxels[:, :2]


def check_roi_names(structures: StructureSet, wanted: dict[str, str]) -> None:
    """Raise unless every ROI name is in the structure set and has contours.

    Args:
        structures: the structure set.
        wanted: ROI name -> case key that names it.
    """
    for roi, key in wanted.items():
        if roi not in structures.contours:
            raise _fail(structures.path, key, f"ROI '{roi}' not found; ROI names present: "
                        f"{', '.join(structures.names())}")
        if not structures.contours[roi]:
            raise _fail(structures.path, key, f"ROI '{roi}' has no contours")


def roi_mask(structures: StructureSet, roi: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Boolean mask (columns, rows, slices) of the voxels whose centre lies inside the ROI (even-odd rule)."""
    mask = np.zeros(shape, dtype=bool)
    for k, polygon in structures.contours[roi]:
        lo = np.maximum(np.floor(polygon.min(axis=0)).astype(int), 0)
        hi = np.minimum(np.ceil(polygon.max(axis=0)).astype(int) + 1, shape[:2])
        if np.any(hi <= lo):
            continue
        i, j = np.meshgrid(np.arange(lo[0], hi[0]), np.arange(lo[1], hi[1]), indexing="ij")
        inside = Polygon(polygon).contains_points(np.c_[i.ravel(), j.ravel()]).reshape(i.shape)
        mask[lo[0]:hi[0], lo[1]:hi[1], k] ^= inside
    return mask


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def contour_volume(structures: StructureSet, roi: str, voxel_volume: float) -> float:
    """Volume (mm^3) of an ROI by slice-wise polygon areas (in voxel units) times the voxel volume, holes
    (contours nested an odd number of times) subtracted."""
    by_slice: dict[int, list[np.ndarray]] = {}
    for k, polygon in structures.contours[roi]:
        by_slice.setdefault(k, []).append(polygon)
    total = 0.0
    for polygons in by_slice.values():
        for n, polygon in enumerate(polygons):
            depth = sum(Polygon(other).contains_point(polygon[0]) for m, other in enumerate(polygons) if m != n)
            total += (-1) ** depth * _area(polygon)
    return total * voxel_volume


def roi_label_map(structures: StructureSet, labels: dict[int, list[str]], shape: tuple[int, int, int]) -> np.ndarray:
    """int32 label map: each label value on the union of its ROIs; a voxel keeps the first label listed."""
    out = np.zeros(shape, dtype=np.int32)
    for value, rois in labels.items():
        mask = np.zeros(shape, dtype=bool)
        for roi in rois:
            mask |= roi_mask(structures, roi, shape)
        out[mask & (out == 0)] = value
    return out
