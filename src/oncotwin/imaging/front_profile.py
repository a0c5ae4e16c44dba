"""A baseline tumour-cell profile whose imaging edges are the segmented edges: the travelling-wave tail.

Rockne et al. (Phys. Med. Biol. 55:3271, 2010) see a glioma's T1-gadolinium edge at about 80 % of the
carrying capacity and its T2/FLAIR edge at about 16 %. Behind a Fisher-KPP front the density decays ahead of
the front as ``exp(-x / lambda)`` with ``lambda = sqrt(D / rho)`` (Murray, Mathematical Biology I, 2002,
section 13.2: the minimal-speed wave's linearised tail), so the gap between the two edges is
``lambda ln(0.8 / 0.16)`` and ``D / rho`` follows from the two visible radii (Harpold, Alvord & Swanson,
J. Neuropathol. Exp. Neurol. 66:1, 2007).

The profile is a function of the signed distances (mm, positive inside) to three segmented surfaces,
computed on the label grid with Euclidean distance transforms:

* inside the enhancing tumour (distance ``s_e`` to its surface): ``1 - (1 - theta_e) exp(-s_e / lambda)``,
  the T1c threshold ``theta_e`` on its surface, near the carrying capacity a few lambda inside;
* in the rest of the lesion (edema, non-enhancing tumour), between the enhancing surface (distance ``d_e``
  outside it) and the lesion's outer surface (distance ``s_l`` inside it): the exponential tail
  ``theta_e (theta_o / theta_e)^(d_e / (d_e + s_l))``, which is ``theta_e exp(-d_e / lambda)`` where the
  edema is ``lambda ln(theta_e / theta_o)`` thick and puts the outer threshold ``theta_o`` on the lesion's
  surface wherever its thickness differs;
* beyond the lesion (distance ``d_l``): the tail continues, ``theta_o exp(-d_l / lambda)``, invisible;
* in the necrotic core (distance ``s_n`` inside it): dead cells fill the room the viable cells leave; the
  viable density is continuous with the rim (or edema) it borders and falls over ``necrotic_length`` (a
  voxel: a modelling choice, the core is anoxic).

Every readout's level set at t = 0 is then the zero level set of its surface's signed distance, i.e. the
segmented surface, up to the interpolation of the distances.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EdgeDistances", "front_length", "front_level_gap", "front_profile", "infiltration_length",
           "signed_distance", "edge_distances"]


def equivalent_radius(voxels: int, voxel_volume: float) -> float:
    """Radius [mm] of the sphere with the volume of ``voxels`` voxels of ``voxel_volume`` mm^3."""
    return (3.0 * voxel_volume * float(voxels) / (4.0 * math.pi)) ** (1.0 / 3.0)


def infiltration_length(core_voxels: int, lesion_voxels: int, voxel_volume: float, inner: float = 0.8,
                        outer: float = 0.16) -> float | None:
    """``lambda = sqrt(D / rho)`` [mm] from the sphere-equivalent radii of the core (T1Gd edge at ``inner``)
    and of the whole lesion (FLAIR edge at ``outer``): the gap is ``lambda ln(inner / outer)`` (Harpold et al.
    2007, a simplification of Rockne et al. 2010's calibration). None without a gap (no edema)."""
    gap = equivalent_radius(lesion_voxels, voxel_volume) - equivalent_radius(core_voxels, voxel_volume)
    return gap / math.log(inner / outer) if gap > 1e-9 else None


@functools.lru_cache(maxsize=8)
def front_level_gap(inner: float = 0.8, outer: float = 0.16) -> float:
    """Distance between the ``inner`` and ``outer`` density levels of the model's own front, in units of
    ``sqrt(D / rho)``.

    The front is the minimal-speed Fisher-KPP travelling wave (speed ``2 sqrt(D rho)``; Fisher 1937,
    Kolmogorov, Petrovsky & Piskunov 1937), ``U'' + 2 U' + U (1 - U) = 0`` in ``xi = x / sqrt(D / rho)``,
    integrated (scipy ``solve_ivp``) from the unstable manifold of ``U = 1``, where ``1 - U`` grows as
    ``exp((sqrt 2 - 1) xi)``. For 0.8 and 0.16 it is 6.11: the pure exponential tail's ``ln 5 = 1.61``
    underestimates the width behind the front, so ``D / rho`` from it is 14x too large.
    """
    from scipy.integrate import solve_ivp

    growth, start = math.sqrt(2.0) - 1.0, 1e-8

    def wave(_, y):
        return [y[1], -2.0 * y[1] - y[0] * (1.0 - y[0])]

    def below(_, y):
        return y[0] - 0.5 * outer

    below.terminal = True
    solution = solve_ivp(wave, (0.0, 500.0), [1.0 - start, -start * growth], events=below, rtol=1e-11,
                         atol=1e-14, max_step=0.01)
    xi, u = solution.t, solution.y[0]  # u decreases monotonically along the wave
    return float(np.interp(-outer, -u, xi) - np.interp(-inner, -u, xi))


def front_length(core_voxels: int, lesion_voxels: int, voxel_volume: float, inner: float = 0.8,
                 outer: float = 0.16) -> float | None:
    """``sqrt(D / rho)`` [mm] of the front whose ``inner`` (T1Gd) and ``outer`` (FLAIR) levels are the
    sphere-equivalent radii of the core and of the whole lesion (Rockne et al. 2010 infer D/rho from these two
    radii with the model itself): the gap divided by :func:`front_level_gap`. None without a gap."""
    gap = equivalent_radius(lesion_voxels, voxel_volume) - equivalent_radius(core_voxels, voxel_volume)
    return gap / front_level_gap(inner, outer) if gap > 1e-9 else None


def signed_distance(mask: np.ndarray, spacing) -> np.ndarray:
    """Signed distance [mm] to the surface of ``mask`` (positive inside), zero on the voxel faces between
    inside and outside: the distance to the nearest voxel centre of the other side less half a voxel."""
    from scipy import ndimage

    half = 0.5 * float(np.min(spacing))
    if not mask.any():
        return np.full(mask.shape, -1e6)
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return np.where(mask, inside - half, half - outside)


@dataclass(frozen=True)
class EdgeDistances:
    """Signed distances [mm] (positive inside) to the enhancing, necrotic and whole-lesion surfaces."""

    enhancing: np.ndarray
    necrotic: np.ndarray
    lesion: np.ndarray


def edge_distances(labels: np.ndarray, spacing, enhancing: list[int], necrotic: list[int],
                   lesion: list[int]) -> EdgeDistances:
    """The three signed-distance maps of a label map (label values of each set)."""
    return EdgeDistances(*(signed_distance(np.isin(labels, values), spacing)
                           for values in (enhancing, necrotic, lesion)))


def front_profile(d: EdgeDistances, length: float, inner: float, outer: float,
                  necrotic_length: float) -> tuple[np.ndarray, np.ndarray]:
    """Viable and necrotic densities (fractions of the carrying capacity) from the signed distances.

    Args:
        d: signed distances (arrays of one shape: voxels or nodes).
        length: the tail's decay length lambda [mm].
        inner: T1c threshold (the enhancing surface's density).
        outer: the lesion surface's threshold (FLAIR).
        necrotic_length: decay length [mm] of the viable density into the necrotic core.

    Returns:
        (viable, necrotic).
    """
    s_e, s_n, s_l = d.enhancing, d.necrotic, d.lesion
    out_e = np.maximum(-s_e, 0.0)
    depth = np.maximum(s_l, 0.0)
    share = out_e / np.maximum(out_e + depth, 1e-12)
    tail = inner * (outer / inner) ** share
    viable = np.where(s_e >= 0.0, 1.0 - (1.0 - inner) * np.exp(-np.maximum(s_e, 0.0) / length), tail)
    viable = np.where(s_l < 0.0, outer * np.exp(np.minimum(s_l, 0.0) / length), viable)
    # continuous with the rim (or the edema) it borders, then falling over about a voxel
    in_core = (s_n > 0.0) & (s_e < 0.0)
    viable = np.where(in_core, tail * np.exp(-np.maximum(s_n, 0.0) / necrotic_length), viable)
    necrotic = np.where(in_core, 1.0 - viable, 0.0)
    return viable, necrotic
