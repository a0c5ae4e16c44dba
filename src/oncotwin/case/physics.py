"""Case-file section ``physics``: which models are on (fluid, drug, oxygen, growth, mechanics), with options."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator

from oncotwin.case.base import StrictModel
from oncotwin.case.cellularity import CellularityMap
from oncotwin.case.immune import ImmunePhysics
from oncotwin.case.initial_profile import InitialProfile
from oncotwin.case.quantity import (
    MAX_KILL_RATE,
    Duration,
    Fraction,
    KillRate,
    Pressure,
    ProliferationRate,
    Quantity,
    RobinConductance,
)
from oncotwin.core.units import to_internal
from oncotwin.defaults.oxygen import (
    HYPOXIC_THRESHOLD,
    NECROTIC_THRESHOLD,
    REGRESSION_ONSET,
    REGRESSION_RESIDUAL,
    TUMOUR_CONSUMPTION_DEFAULT,
)
from oncotwin.defaults.tissue import (
    CARRYING_CAPACITY,
    CLEARANCE_HALF_TIME,
    ENHANCING_THRESHOLD,
    FLAIR_THRESHOLD,
    GROWTH_STRAIN,
    NECROSIS_RATE,
    NECROTIC_CLEARANCE_HALF_TIME,
    PROLIFERATION_RATE,
    STRESS_COUPLING,
)
from oncotwin.pk.drugs import UnknownDrugError, lookup


class PressureBC(StrictModel):
    """Fixed interstitial pressure on a tagged boundary."""

    boundary: str
    type: Literal["pressure"]
    pressure: Pressure


class NoFluxBC(StrictModel):
    """Zero normal flux on a tagged boundary (the default where nothing is set)."""

    boundary: str
    type: Literal["no_flux"]


class RobinBC(StrictModel):
    """Far-field condition: outward flux = conductance * (p - far_pressure)."""

    boundary: str
    type: Literal["robin"]
    conductance: RobinConductance
    far_pressure: Pressure


FluidBC = Annotated[PressureBC | NoFluxBC | RobinBC, Field(discriminator="type")]


class FluidPhysics(StrictModel):
    """Steady interstitial fluid flow (Darcy + Starling + lymphatics)."""

    enabled: bool = True
    degree: Annotated[int, Field(ge=1, le=3)] = 1
    boundary_conditions: list[FluidBC] = []
    ifp_threshold: Pressure = 5.0

    @field_validator("boundary_conditions")
    @classmethod
    def _one_condition_per_boundary(cls, value: list[FluidBC]) -> list[FluidBC]:
        names = [bc.boundary for bc in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"boundary {duplicates[0]!r} has more than one condition")
        return value


class DrugPhysics(StrictModel):
    """Drug transport in tissue for every drug of the treatment (needs a treatment and a time section).

    ``antibody_transport``: a checkpoint inhibitor without a ``physics.growth.drug_effect`` acts only
    through its PD-1 occupancy, which the plasma PK gives (:mod:`oncotwin.model.delivery`); it gets a tissue
    transport problem (and exposure maps) only when this is true.
    """

    enabled: bool = True
    degree: Annotated[int, Field(ge=1, le=2)] = 1
    supg: Literal["auto", "on", "off"] = "auto"
    antibody_transport: bool = False


class DrugEffectSpec(StrictModel):
    """Emax (Hill) kill of the sensitive clone by one drug's interstitial concentration."""

    max_kill_rate: Quantity("1/s", example="0.3 1/day", positive=True, maximum=MAX_KILL_RATE,
                            why="100 1/day, a half-life of ~10 min")
    ec50: Quantity("mg/mm^3", example="1 mg/L", positive=True)
    hill: Annotated[float, Field(gt=0, le=10)] = 1.0


class GrowthPhysics(StrictModel):
    """Tumour growth: two clones (sensitive, resistant) and necrosis by reaction-diffusion.

    Regions give the invasion diffusivity, a proliferation scale and the initial densities
    (``regions.<name>.growth``); ``drug_effect`` gives each drug's kill of the sensitive clone. Every
    ``remodel_every`` (null: never) the tissue follows the tumour: cells of non-tumour regions take the
    fluid, drug and oxygen parameters of ``tumour_region`` (default: the first region of kind tumour) in
    proportion to their tumour cell density (tumour vasculature and perfusion follow the tumour).

    Treatment moves cells into a doomed compartment cleared with ``clearance_half_time`` (Lim et al. 2008);
    anoxic necrosis is cleared with ``necrotic_clearance_half_time`` (null: never). With ``tissue_motion``
    the tissue moves with the net volume the tumour gains or loses (Ward & King 1997): a shrinking tumour
    shrinks on the image. With ``volume_exclusion`` the viable cells invade only the space that doomed and
    necrotic cells leave free (Simpson, Hughes & Landman 2009): a rim does not drain into a full necrotic
    core; off, invasion is Fisher diffusion that ignores them. ``cellularity`` takes the baseline viable
    density inside tumour regions from an ADC map (Atuegwu et al. 2011) instead of the regions' uniform
    ``initial_density`` (or its ``initial_density_depth`` ramp). ``initial_profile`` lays a two-edge lesion
    out as the model's travelling-wave tail instead (:class:`~oncotwin.case.initial_profile.InitialProfile`).

    Imaging readouts: the total tumour (all cells at or above ``detection_threshold``) always; with
    ``readouts``, also ``enhancing`` (viable and doomed cells at or above ``enhancing_threshold``, necrosis
    excluded: T1c) and ``flair`` (all cells at or above ``flair_threshold``: FLAIR/T2). The baseline puts
    each imaging edge on its segmented surface (:mod:`oncotwin.problems.initial_cells`).
    """

    enabled: bool = True
    step: Duration = 86400.0
    proliferation_rate: ProliferationRate = to_internal(PROLIFERATION_RATE, "1/s")
    resistant_proliferation_rate: ProliferationRate | None = None
    mutation_fraction: Annotated[float, Field(ge=0, le=0.1)] = 1e-4
    initial_resistant_fraction: Fraction = 0.01
    necrosis_rate: KillRate = to_internal(NECROSIS_RATE, "1/s")
    clearance_half_time: Duration = to_internal(CLEARANCE_HALF_TIME, "s")
    necrotic_clearance_half_time: Duration | None = to_internal(NECROTIC_CLEARANCE_HALF_TIME, "s")
    tissue_motion: bool = True
    volume_exclusion: bool = True
    cellularity: CellularityMap | None = None
    initial_profile: InitialProfile = InitialProfile()
    readouts: list[Literal["enhancing", "flair"]] = []
    enhancing_threshold: Annotated[float, Field(gt=0, lt=1)] = ENHANCING_THRESHOLD
    flair_threshold: Annotated[float, Field(gt=0, lt=1)] = FLAIR_THRESHOLD
    detection_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.2
    carrying_capacity: Quantity("1/mm^3", example="1e6 1/mm^3", positive=True) = to_internal(
        CARRYING_CAPACITY, "1/mm^3")
    drug_effect: dict[str, DrugEffectSpec] = {}
    remodel_every: Duration | None = 7 * 86400.0
    tumour_region: str | None = None

    @field_validator("drug_effect")
    @classmethod
    def _library_drugs(cls, value: dict[str, DrugEffectSpec]) -> dict[str, DrugEffectSpec]:
        # keyed by the library's names, so that a patient case can hold the effects of drugs that only
        # some regimens give (oncotwin compare)
        out = {}
        for name, effect in value.items():
            try:
                out[lookup(name).name] = effect
            except UnknownDrugError as exc:
                raise ValueError(str(exc)) from None
        return out

    @property
    def clearance_rate(self) -> float:
        """Clearance rate of doomed cells ln 2 / T_c [1/s]."""
        return math.log(2.0) / self.clearance_half_time

    @property
    def necrotic_clearance_rate(self) -> float:
        """Clearance rate of necrotic debris [1/s] (0: never cleared)."""
        t = self.necrotic_clearance_half_time
        return 0.0 if t is None else math.log(2.0) / t

    @property
    def resistant_rate(self) -> float:
        """Proliferation rate of the resistant clone (default: the sensitive clone's)."""
        return self.proliferation_rate if self.resistant_proliferation_rate is None \
            else self.resistant_proliferation_rate


class MechanicsPhysics(StrictModel):
    """Mass effect: linear elasticity with a growth eigenstrain proportional to the tumour density."""

    enabled: bool = True
    degree: Annotated[int, Field(ge=1, le=2)] = 2
    fixed_boundaries: list[str] = ["outer"]
    growth_strain: Annotated[float, Field(ge=0, le=1)] = GROWTH_STRAIN
    stress_coupling: Quantity("1/mmHg", example="0.5 1/kPa", nonnegative=True) = to_internal(
        STRESS_COUPLING, "1/mmHg")
    # the stress that slows invasion is updated this often (None: every growth step); outputs in between
    # solve the displacement of the current cells without changing the trajectory
    update_every: Duration | None = None


class OxygenBC(StrictModel):
    """Fixed oxygen partial pressure on a tagged boundary (elsewhere: no flux)."""

    boundary: str
    po2: Pressure


class VesselRegressionOption(StrictModel):
    """Vessel co-option then regression as the tumour fills the tissue (Holash et al. 1999): the supply is
    intact up to ``onset_density`` and falls linearly to ``residual_fraction`` of it at full occupancy."""

    enabled: bool = True
    onset_density: Annotated[float, Field(ge=0, lt=1)] = REGRESSION_ONSET
    residual_fraction: Fraction = REGRESSION_RESIDUAL


class OxygenPhysics(StrictModel):
    """Quasi-steady oxygen: diffusion, vascular supply (regressing in dense tumour) and Michaelis-Menten
    consumption."""

    enabled: bool = True
    tumour_consumption: Quantity("mmHg/s", example="15 mmHg/s", nonnegative=True) = TUMOUR_CONSUMPTION_DEFAULT
    hypoxic_threshold: Pressure = HYPOXIC_THRESHOLD
    necrotic_threshold: Pressure = NECROTIC_THRESHOLD
    boundary_conditions: list[OxygenBC] = []
    vessel_regression: VesselRegressionOption = VesselRegressionOption()


class Physics(StrictModel):
    """Which physics are on, with their options."""

    fluid: FluidPhysics = FluidPhysics(enabled=False)
    drug: DrugPhysics = DrugPhysics(enabled=False)
    oxygen: OxygenPhysics = OxygenPhysics(enabled=False)
    growth: GrowthPhysics = GrowthPhysics(enabled=False)
    mechanics: MechanicsPhysics = MechanicsPhysics(enabled=False)
    immune: ImmunePhysics = ImmunePhysics(enabled=False)
