"""Read a DICOM RTDOSE grid (the planned dose) and sample it at world points.

Geometry (DICOM PS3.3 C.8.8.3): the frames of the multi-frame dose image lie along the normal of
``ImageOrientationPatient`` at the ``GridFrameOffsetVector`` distances from ``ImagePositionPatient``
(relative offsets, first element 0); offsets whose first element is not 0 are absolute z positions of
the frames (allowed for axial grids only) and are made relative by subtracting the z of the position.
The frames must be evenly spaced. Stored values times ``DoseGridScaling`` are the dose in Gy
(``DoseUnits`` GY; RELATIVE dose is refused). The affine maps (column, row, frame) to world RAS mm as
in :mod:`oncotwin.imaging.dicom_series`.

Sampling is trilinear between voxel centres; points up to half a voxel outside the centres take the
nearest face value (the voxel they lie in), points further out are outside the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from scipy import ndimage

from oncotwin.imaging.dicom_series import LPS_TO_RAS, dicom_error, read_dicom_object

PER_FRACTION_SUMMATIONS = ("FRACTION", "BEAM_SESSION", "FRACTION_SESSION")


@dataclass(frozen=True)
class DoseGrid:
    """A dose grid: dose (Gy) on (columns, rows, frames), its voxel -> world RAS mm affine, and whether it is
    the dose of one fraction (``DoseSummationType`` FRACTION) rather than of the whole plan."""

    dose: np.ndarray
    affine: np.ndarray
    path: Path
    per_fraction: bool

    def voxel_indices(self, points: np.ndarray) -> np.ndarray:
        """Continuous voxel indices (n, 3) of world RAS points (n, 3)."""
        inverse = np.linalg.inv(self.affine)
        return points @ inverse[:3, :3].T + inverse[:3, 3]

    def covers(self, points: np.ndarray) -> np.ndarray:
        """Whether each world point lies inside the grid (within half a voxel of the outer voxel centres)."""
        index = self.voxel_indices(points)
        upper = np.asarray(self.dose.shape) - 0.5
        return np.all((index >= -0.5 - 1e-6) & (index <= upper + 1e-6), axis=1)

    def sample(self, points: np.ndarray) -> np.ndarray:
        """Trilinear dose (Gy) at world RAS points (n, 3); NaN outside the grid."""
        index = self.voxel_indices(points)
        values = ndimage.map_coordinates(self.dose, index.T, order=1, mode="nearest")
        return np.where(self.covers(points), values, np.nan)


_fail = dicom_error


def _frame_offsets(ds, path: Path, key: str, normal: np.ndarray) -> np.ndarray:
    frames = int(ds.get("NumberOfFrames", 1))
    offsets = np.asarray(ds.get("GridFrameOffsetVector", [0.0] * frames), dtype=float).ravel()
    if len(offsets) != frames:
        raise _fail(path, key, f"GridFrameOffsetVector has {len(offsets)} values for {frames} frames")
    if offsets[0] != 0.0:
        if abs(abs(normal[2]) - 1.0) > 1e-4:
            raise _fail(path, key, "absolute GridFrameOffsetVector (first value not 0) on a non-axial grid")
        offsets = (offsets - float(ds.ImagePositionPatient[2])) * normal[2]
    steps = np.diff(offsets)
    if len(steps) and (np.any(steps <= 0) or np.ptp(steps) > 1e-3 * abs(steps.mean())):
        raise _fail(path, key, "GridFrameOffsetVector is not evenly increasing; the dose frames must be one grid")
    return offsets


def read_rtdose(path: str | Path, key: str) -> DoseGrid:
    """Read an RTDOSE file into a :class:`DoseGrid`.

    Raises:
        InputDataError: not an RTDOSE, relative dose units, missing geometry or an uneven frame spacing.
    """
    path = Path(path)
    ds = read_dicom_object(path, key, "RTDOSE")
    for attribute in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "DoseGridScaling"):
        if attribute not in ds:
            raise _fail(path, key, f"RTDOSE has no {attribute}")
    units = str(ds.get("DoseUnits", "GY")).upper()
    if units != "GY":
        raise _fail(path, key, f"DoseUnits {units}; an absolute dose in GY is required")
    cosines = np.asarray(ds.ImageOrientationPatient, dtype=float)
    along_row, along_column = cosines[:3], cosines[3:]
    normal = np.cross(along_row, along_column)
    offsets = _frame_offsets(ds, path, key, normal)
    try:
        pixels = np.asarray(pydicom.dcmread(path).pixel_array, dtype=float)
    except Exception as exc:  # any decoder failure is a bad file for the user
        raise _fail(path, key, f"cannot read the dose grid ({type(exc).__name__})") from None
    pixels = pixels.reshape(len(offsets), int(ds.Rows), int(ds.Columns))
    dose = np.transpose(pixels, (2, 1, 0)) * float(ds.DoseGridScaling)
    if not np.all(np.isfinite(dose)) or dose.min() < 0:
        raise _fail(path, key, "the dose grid has negative or non-finite values")
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0] = along_row * column_spacing
    lps[:3, 1] = along_column * row_spacing
    lps[:3, 2] = normal * (offsets[1] - offsets[0] if len(offsets) > 1 else float(ds.get("SliceThickness", 1.0)))
    lps[:3, 3] = np.asarray(ds.ImagePositionPatient, dtype=float) + normal * offsets[0]
    summation = str(ds.get("DoseSummationType", "PLAN")).upper()
    return DoseGrid(dose=dose, affine=LPS_TO_RAS @ lps, path=path, per_fraction=summation in PER_FRACTION_SUMMATIONS)


def planned_fractions(path: str | Path, key: str) -> int:
    """``NumberOfFractionsPlanned`` of the first fraction group of an RTPLAN.

    Raises:
        InputDataError: not an RTPLAN or without a planned fraction count.
    """
    path = Path(path)
    ds = read_dicom_object(path, key, "RTPLAN")
    groups = ds.get("FractionGroupSequence", [])
    count = groups[0].get("NumberOfFractionsPlanned") if groups else None
    if not count or int(count) < 1:
        raise _fail(path, key, "the RTPLAN has no NumberOfFractionsPlanned")
    return int(count)
