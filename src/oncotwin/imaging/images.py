"""Read label maps, masks and probability maps from NIfTI and NRRD files, with validation.

World convention: every affine returned here maps voxel indices ``(i, j, k)`` of the array to world
coordinates in millimetres in the RAS+ frame of NIfTI/nibabel: +x towards the patient's Right,
+y Anterior, +z Superior. NIfTI files already use this frame (their qform/sform). NRRD files
declare a ``space``; the common ``left-posterior-superior`` (LPS, DICOM) space is converted to RAS by negating the x and y rows of the
NRRD voxel-to-world matrix (``space directions`` and ``space origin``). ``right-anterior-superior``
is used as is; other NRRD spaces (scanner-xyz, 3D-right-handed, ...) are taken as RAS.

Only array data and the geometry (affine) are read: header text (NIfTI ``descrip``/``db_name``, NRRD
comments and key-value pairs) is never copied anywhere, since it can carry patient information.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncotwin.core.errors import InputDataError

GRID_TOLERANCE_MM = 1e-4
_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_NRRD_SUFFIXES = (".nrrd", ".nhdr")


@dataclass(frozen=True)
class Image:
    """A 3D image: voxel array, voxel-to-world (RAS mm) affine and the file it came from."""

    array: np.ndarray
    affine: np.ndarray
    path: Path

    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape (i, j, k)."""
        return tuple(int(n) for n in self.array.shape)

    @property
    def spacing(self) -> np.ndarray:
        """Voxel edge lengths in mm (norms of the affine columns)."""
        return affine_spacing(self.affine)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm^3."""
        return affine_voxel_volume(self.affine)


def affine_spacing(affine: np.ndarray) -> np.ndarray:
    """Voxel edge lengths in mm of a voxel-to-world affine (norms of its columns)."""
    return np.linalg.norm(affine[:3, :3], axis=0)


def affine_voxel_volume(affine: np.ndarray) -> float:
    """Volume of one voxel in mm^3 of a voxel-to-world affine."""
    return float(abs(np.linalg.det(affine[:3, :3])))


def _fail(path: Path, key: str, message: str) -> InputDataError:
    return InputDataError(f"{path}: key '{key}': {message}")


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    image = nib.load(str(path))
    return np.asanyarray(image.dataobj), np.asarray(image.affine, dtype=float)


def _read_nrrd(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nrrd

    data, header = nrrd.read(str(path))
    if data.ndim == 4 and data.shape[0] == 1:  # NRRD puts a non-spatial axis first
        data = data[0]
    ndim = data.ndim
    directions = header.get("space directions")
    if directions is None:
        spacings = header.get("spacings", [1.0] * ndim)
        directions = np.diag(np.asarray(spacings, dtype=float)[:3])
    directions = np.asarray([row for row in directions if row is not None and not np.all(np.isnan(row))],
                            dtype=float)
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float)
    affine = np.eye(4)
    if directions.shape == (3, 3):
        affine[:3, :3] = directions.T  # NRRD rows are the world vectors of the axes
    affine[:3, 3] = origin[:3] if origin.size >= 3 else 0.0
    space = str(header.get("space", "")).lower()
    if space in ("left-posterior-superior", "lps"):
        affine[:2, :] *= -1.0
    elif space in ("left-anterior-superior", "las"):
        affine[0, :] *= -1.0
    return data, affine


def read_image(path: str | Path, key: str) -> Image:
    """Read a 3D image (NIfTI or NRRD) and check it is finite and 3D.

    Args:
        path: the image file.
        key: the case key that named the file (for error messages).

    Raises:
        InputDataError: missing, unreadable, not 3D or with NaN/inf voxels.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, key, "file not found")
    name = path.name.lower()
    try:
        if name.endswith(_NIFTI_SUFFIXES):
            data, affine = _read_nifti(path)
        elif name.endswith(_NRRD_SUFFIXES):
            data, affine = _read_nrrd(path)
        else:
            raise _fail(path, key, "unknown image format; allowed: .nii, .nii.gz, .nrrd, .nhdr")
    except InputDataError:
        raise
    except Exception as exc:  # any reader failure is a bad file for the user
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise _fail(path, key, f"cannot read image ({reason})") from None
    data = np.asarray(data)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise _fail(path, key, f"image has {data.ndim} dimensions {tuple(data.shape)}; a 3D image is required")
    if min(data.shape) < 1:
        raise _fail(path, key, f"image is empty, shape {tuple(data.shape)}")
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise _fail(path, key, "image has a singular or non-finite voxel-to-world transform")
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise _fail(path, key, f"{bad} voxels are NaN or infinite; all voxels must be finite numbers")
    if data.dtype.kind not in "biuf":
        raise _fail(path, key, f"unsupported voxel type {data.dtype}; numeric voxels are required")
    return Image(array=data, affine=affine, path=path)


def read_label_map(path: str | Path, key: str) -> Image:
    """Read an integer label map; float voxels must hold integral values (1.0 is cast to 1).

    Raises:
        InputDataError: as :func:`read_image`, or when labels are negative or not integers.
    """
    image = read_image(path, key)
    data = image.array
    if data.dtype.kind == "f":
        rounded = np.rint(data)
        off = np.abs(data - rounded) > 1e-3
        if np.any(off):
            sample = float(data[off][0])
            raise _fail(image.path, key, f"label map has non-integer value {sample:g} "
                        f"({int(off.sum())} voxels); labels must be integers")
        data = rounded
    if data.min() < 0:
        raise _fail(image.path, key, f"label map has negative label {int(data.min())}; labels must be >= 0")
    return Image(array=data.astype(np.int32), affine=image.affine, path=image.path)


def read_mask(path: str | Path, key: str) -> Image:
    """Read a tissue mask: voxels > 0.5 are inside (> half the maximum for masks scaled below 1)."""
    image = read_image(path, key)
    data = image.array.astype(np.float64)
    if not np.any(data > 0):
        raise _fail(image.path, key, "mask is empty (no voxel > 0)")
    return Image(array=data > 0.5 * min(float(data.max()), 1.0), affine=image.affine, path=image.path)


def read_probability_map(path: str | Path, key: str) -> Image:
    """Read a probability map (float32)."""
    image = read_image(path, key)
    return Image(array=image.array.astype(np.float32), affine=image.affine, path=image.path)


def check_same_grid(reference: Image, other: Image, key: str) -> None:
    """Raise unless ``other`` has the shape and affine (within 1e-4 mm) of ``reference``."""
    if reference.shape != other.shape:
        raise _fail(other.path, key, f"grid shape {other.shape} differs from the label map "
                    f"{reference.path.name} shape {reference.shape}; images must share one grid")
    if not np.allclose(reference.affine, other.affine, rtol=0.0, atol=GRID_TOLERANCE_MM):
        diff = float(np.max(np.abs(reference.affine - other.affine)))
        raise _fail(other.path, key, f"voxel-to-world transform differs from the label map "
                    f"{reference.path.name} by {diff:.3g} mm (tolerance {GRID_TOLERANCE_MM:g} mm); "
                    "images must share one grid")


def labels_found(image: Image) -> list[int]:
    """Sorted label values present in a label map (including 0)."""
    return [int(v) for v in np.unique(image.array)]


def check_labels_present(image: Image, regions: dict[str, list[int]], key_prefix: str) -> None:
    """Raise when a requested label value is absent from the label map.

    Args:
        image: the label map.
        regions: region name -> label values.
        key_prefix: case key of the region mapping (``geometry.regions`` or ``geometry.label_preset``).
    """
    found = labels_found(image)
    for name, values in regions.items():
        for value in values:
            if value not in found:
                raise _fail(image.path, f"{key_prefix}.{name}",
                            f"label {value} not present; labels found: {found}")


def check_affine(affine) -> np.ndarray:
    """The affine as a float 4x4 array; ValueError unless finite and non-singular."""
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ValueError(f"affine must be a finite 4x4 matrix, got shape {affine.shape}")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError("affine is singular (zero voxel volume)")
    return affine


def world_to_voxel(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Continuous voxel coordinates of world points.

    Args:
        points: world coordinates in mm, shape ``(n, 3)``.
        affine: voxel-to-world affine (4x4).

    Returns:
        Voxel coordinates, shape ``(n, 3)``: integers at voxel centres.
    """
    affine = check_affine(affine)
    inverse = np.linalg.inv(affine)
    return np.asarray(points, dtype=float)[:, :3] @ inverse[:3, :3].T + inverse[:3, 3]
