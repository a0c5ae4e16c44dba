"""Read a CT or MR DICOM series (one file per slice) into the voxel frame of :mod:`oncotwin.imaging.images`.

DICOM positions are in the patient's LPS frame (+x Left, +y Posterior, +z Superior). The affine returned
maps the array indices ``(i, j, k)`` = (column, row, slice) to world millimetres in the RAS+ frame of
NIfTI, as :mod:`oncotwin.imaging.images` does for an LPS NRRD: the x and y rows of the LPS matrix are
negated. Column ``i`` runs along the first direction cosine of ``ImageOrientationPatient`` with the
column spacing ``PixelSpacing[1]``, row ``j`` along the second with ``PixelSpacing[0]``, and slices are
sorted along their normal, with the step measured between the first and last ``ImagePositionPatient``
(``SliceThickness`` is not trusted: it may differ from the spacing).

Only geometry, UIDs and (on request) pixel values are kept: patient, study and institution attributes
are never copied into the returned objects, so they cannot reach an output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from oncotwin.core.errors import InputDataError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
IMAGE_MODALITIES = ("CT", "MR", "PT")
ORIENTATION_TOLERANCE = 1e-4
SPACING_TOLERANCE = 0.01  # relative deviation of a slice gap from the mean gap


@dataclass(frozen=True)
class DicomSeries:
    """The geometry of a DICOM image series, slices sorted along their normal.

    Attributes:
        folder: the series folder.
        series_uid: SeriesInstanceUID.
        frame_uid: FrameOfReferenceUID.
        sop_uids: SOPInstanceUID of each slice, in array order (k).
        files: the file of each slice, in array order.
        affine: voxel (column, row, slice) -> world RAS mm.
        shape: (columns, rows, slices).
    """

    folder: Path
    series_uid: str
    frame_uid: str
    sop_uids: tuple[str, ...]
    files: tuple[Path, ...]
    affine: np.ndarray
    shape: tuple[int, int, int]

    @property
    def lps_affine(self) -> np.ndarray:
        """Voxel -> world LPS mm (the DICOM patient frame)."""
        return LPS_TO_RAS @ self.affine

    def pixels(self, key: str) -> np.ndarray:
        """Rescaled pixel values (e.g. Hounsfield units) as float32 (columns, rows, slices)."""
        out = np.empty(self.shape, dtype=np.float32)
        for k, path in enumerate(self.files):
            try:
                ds = pydicom.dcmread(path)
                values = ds.pixel_array.astype(np.float32)
            except Exception as exc:  # any decoder failure is a bad file for the user
                raise _fail(path, key, f"cannot read the pixel data ({type(exc).__name__})") from None
            slope, intercept = float(ds.get("RescaleSlope", 1.0)), float(ds.get("RescaleIntercept", 0.0))
            out[:, :, k] = (values * slope + intercept).T
        return out


def dicom_error(path: Path, key: str, message: str) -> InputDataError:
    """The one-line error of a DICOM input: file, case key, what is wrong."""
    return InputDataError(f"{path}: key '{key}': {message}")


_fail = dicom_error


def read_header(path: Path, key: str, what: str = "") -> pydicom.Dataset:
    """The DICOM header of one file (no pixel data); a one-line error for a file that is not DICOM.

    A file without the 128-byte preamble and ``DICM`` prefix (older exports) is accepted when it parses
    as a dataset with a SOP class and a modality.
    """
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        pass
    except Exception as exc:  # truncated or corrupt files
        raise _fail(path, key, f"cannot read the DICOM file ({type(exc).__name__})") from None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        if "SOPClassUID" in ds and "Modality" in ds:
            return ds
    except Exception:  # not DICOM at all: reported below
        pass
    raise _fail(path, key, f"not a DICOM file{what}")


def read_dicom_object(path: Path | str, key: str, modality: str) -> pydicom.Dataset:
    """The header of a single DICOM object file (RTSTRUCT, RTDOSE, ...), checked to be of ``modality``."""
    path = Path(path)
    if not path.is_file():
        raise dicom_error(path, key, "file not found")
    ds = read_header(path, key)
    if ds.get("Modality") != modality:
        raise dicom_error(path, key, f"a DICOM {ds.get('Modality', 'object')} file, not an {modality}")
    return ds


def _slice_files(folder: Path, key: str) -> list[Path]:
    if not folder.is_dir():
        raise _fail(folder, key, "not a folder; give the folder of the image series (one DICOM file per slice)")
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    sub = [p.name for p in files if p.is_dir()]
    if sub:
        raise _fail(folder, key, f"contains the folder '{sub[0]}'; the series folder must hold only the slices")
    if not files:
        raise _fail(folder, key, "the series folder is empty")
    return files


def _check_slice(path: Path, ds: pydicom.Dataset, key: str) -> None:
    modality = str(ds.get("Modality", ""))
    if modality not in IMAGE_MODALITIES:
        raise _fail(path, key, f"a DICOM {modality or 'object'} file, not an image slice (modality "
                    f"{', '.join(IMAGE_MODALITIES)}); the series folder must hold only the slices")
    for attribute in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "SeriesInstanceUID"):
        if attribute not in ds:
            raise _fail(path, key, f"slice has no {attribute}")


def read_series(folder: str | Path, key: str) -> DicomSeries:
    """Read the headers of a DICOM series folder and check that it is one regular 3D grid.

    Raises:
        InputDataError: a file that is not a DICOM image slice, several series, differing orientations or
            pixel grids, duplicate positions, or uneven slice gaps (a missing slice).
    """
    folder = Path(folder)
    headers = []
    for path in _slice_files(folder, key):
        ds = read_header(path, key, "; the series folder must hold only the slices of one series")
        _check_slice(path, ds, key)
        headers.append((path, ds))
    first_path, first = headers[0]
    for path, ds in headers[1:]:
        if ds.SeriesInstanceUID != first.SeriesInstanceUID:
            raise _fail(path, key, f"belongs to another series than {first_path.name}; the folder must hold "
                        "one series")
        same = (np.allclose(ds.ImageOrientationPatient, first.ImageOrientationPatient, atol=ORIENTATION_TOLERANCE)
                and np.allclose(ds.PixelSpacing, first.PixelSpacing, atol=1e-6)
                and (ds.Rows, ds.Columns) == (first.Rows, first.Columns))
        if not same:
            raise _fail(path, key, f"orientation, pixel spacing or size differ from {first_path.name}; "
                        "the slices must share one grid")
    affine, order = _geometry(headers, key)
    return DicomSeries(
        folder=folder, series_uid=str(first.SeriesInstanceUID), frame_uid=str(first.get("FrameOfReferenceUID", "")),
        sop_uids=tuple(str(headers[i][1].SOPInstanceUID) for i in order),
        files=tuple(headers[i][0] for i in order), affine=affine,
        shape=(int(first.Columns), int(first.Rows), len(headers)))


def _geometry(headers: list, key: str) -> tuple[np.ndarray, list[int]]:
    """RAS affine and the slice order (ascending along the normal) of checked slice headers."""
    ds = headers[0][1]
    cosines = np.asarray(ds.ImageOrientationPatient, dtype=float)
    along_row, along_column = cosines[:3], cosines[3:]
    normal = np.cross(along_row, along_column)
    if abs(np.dot(along_row, along_column)) > 1e-3 or abs(np.linalg.norm(normal) - 1.0) > 1e-3:
        raise _fail(headers[0][0], key, f"ImageOrientationPatient {cosines.tolist()} is not two orthonormal "
                    "direction cosines")
    positions = np.asarray([np.asarray(h[1].ImagePositionPatient, dtype=float) for h in headers])
    heights = positions @ normal
    order = [int(i) for i in np.argsort(heights, kind="stable")]
    gaps = np.diff(heights[order])
    if len(gaps) and gaps.min() <= 1e-3:
        dup = headers[order[int(np.argmin(gaps)) + 1]][0]
        raise _fail(dup, key, "two slices share one position; the folder must hold one series")
    if len(gaps) and np.max(np.abs(gaps - gaps.mean())) > SPACING_TOLERANCE * gaps.mean():
        raise _fail(headers[0][0].parent, key, f"uneven slice gaps ({gaps.min():.4g} to {gaps.max():.4g} mm): "
                    "a slice is missing or the series is not one regular grid")
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0] = along_row * column_spacing
    lps[:3, 1] = along_column * row_spacing
    step = (positions[order[-1]] - positions[order[0]]) / (len(order) - 1) if len(order) > 1 else normal
    lps[:3, 2] = step
    lps[:3, 3] = positions[order[0]]
    return LPS_TO_RAS @ lps, order
