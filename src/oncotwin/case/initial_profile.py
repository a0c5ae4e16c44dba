"""Case-file section ``physics.growth.initial_profile``: how the baseline tumour-cell density is laid out."""

from __future__ import annotations

from typing import Literal

from oncotwin.case.base import StrictModel
from oncotwin.case.quantity import Length


class InitialProfile(StrictModel):
    """The baseline density: the regions' uniform values, or the travelling-wave tail between two edges.

    ``regions`` (default): each region's ``initial_density``/``initial_necrotic`` (or its depth ramp, or an
    ADC map), with the imaging edges placed on the region surfaces (:mod:`oncotwin.problems.initial_cells`).
    Suits single-edge lesions (one readout surface).

    ``travelling_wave``: for lesions seen at two edges (T1c and FLAIR), the model's own front profile
    (:mod:`oncotwin.imaging.front_profile`; Rockne et al. 2010, Harpold et al. 2007): near carrying capacity
    inside the enhancing tumour, the exponential tail through the edema with the T1c threshold on the
    enhancing surface and the FLAIR threshold on the lesion's, the necrotic core its own compartment. Needs a
    segmentation geometry (the distances are computed on its label grid).

    Attributes:
        kind: ``regions`` or ``travelling_wave``.
        enhancing_regions: the regions seen on T1c (default: every region of kind tumour); the other
            lesion regions except necrotic ones (edema, non-enhancing tumour) carry the tail.
        infiltration_length: the tail's decay length sqrt(D / rho) (default: from the sphere-equivalent
            radii of the core and of the whole lesion, Harpold et al. 2007; without edema
            sqrt(D / rho) of the lesion's invasion diffusivity and the proliferation rate).
    """

    kind: Literal["regions", "travelling_wave"] = "regions"
    enhancing_regions: list[str] | None = None
    infiltration_length: Length | None = None
