"""Tumour cellularity from an apparent diffusion coefficient (ADC) map.

Water diffuses less freely between densely packed cells, so the ADC falls as cellularity rises (Anderson
et al. 2000, Magn Reson Imaging 18:689). The relation used by the image-driven tumour models of
Yankeelov's group is linear between free water and the tumour's most cellular voxel:

.. math::

    N(x) = \\theta\\,\\frac{ADC_w - ADC(x)}{ADC_w - ADC_{min}}

(Atuegwu et al. 2011, Magn Reson Med 66:1689; Hormuth et al. 2015, Phys Biol 12:046006), with ``theta``
the carrying capacity, ``ADC_w`` the ADC of free water at body temperature (default 3.0e-3 mm^2/s in
:mod:`oncotwin.defaults.tissue`; Holz, Heil & Sacco 2000, Phys Chem Chem Phys 2:4740) and ``ADC_min``
the smallest ADC in the tumour.
"""

from __future__ import annotations

import numpy as np


def cellularity_from_adc(adc: np.ndarray, adc_min: float, free_water_adc: float) -> np.ndarray:
    """Fraction of the carrying capacity, ``(ADC_w - ADC) / (ADC_w - ADC_min)`` clipped to [0, 1].

    Args:
        adc: ADC values [mm^2/s].
        adc_min: the smallest ADC in the tumour [mm^2/s] (its most cellular point: density 1).
        free_water_adc: ADC of free water [mm^2/s] (density 0).

    Raises:
        ValueError: ``adc_min`` not below ``free_water_adc``.
    """
    if not adc_min < free_water_adc:
        raise ValueError(f"the tumour's smallest ADC {adc_min:g} mm^2/s must lie below free water's "
                         f"{free_water_adc:g} mm^2/s")
    return np.clip((free_water_adc - np.asarray(adc, dtype=float)) / (free_water_adc - adc_min), 0.0, 1.0)
