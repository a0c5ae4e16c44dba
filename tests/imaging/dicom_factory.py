"""Write small synthetic DICOM CT series, RTSTRUCT and RTDOSE files with pydicom (test helpers).

Every file carries made-up patient identifiers (:data:`IDENTIFIERS`), so that tests can check that none
of them reaches an output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
RTDOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
IDENTIFIERS = {"PatientName": "Doe^Jane", "PatientID": "SECRET-4711", "PatientBirthDate": "19450317",
               "StudyDate": "20190402", "InstitutionName": "St Elsewhere Hospital"}


def _dataset(sop_class: str, modality: str, study_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.StudyInstanceUID = modality, study_uid
    for key, value in IDENTIFIERS.items():
        setattr(ds, key, value)
    return ds


class Series:
    """A written CT series: its UIDs, per-slice SOP UIDs and z positions (LPS mm), sorted by z."""

    def __init__(self, folder: Path, shape: tuple[int, int, int], spacing: tuple[float, float, float],
                 origin: tuple[float, float, float], order: list[int] | None = None):
        """Write ``shape`` = (columns, rows, slices) with ``spacing`` = (column, row, slice) mm from the LPS
        ``origin``; slices are written in ``order`` (default: reversed) to exercise the sorting."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.shape, self.spacing, self.origin = folder, shape, spacing, np.asarray(origin, float)
        self.study_uid, self.series_uid, self.frame_uid = generate_uid(), generate_uid(), generate_uid()
        self.sop_uids: list[str] = []
        self.z = [self.origin[2] + k * spacing[2] for k in range(shape[2])]
        order = order if order is not None else list(range(shape[2]))[::-1]
        uids = {}
        for n, k in enumerate(order):
            ds = _dataset(CTImageStorage, "CT", self.study_uid)
            ds.SeriesInstanceUID, ds.FrameOfReferenceUID = self.series_uid, self.frame_uid
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.ImagePositionPatient = [float(self.origin[0]), float(self.origin[1]), float(self.z[k])]
            ds.PixelSpacing = [spacing[1], spacing[0]]  # row spacing (along a column), column spacing
            ds.SliceThickness = spacing[2]
            ds.Rows, ds.Columns = shape[1], shape[0]
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
            pixels = np.zeros((shape[1], shape[0]), dtype=np.int16)
            pixels[1, 2] = 100 + k  # a marker at row 1, column 2
            ds.PixelData = pixels.tobytes()
            ds.save_as(folder / f"slice{n:03d}.dcm", enforce_file_format=True)
            uids[k] = ds.SOPInstanceUID
        self.sop_uids = [uids[k] for k in range(shape[2])]

    def world_lps(self, column: float, row: float, k: float) -> np.ndarray:
        """LPS mm of continuous voxel indices."""
        return self.origin + np.array([column * self.spacing[0], row * self.spacing[1], k * self.spacing[2]])


def circle(centre_xy: tuple[float, float], radius: float, n: int = 200) -> np.ndarray:
    """A closed polygon (n, 2) approximating a circle (LPS mm)."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.c_[centre_xy[0] + radius * np.cos(t), centre_xy[1] + radius * np.sin(t)]


def write_rtstruct(path: Path, series: Series, rois: dict[str, dict[int, list[np.ndarray]]],
                   series_uid: str | None = None) -> Path:
    """An RTSTRUCT on ``series``: ROI name -> {slice index: [polygons (n, 2) LPS mm]}.

    ``series_uid`` overrides the referenced series (to write one that references another series).
    """
    ds = _dataset(RTSTRUCT_STORAGE, "RTSTRUCT", series.study_uid)
    ds.SeriesInstanceUID = generate_uid()
    referenced = Dataset()
    referenced.SeriesInstanceUID = series_uid or series.series_uid
    referenced.ContourImageSequence = Sequence([_image_ref(uid) for uid in series.sop_uids])
    study = Dataset()
    study.ReferencedSOPInstanceUID = series.study_uid
    study.RTReferencedSeriesSequence = Sequence([referenced])
    frame = Dataset()
    frame.FrameOfReferenceUID = series.frame_uid
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    ds.StructureSetROISequence, ds.ROIContourSequence = Sequence(), Sequence()
    for number, (name, slices) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName, roi.ReferencedFrameOfReferenceUID = number, name, series.frame_uid
        ds.StructureSetROISequence.append(roi)
        contours = Dataset()
        contours.ReferencedROINumber = number
        contours.ContourSequence = Sequence()
        for k, polygons in slices.items():
            for polygon in polygons:
                item = Dataset()
                item.ContourGeometricType = "CLOSED_PLANAR"
                item.NumberOfContourPoints = len(polygon)
                item.ContourData = [float(v) for v in np.c_[polygon, np.full(len(polygon), series.z[k])].ravel()]
                item.ContourImageSequence = Sequence([_image_ref(series.sop_uids[k])])
                contours.ContourSequence.append(item)
        ds.ROIContourSequence.append(contours)
    ds.save_as(path, enforce_file_format=True)
    return path


def _image_ref(uid: str) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = CTImageStorage, uid
    return ref


def write_rtdose(path: Path, dose_gy: np.ndarray, origin_lps: tuple[float, float, float],
                 spacing: tuple[float, float, float], absolute_offsets: bool = False,
                 summation: str = "PLAN", frame_uid: str | None = None) -> Path:
    """An RTDOSE of ``dose_gy`` (frames, rows, columns) with (column, row, frame) ``spacing`` from ``origin_lps``,
    stored as uint32 with a DoseGridScaling; frame offsets relative (0, dz, ...) or absolute (z positions)."""
    ds = _dataset(RTDOSE_STORAGE, "RTDOSE", generate_uid())
    ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), frame_uid or generate_uid()
    frames, rows, columns = dose_gy.shape
    scaling = float(dose_gy.max()) / 4.0e9 if dose_gy.max() > 0 else 1.0
    stored = np.rint(dose_gy / scaling).astype(np.uint32)
    ds.DoseGridScaling, ds.DoseUnits, ds.DoseType, ds.DoseSummationType = scaling, "GY", "PHYSICAL", summation
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [float(v) for v in origin_lps]
    ds.PixelSpacing = [spacing[1], spacing[0]]
    offsets = np.arange(frames) * spacing[2] + (origin_lps[2] if absolute_offsets else 0.0)
    ds.GridFrameOffsetVector = [float(v) for v in offsets]
    ds.NumberOfFrames, ds.Rows, ds.Columns = frames, rows, columns
    ds.FrameIncrementPointer = (0x3004, 0x000C)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def dose_on_grid(field, origin_lps, spacing, shape) -> np.ndarray:
    """``field(x, y, z)`` (world RAS mm) at the voxel centres of a dose grid, as (frames, rows, columns)."""
    columns, rows, frames = shape
    i, j, k = np.meshgrid(np.arange(columns), np.arange(rows), np.arange(frames), indexing="ij")
    x_lps = origin_lps[0] + i * spacing[0]
    y_lps = origin_lps[1] + j * spacing[1]
    z = origin_lps[2] + k * spacing[2]
    values = field(-x_lps, -y_lps, z)  # LPS -> RAS
    return np.transpose(values, (2, 1, 0))
