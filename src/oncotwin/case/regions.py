"""Case-file section ``regions``: each region's tissue kind (literature defaults) and parameter overrides."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.quantity import (
    CellDiffusivity,
    Conductivity,
    Fraction,
    Length,
    LymphaticFiltration,
    Modulus,
    Permeability,
    Pressure,
    Quantity,
    SurfaceDensity,
)
from oncotwin.defaults.oxygen import OXYGEN_DEFAULTS
from oncotwin.defaults.tissue import (
    BRAIN_TISSUE_DEFAULTS,
    DRUG_REGION_SCALES,
    FLUID_DEFAULTS,
    GROWTH_DEFAULTS,
    MECHANICS_DEFAULTS,
    TISSUE_KINDS,
    TUMOUR_KINDS,
)
from oncotwin.outcomes.ntcp import ORGANS
from oncotwin.pk.drugs import LIBRARY

ORGAN_NAMES = tuple(sorted(set(ORGANS) | {t for entry in LIBRARY.values() for t in entry.penetration}))
"""Organs a region can be: those with NTCP parameters or with a drug's tissue penetration (barrier)."""


class FluidTissue(StrictModel):
    """Starling/Darcy parameters of one region (missing values come from the tissue kind's defaults)."""

    hydraulic_conductivity: Conductivity | None = None
    vascular_permeability: Permeability | None = None
    vessel_surface_density: SurfaceDensity | None = None
    vascular_pressure: Pressure | None = None
    plasma_oncotic_pressure: Pressure | None = None
    interstitial_oncotic_pressure: Pressure | None = None
    reflection_coefficient: Annotated[float, Field(ge=0, le=1)] | None = None
    lymphatic_filtration: LymphaticFiltration | None = None
    lymphatic_pressure: Pressure | None = None


class RegionDrug(StrictModel):
    """Region-wise scaling of the drug library's (tumour) transport parameters."""

    permeability_scale: Annotated[float, Field(ge=0)] | None = None
    diffusivity_scale: Annotated[float, Field(gt=0)] | None = None


class RegionGrowth(StrictModel):
    """Tumour-cell parameters of one region (CSF or ventricles: diffusivity 0 and proliferation_scale 0).

    ``initial_density_depth`` grades the baseline density with depth below the region's surface: it is
    the detection threshold on the surface (the segmented edge is the visible edge) and rises linearly to
    ``initial_density`` at that depth (imaging sees cellularity fall off towards the margin; without it the
    density is uniform and the visible tumour can only vanish all at once under therapy).
    """

    diffusivity: CellDiffusivity | None = None
    proliferation_scale: Annotated[float, Field(ge=0)] | None = None
    initial_density: Fraction | None = None
    initial_necrotic: Fraction | None = None
    initial_density_depth: Length | None = None

    @model_validator(mode="after")
    def _room(self) -> RegionGrowth:
        if (self.initial_density or 0) + (self.initial_necrotic or 0) > 1:
            raise FieldProblem("initial_density", self.initial_density,
                               f"initial_density + initial_necrotic must not exceed 1 (the carrying capacity); "
                               f"initial_necrotic is {self.initial_necrotic}")
        return self


class RegionMechanics(StrictModel):
    """Linear-elastic moduli of one region."""

    young_modulus: Modulus | None = None
    poisson_ratio: Annotated[float, Field(ge=0, le=0.499)] | None = None


class RegionOxygen(StrictModel):
    """Oxygen transport parameters of one region (pO2 based: rates in mmHg/s)."""

    diffusivity: Quantity("mm^2/s", example="2e-5 cm^2/s", positive=True) | None = None
    supply_rate: Quantity("1/s", example="2.8 1/s", nonnegative=True) | None = None
    vascular_po2: Pressure | None = None
    tissue_consumption: Quantity("mmHg/s", example="15 mmHg/s", nonnegative=True) | None = None
    half_saturation: Quantity("mmHg", example="2.5 mmHg", positive=True) | None = None


# internal units of the oxygen defaults (floats) so that they pass the same validation as user input
_OXYGEN_UNITS = {"diffusivity": "mm^2/s", "supply_rate": "1/s", "vascular_po2": "mmHg",
                 "tissue_consumption": "mmHg/s", "half_saturation": "mmHg"}
OXYGEN_REGION_DEFAULTS = {kind: {k: f"{v!r} {_OXYGEN_UNITS[k]}" for k, v in values.items()}
                          for kind, values in OXYGEN_DEFAULTS.items()}


class Region(StrictModel):
    """A tissue region: its kind (which selects literature defaults), its organ and parameter overrides.

    ``organ`` (optional) names the organ the region is part of; drugs with a tissue penetration ratio for it
    (:func:`oncotwin.pk.drugs.barrier_kpuu`, e.g. temozolomide in brain) cross its vessels behind a barrier.
    Mark the regions with an intact barrier (normal brain), not the contrast-enhancing tumour.

    ``tissue`` (optional, for whole-brain meshes): ``grey_matter``, ``white_matter`` or ``csf`` layers that
    brain tissue's defaults (:data:`oncotwin.defaults.tissue.BRAIN_TISSUE_TABLE`: white matter invades 5x
    faster than grey, CSF has no invasion, no vessels and drained, soft mechanics) over the kind's.
    """

    kind: Literal["tumour", "necrotic", "edema", "normal"]
    organ: str | None = None
    tissue: Literal["grey_matter", "white_matter", "csf"] | None = None
    fluid: FluidTissue = FluidTissue()
    drug: RegionDrug = RegionDrug()
    growth: RegionGrowth = RegionGrowth()
    mechanics: RegionMechanics = RegionMechanics()
    oxygen: RegionOxygen = RegionOxygen()

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or data.get("kind") not in TISSUE_KINDS:
            return data
        brain = BRAIN_TISSUE_DEFAULTS.get(data.get("tissue"), {})
        for key, defaults in (("fluid", FLUID_DEFAULTS), ("drug", DRUG_REGION_SCALES), ("growth", GROWTH_DEFAULTS),
                              ("mechanics", MECHANICS_DEFAULTS),
                              ("oxygen", OXYGEN_REGION_DEFAULTS)):
            given = data.get(key) or {}
            if isinstance(given, dict):
                data = dict(data, **{key: {**defaults[data["kind"]], **brain.get(key, {}), **given}})
        return data

    @model_validator(mode="after")
    def _known_organ(self) -> Region:
        if self.organ is not None:
            name = self.organ.strip().lower().replace(" ", "_")
            if name not in ORGAN_NAMES:
                raise FieldProblem("organ", self.organ, f"known organs: {', '.join(ORGAN_NAMES)}")
            object.__setattr__(self, "organ", name)
        return self

    @property
    def is_tumour(self) -> bool:
        """Whether the region is part of the tumour (viable or necrotic)."""
        return self.kind in TUMOUR_KINDS
