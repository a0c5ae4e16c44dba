"""Registration: a synthetic pair with a known affine is recovered within 1 mm, lesion masked out of the metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.errors import InputDataError
from oncotwin.imaging import registration as reg

N, STEP = 48, 2.0  # 96 mm field of view at 2 mm


def grid_affine() -> np.ndarray:
    """An LPS-like RAS affine (x and y flipped, as BraTS), centred at the origin."""
    affine = np.diag([-STEP, -STEP, STEP, 1.0])
    affine[:3, 3] = [STEP * (N - 1) / 2, STEP * (N - 1) / 2, -STEP * (N - 1) / 2]
    return affine


def world(affine: np.ndarray) -> np.ndarray:
    ijk = np.indices((N, N, N), dtype=float).reshape(3, -1)
    return (affine[:3, :3] @ ijk + affine[:3, 3:4]).T


def phantom(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A brain-like asymmetric ellipsoid with inner structures (intensity, brain mask) at world points."""
    x, y, z = points.T
    outer = (x / 38) ** 2 + ((y - 3) / 32) ** 2 + (z / 28) ** 2
    brain = outer <= 1.0
    value = 0.6 * brain
    for centre, radii, amplitude in (((10, 5, 4), (9, 6, 7), 0.35), ((-14, -8, -6), (6, 11, 5), -0.3),
                                     ((2, 18, 10), (5, 5, 8), 0.25), ((-5, -20, 12), (7, 4, 4), 0.2)):
        r2 = sum(((c - c0) / r) ** 2 for c, c0, r in zip((x, y, z), centre, radii))
        value = value + amplitude * np.exp(-r2) * brain
    value = value + 0.12 * np.sin(x / 6.0) * np.cos(y / 8.0 + 0.5) * np.sin(z / 5.0 + 1.0) * brain  # gyri-like texture
    return value.reshape(N, N, N).astype(np.float32), brain.reshape(N, N, N)


def known_affine() -> np.ndarray:
    """4x4 world map S: rotation 6 deg about z and 4 deg about x, scale 1.04/0.97/1.02, shift (4, -3, 2) mm."""
    a, b = math.radians(6.0), math.radians(4.0)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    S = np.eye(4)
    S[:3, :3] = rz @ rx @ np.diag([1.04, 0.97, 1.02])
    S[:3, 3] = [4.0, -3.0, 2.0]
    return S


def pair(with_tumour: bool):
    """Fixed f(x) (optionally with a bright 'tumour' absent from the moving image), moving f(S y)."""
    affine = grid_affine()
    points = world(affine)
    fixed, brain = phantom(points)
    S = known_affine()
    moving, moving_brain = phantom(points @ S[:3, :3].T + S[:3, 3])
    lesion = np.zeros_like(brain)
    if with_tumour:
        lesion = (np.linalg.norm(points - [-12.0, 10.0, 0.0], axis=1) <= 9.0).reshape(N, N, N)
        fixed = np.where(lesion, 1.5, fixed).astype(np.float32)
    return affine, fixed, brain, moving, moving_brain, lesion, S


def recovered_error(with_tumour: bool, exclude: bool) -> float:
    affine, fixed, brain, moving, moving_brain, lesion, S = pair(with_tumour)
    settings = reg.RegistrationSettings(deformable=False, shrink=(2, 1), sampling=0.2, affine_iterations=300)
    excluded = lesion if exclude else np.zeros_like(lesion)
    registration = reg.register(reg.to_sitk(fixed, affine), reg.to_sitk(moving, affine),
                                reg.to_sitk(brain.astype(np.uint8), affine),
                                reg.to_sitk(moving_brain.astype(np.uint8), affine),
                                reg.to_sitk((~excluded).astype(np.uint8), affine), settings)
    # the fitted map takes a fixed point x to the moving point y with f(S y) = f(x): y = S^-1 x
    points = world(affine)[brain.ravel()][::7]
    inverse = np.linalg.inv(S)
    expected = points @ inverse[:3, :3].T + inverse[:3, 3]
    return float(np.max(np.linalg.norm(registration.map_points(points) - expected, axis=1)))


def test_sitk_round_trip_keeps_the_ras_grid():
    affine = grid_affine()
    array = np.random.default_rng(0).random((N, N, N)).astype(np.float32)
    image = reg.to_sitk(array, affine)
    assert np.array_equal(reg.from_sitk(image), array)
    # voxel (3, 5, 7) sits at the RAS point of the affine, i.e. at its LPS mirror for SimpleITK
    ras = affine[:3, :3] @ [3, 5, 7] + affine[:3, 3]
    assert np.allclose(image.TransformIndexToPhysicalPoint((3, 5, 7)), ras * [-1, -1, 1])


def test_known_affine_is_recovered_within_1_mm():
    assert recovered_error(with_tumour=False, exclude=False) < 1.0


def test_known_affine_is_recovered_with_the_tumour_masked_out_of_the_metric():
    """A bright lesion in the fixed image only: excluded from the metric, the affine is still recovered."""
    assert recovered_error(with_tumour=True, exclude=True) < 1.0


def test_dice_and_renormalised_maps():
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros((4, 4, 4), bool)
    a[:2], b[1:3] = True, True
    assert reg.dice(a, b) == pytest.approx(0.5)
    maps = np.zeros((3, 4, 4, 4), np.float32)
    maps[0, :2], maps[1, :2] = 0.3, 0.5  # the atlas covers half the brain, sums to 0.8 there
    grey, white, csf = reg._on_brain(maps, np.ones((4, 4, 4), bool))
    assert np.allclose(grey + white + csf, 1.0)
    assert np.allclose(grey, 0.375) and np.allclose(white, 0.625)  # the uncovered half copies its neighbour


def test_low_dice_is_a_one_line_error_naming_it():
    """A patient brain mask that is a small ball in a corner cannot match the atlas: the Dice is named."""
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -48.0
    brain = np.zeros((N, N, N), bool)
    brain[2:10, 2:10, 2:10] = True
    image = np.where(brain, np.random.default_rng(1).random(brain.shape), 0.0).astype(np.float32)
    settings = reg.RegistrationSettings(deformable=False, shrink=(2,), affine_iterations=5)
    expected = r"key 'geometry.atlas.min_dice': brain-mask Dice 0\.\d{3} is below"
    with pytest.raises(InputDataError, match=expected) as info:
        reg.atlas_tissue_maps(image, affine, brain, np.zeros_like(brain), settings, min_dice=0.9)
    assert "\n" not in str(info.value)


def test_a_constant_scan_is_a_one_line_error():
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    brain = np.zeros((N, N, N), bool)
    brain[2:10, 2:10, 2:10] = True
    settings = reg.RegistrationSettings(deformable=False, shrink=(2,), affine_iterations=5)
    with pytest.raises(InputDataError, match=r"^atlas registration failed \(") as info:
        reg.atlas_tissue_maps(brain.astype(np.float32), affine, brain, np.zeros_like(brain), settings)
    assert "\n" not in str(info.value)
