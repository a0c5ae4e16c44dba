"""Lesion volume from its longest diameter: the sphere-like rule of the Laleh/TumorGrowth data set.

``V = 0.52 d^3`` with ``d`` the longest diameter: the volume of a sphere of diameter ``d``
(pi/6 = 0.5236, rounded to 0.52 as the data set does; Laleh et al., PLoS Comput Biol 18:e1009822, 2022,
``Lesion_vol``). ``tests/series/test_volume.py`` checks that this reproduces their column on every lesion.
A ``volume_<unit>`` column in a long-form table overrides it (e.g. a segmented volume).
"""

from __future__ import annotations

import numpy as np

SPHERE_FACTOR = 0.52
"""V / d^3 of the data set (pi/6 rounded to two digits)."""


def volume_from_diameter(diameter_mm: np.ndarray | float) -> np.ndarray:
    """Sphere-like volume [mm^3] of lesions of longest diameter ``diameter_mm`` [mm]."""
    d = np.asarray(diameter_mm, dtype=float)
    return SPHERE_FACTOR * d ** 3


def diameter_from_volume(volume_mm3: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`volume_from_diameter` [mm]."""
    v = np.maximum(np.asarray(volume_mm3, dtype=float), 0.0)
    return np.cbrt(v / SPHERE_FACTOR)
