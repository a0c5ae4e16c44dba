"""Atlas-to-patient registration with SimpleITK: the MNI152 tissue maps warped onto the patient's grid.

The moving image is the nilearn MNI152 2009a T1 (skull-stripped by its brain mask), the fixed image the
patient's scan inside the patient's brain mask (0 outside, so the brain outline drives the alignment as
much as the intensities). Mattes mutual information (the two scans have different contrasts: T1 against
T1c or FLAIR) is evaluated only outside the lesion: the tumour and edema, dilated by ``exclude_margin``,
are removed from the fixed image's metric mask (SimpleITK ``SetMetricFixedMask``), so the atlas anatomy
is not pulled onto the tumour. Stages: moments of the two brain masks (centring), affine (12 parameters)
and, optionally, a cubic B-spline (free-form deformation, Rueckert et al., IEEE TMI 18:712, 1999) with
control points every ``grid_spacing`` mm.

The warped grey and white maps are the nilearn probability maps; nilearn ships no CSF map, so CSF is the
rest of the atlas brain mask, ``max(0, 1 - grey - white)``. Inside the tumour the maps are undefined on the
patient: the registered *healthy* atlas anatomy is kept there (the atlas has no tumour), i.e. the tissue
the tumour grew into. On the patient's brain mask the three maps are renormalised to sum to 1; voxels of the
patient's brain that the warped atlas mask misses take the maps of the nearest atlas voxel.

Quality: the Dice coefficient of the warped atlas brain mask with the patient's brain mask, and the final
metric value. A Dice below the caller's threshold is an error naming the Dice.

Coordinates: the arrays here are indexed ``(i, j, k)`` with RAS+ affines (as :mod:`oncotwin.imaging.images`);
SimpleITK works in LPS, so the conversion flips the x and y rows of the affine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from oncotwin.core.errors import InputDataError

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class RegistrationSettings:
    """Optimisation settings (lengths in mm).

    Attributes:
        deformable: add the B-spline stage after the affine one.
        grid_spacing: B-spline control-point spacing.
        affine_iterations: iterations per resolution level of the affine stage.
        deformable_iterations: iterations per resolution level of the B-spline stage.
        sampling: fraction of the metric-mask voxels sampled per iteration (random, seeded).
        shrink: image shrink factors of the resolution levels (coarse to fine); the finest level of 2
            (2 mm on a 1 mm scan) is enough for a 12-parameter map and a 40 mm control grid, at an eighth of
            the full-resolution cost.
        exclude_margin: the lesion is dilated by this much before it is removed from the metric mask.
        seed: seed of the metric sampling (results are reproducible).
    """

    deformable: bool = True
    grid_spacing: float = 40.0
    affine_iterations: int = 200
    deformable_iterations: int = 60
    sampling: float = 0.02
    shrink: tuple[int, ...] = (4, 2)
    exclude_margin: float = 3.0
    seed: int = 7


@dataclass(frozen=True)
class Registration:
    """A fitted transform (fixed physical point -> moving physical point, LPS) and its metric value."""

    transform: sitk.Transform
    metric: float
    seconds: float

    def map_points(self, points_ras: np.ndarray) -> np.ndarray:
        """Fixed-image points (RAS mm, shape ``(n, 3)``) to the moving image (RAS mm)."""
        flip = np.array([-1.0, -1.0, 1.0])
        return np.array([np.asarray(self.transform.TransformPoint(tuple(float(c) for c in p * flip))) * flip
                         for p in np.asarray(points_ras, dtype=float)])


@dataclass(frozen=True)
class AtlasMaps:
    """Atlas tissue maps on the patient's grid and the quality of the registration.

    Attributes:
        grey, white, csf: probability maps (float32), summing to 1 on the patient's brain mask, 0 outside.
        atlas_brain: the warped atlas brain mask (bool).
        dice: Dice of ``atlas_brain`` with the patient's brain mask.
        metric: final Mattes mutual information (negative: lower is better).
        seconds: registration wall time.
    """

    grey: np.ndarray
    white: np.ndarray
    csf: np.ndarray
    atlas_brain: np.ndarray
    dice: float
    metric: float
    seconds: float


def to_sitk(array: np.ndarray, affine: np.ndarray) -> sitk.Image:
    """A SimpleITK image of an ``(i, j, k)`` array with a RAS voxel-to-world affine (orthogonal axes)."""
    lps = _RAS_TO_LPS @ np.asarray(affine, dtype=float)
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(array, (2, 1, 0))))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(o) for o in lps[:3, 3]))
    image.SetDirection(tuple(float(d) for d in (lps[:3, :3] / spacing).ravel()))
    return image


def from_sitk(image: sitk.Image) -> np.ndarray:
    """The ``(i, j, k)`` array of a SimpleITK image."""
    return np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1 for two empty masks)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.count_nonzero(a & b)) / total


def _normalised(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Intensities scaled to [0, 1] between the 1st and 99th percentiles inside ``mask``, 0 outside."""
    values = array[mask]
    lo, hi = np.percentile(values, [1.0, 99.0]) if values.size else (0.0, 1.0)
    scaled = np.clip((array - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    return np.where(mask, scaled, 0.0).astype(np.float32)


def _method(settings: RegistrationSettings, iterations: int, metric_mask: sitk.Image | None,
            ) -> sitk.ImageRegistrationMethod:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(settings.sampling, settings.seed)
    if metric_mask is not None:
        method.SetMetricFixedMask(metric_mask)
    method.SetInterpolator(sitk.sitkLinear)
    levels = len(settings.shrink)
    method.SetShrinkFactorsPerLevel(list(settings.shrink))
    method.SetSmoothingSigmasPerLevel([max(s - 1, 0) * 0.5 for s in settings.shrink][:levels])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-4,
                                                    numberOfIterations=iterations,
                                                    relaxationFactor=0.6, gradientMagnitudeTolerance=1e-8)
    return method


def register(fixed: sitk.Image, moving: sitk.Image, fixed_brain: sitk.Image, moving_brain: sitk.Image,
             metric_mask: sitk.Image | None, settings: RegistrationSettings) -> Registration:
    """Centre by the brain masks' moments, then affine and (optionally) B-spline registration.

    Args:
        fixed, moving: float32 images (the moving one is resampled onto the fixed one).
        fixed_brain, moving_brain: uint8 brain masks (for the initial centring).
        metric_mask: uint8 mask of the fixed voxels where the metric is evaluated (None: everywhere).
        settings: optimisation settings.
    """
    start = time.perf_counter()
    initial = sitk.CenteredTransformInitializer(fixed_brain, moving_brain, sitk.AffineTransform(3),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    method = _method(settings, settings.affine_iterations, metric_mask)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetInitialTransform(initial, inPlace=False)
    affine = method.Execute(fixed, moving)
    metric = method.GetMetricValue()
    transform: sitk.Transform = affine
    if settings.deformable:
        size = np.asarray(fixed.GetSize()) * np.asarray(fixed.GetSpacing())
        mesh = [max(int(round(s / settings.grid_spacing)), 1) for s in size]
        bspline = sitk.BSplineTransformInitializer(fixed, mesh, order=3)
        method = _method(settings, settings.deformable_iterations, metric_mask)
        method.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5,
                                    numberOfIterations=settings.deformable_iterations,
                                    maximumNumberOfCorrections=5, maximumNumberOfFunctionEvaluations=1000,
                                    costFunctionConvergenceFactor=1e7)
        method.SetMovingInitialTransform(affine)
        method.SetInitialTransform(bspline, inPlace=True)
        method.Execute(fixed, moving)
        metric = method.GetMetricValue()
        transform = sitk.CompositeTransform([affine, bspline])
    return Registration(transform, float(metric), time.perf_counter() - start)


def resample(array: np.ndarray, affine: np.ndarray, registration: Registration, reference: sitk.Image,
             linear: bool = True) -> np.ndarray:
    """A moving-image array resampled onto the fixed (reference) grid through the fitted transform."""
    interpolator = sitk.sitkLinear if linear else sitk.sitkNearestNeighbor
    moved = sitk.Resample(to_sitk(array, affine), reference, registration.transform, interpolator, 0.0)
    return from_sitk(moved)


def load_mni152() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """T1 (skull-stripped), brain mask, grey and white probability maps and the affine of nilearn's
    MNI152 2009a templates at 1 mm (shipped in the wheel: no download)."""
    from nilearn import datasets

    mask_img = datasets.load_mni152_brain_mask(resolution=1)
    brain = np.asanyarray(mask_img.dataobj) > 0.5
    t1 = np.asanyarray(datasets.load_mni152_template(resolution=1).dataobj).astype(np.float32)
    grey = np.asanyarray(datasets.load_mni152_gm_template(resolution=1).dataobj).astype(np.float32)
    white = np.asanyarray(datasets.load_mni152_wm_template(resolution=1).dataobj).astype(np.float32)
    return np.where(brain, t1, 0.0).astype(np.float32), brain, grey, white, np.asarray(mask_img.affine, float)


def excluded_lesion(lesion: np.ndarray, affine: np.ndarray, margin: float) -> np.ndarray:
    """The lesion dilated by ``margin`` mm (the voxels left out of the metric)."""
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    return ndimage.distance_transform_edt(~np.asarray(lesion, bool), sampling=spacing) <= margin


def atlas_tissue_maps(image: np.ndarray, affine: np.ndarray, brain: np.ndarray, lesion: np.ndarray,
                      settings: RegistrationSettings = RegistrationSettings(), min_dice: float = 0.0,
                      key: str = "geometry.atlas.min_dice") -> AtlasMaps:
    """Register the MNI152 atlas to a patient's scan and warp its grey, white and CSF maps onto it.

    Args:
        image: the patient's scan (any MR contrast), ``(i, j, k)``.
        affine: its RAS voxel-to-world affine.
        brain: the patient's brain mask on that grid.
        lesion: tumour and edema on that grid (excluded from the metric, dilated by ``exclude_margin``).
        settings: optimisation settings.
        min_dice: the quality threshold on the brain-mask Dice.
        key: the case key of the threshold (for the error message).

    Raises:
        InputDataError: the brain mask is empty or the Dice is below ``min_dice``.
    """
    brain = np.asarray(brain, dtype=bool)
    if not brain.any():
        raise InputDataError("atlas registration: the patient's brain mask is empty")
    t1, atlas_brain, grey, white, atlas_affine = load_mni152()
    excluded = excluded_lesion(lesion, affine, settings.exclude_margin)
    fixed = to_sitk(_normalised(np.asarray(image, dtype=np.float64), brain), affine)
    moving = to_sitk(_normalised(t1.astype(np.float64), atlas_brain), atlas_affine)
    fixed_brain = to_sitk(brain.astype(np.uint8), affine)
    metric_mask = to_sitk((~excluded).astype(np.uint8), affine)
    try:
        registration = register(fixed, moving, fixed_brain, to_sitk(atlas_brain.astype(np.uint8), atlas_affine),
                                metric_mask, settings)
    except RuntimeError as exc:  # ITK's exceptions: a degenerate image or metric
        reason = " ".join(str(exc).split("ERROR:")[-1].split())[:160]
        raise InputDataError(f"atlas registration failed ({reason}); check the scan and the brain mask") from None
    warped_brain = resample(atlas_brain.astype(np.float32), atlas_affine, registration, fixed) > 0.5
    quality = dice(warped_brain, brain)
    if quality < min_dice:
        raise InputDataError(f"atlas registration: key '{key}': brain-mask Dice {quality:.3f} is below the "
                             f"threshold {min_dice:g}; check the scan, the brain mask and the lesion labels")
    csf = np.where(atlas_brain, np.clip(1.0 - grey - white, 0.0, 1.0), 0.0).astype(np.float32)
    maps = np.stack([resample(m, atlas_affine, registration, fixed) for m in (grey, white, csf)])
    return AtlasMaps(*_on_brain(maps, brain), atlas_brain=warped_brain, dice=quality,
                     metric=registration.metric, seconds=registration.seconds)


def _on_brain(maps: np.ndarray, brain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps renormalised to sum 1 on ``brain`` (nearest atlas voxel where they vanish), 0 outside."""
    total = maps.sum(axis=0)
    covered = total > 1e-3
    if not covered.any():
        raise InputDataError("atlas registration: the warped atlas does not overlap the patient's brain")
    missing = brain & ~covered
    if missing.any():
        _, nearest = ndimage.distance_transform_edt(~covered, return_distances=True, return_indices=True)
        index = tuple(n[missing] for n in nearest)
        maps[:, missing] = maps[(slice(None),) + index]
        total = maps.sum(axis=0)
    maps = np.where(brain, maps / np.where(total > 0, total, 1.0), 0.0).astype(np.float32)
    return maps[0], maps[1], maps[2]
