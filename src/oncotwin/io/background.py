"""Anatomy under the field figures: the case's scan resampled onto the slice planes of :mod:`figures`.

The background is, in order of preference, the intensity image the geometry names (key ``image``, when
the case schema has one), its tissue mask (unless that is the label map itself) or, for the MNI152 atlas
geometry, the nilearn MNI152 T1 template. It is sampled (trilinear) on a plane through the tumour
centroid in world RAS mm through the inverse voxel-to-world affine, so oblique and anisotropic grids and
LPS files (read to RAS by :mod:`oncotwin.imaging.images`) land where the fields are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncotwin.core.log import get_logger
from oncotwin.imaging.images import Image, affine_spacing, read_image

log = get_logger("figures")

INTENSITY_KEYS = ("image",)
MAX_SAMPLES = 600  # per side of a background plane
AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class Background:
    """An image to draw in grey under the fields, and the grey-level range to draw it with."""

    image: Image
    clim: tuple[float, float]
    source: str


def load_background(geometry: dict | None, base: Path | None = None) -> Background | None:
    """The background anatomy of a case, or None when it names none or the file cannot be read.

    Args:
        geometry: the resolved case's ``geometry`` section (as in ``manifest.json``).
        base: folder against which relative paths are resolved (absolute paths are used as is).
    """
    if not geometry:
        return None
    try:
        if geometry.get("kind") == "mni152":
            return _with_range(_mni152_template(int(geometry.get("resolution", 2))), "MNI152 T1 template")
        for key in INTENSITY_KEYS:
            if geometry.get(key):
                return _with_range(read_image(_resolve(geometry[key], base), f"geometry.{key}"), key)
        mask, labels = geometry.get("tissue_mask"), geometry.get("labels")
        if mask and (labels is None or _resolve(mask, base) != _resolve(labels, base)):
            return _mask_background(read_image(_resolve(mask, base), "geometry.tissue_mask"))
    except Exception as exc:  # noqa: BLE001  (a missing or unreadable scan only costs the background)
        log.warning("figures without background anatomy: %s", " ".join(str(exc).split())[:200])
    return None


def _resolve(path: str | Path, base: Path | None) -> Path:
    path = Path(path)
    return path if path.is_absolute() or base is None else (base / path)


def _mni152_template(resolution: int) -> Image:
    from nilearn.datasets import load_mni152_template

    template = load_mni152_template(resolution=resolution)
    return Image(array=np.asarray(template.get_fdata(), dtype=np.float32),
                 affine=np.asarray(template.affine, dtype=float), path=Path(f"MNI152_T1_{resolution}mm"))


def _with_range(image: Image, source: str) -> Background:
    """Grey levels from the 0.5 and 99.5 percentiles (of every second voxel: the same to a grey level)."""
    image = _as_float(image)
    values = image.array[::2, ::2, ::2]
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    return Background(image=image, clim=(lo, hi if hi > lo else lo + 1.0), source=source)


def _mask_background(image: Image) -> Background:
    """A tissue mask in dark grey (so the white tumour outline and the fields stand out)."""
    image = _as_float(image)
    top = float(np.max(image.array))
    return Background(image=image, clim=(0.0, 2.5 * top if top > 0 else 1.0), source="tissue_mask")


def _as_float(image: Image) -> Image:
    return Image(array=np.asarray(image.array, dtype=np.float32), affine=image.affine, path=image.path)


def view_window(bounds, normal: str, margin: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """In-plane extent (two (min, max) pairs, in axis order) of a mesh's bounds grown by ``margin`` of its size."""
    lows, highs = np.asarray(bounds[0::2], dtype=float), np.asarray(bounds[1::2], dtype=float)
    pad = margin * float(np.max(highs - lows))
    axes = [a for a in range(3) if a != AXES[normal]]
    return tuple((lows[a] - pad, highs[a] + pad) for a in axes)


def sample_plane(background: Background, normal: str, centre, window, offset: float = 0.0):
    """The background sampled on the plane ``x[normal] = centre[normal] + offset`` over ``window``.

    Args:
        background: the image to sample.
        normal: ``"x"``, ``"y"`` or ``"z"``.
        centre: a point of the slice plane (world mm).
        window: in-plane extent from :func:`view_window`.
        offset: shift along the normal (to put the background just behind the field slice).

    Returns:
        A flat ``pv.ImageData`` with point data ``background`` (NaN outside the image).
    """
    import pyvista as pv
    from scipy.ndimage import map_coordinates

    image = background.image
    axis = AXES[normal]
    step = max(float(np.min(affine_spacing(image.affine))) / 2.0,
               max(hi - lo for lo, hi in window) / MAX_SAMPLES)
    dims, origin, spacing = [1, 1, 1], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    in_plane = [a for a in range(3) if a != axis]
    for a, (lo, hi) in zip(in_plane, window, strict=True):
        dims[a] = int(np.ceil((hi - lo) / step)) + 1
        origin[a], spacing[a] = lo, step
    origin[axis] = float(centre[axis]) + offset
    plane = pv.ImageData(dimensions=dims, origin=origin, spacing=spacing)
    world = np.c_[plane.points, np.ones(plane.n_points)]
    voxels = (np.linalg.inv(image.affine) @ world.T)[:3]
    plane.point_data["background"] = map_coordinates(image.array, voxels,
                                                     order=1, mode="constant", cval=np.nan)
    return plane
