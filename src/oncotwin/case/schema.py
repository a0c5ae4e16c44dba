"""Case-file schema: the only place where user input is interpreted.

Every model forbids unknown keys; every dimensional value is a quantity with units converted to the
internal units of :mod:`oncotwin.core.units`; file paths are resolved relative to the case file and must exist.
Cross-field checks (regions that match the geometry, radii in order, ...) live here too, so everything
downstream can trust a :class:`Case`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import Calibration
from oncotwin.case.quantity import Quantity
from oncotwin.case.treatment import Treatment  # noqa: E402  (after the base classes it imports)
from oncotwin.core.units import to_internal
from oncotwin.defaults.oxygen import (
    HYPOXIC_THRESHOLD,
    NECROTIC_THRESHOLD,
    OXYGEN_DEFAULTS,
    TUMOUR_CONSUMPTION_DEFAULT,
)
from oncotwin.defaults.tissue import (
    CARRYING_CAPACITY,
    DRUG_REGION_SCALES,
    FLUID_DEFAULTS,
    GROWTH_DEFAULTS,
    GROWTH_STRAIN,
    MECHANICS_DEFAULTS,
    NECROSIS_RATE,
    PROLIFERATION_RATE,
    STRESS_COUPLING,
    TISSUE_KINDS,
    TUMOUR_KINDS,
)

Length = Quantity("mm", example="12 mm", positive=True)
LengthOrZero = Quantity("mm", example="4 mm", nonnegative=True)
Pressure = Quantity("mmHg", example="15.6 mmHg")
Conductivity = Quantity("mm^2/(mmHg*s)", example="4.13e-8 cm^2/(mmHg*s)", positive=True)
Permeability = Quantity("mm/(mmHg*s)", example="2.8e-7 cm/(mmHg*s)", nonnegative=True)
SurfaceDensity = Quantity("1/mm", example="200 1/cm", nonnegative=True)
LymphaticFiltration = Quantity("1/(mmHg*s)", example="1.5e-5 1/(mmHg*s)", nonnegative=True)
RobinConductance = Quantity("mm/(mmHg*s)", example="1e-6 mm/(mmHg*s)", positive=True)
Duration = Quantity("s", example="1 day", positive=True)
Rate = Quantity("1/s", example="0.05 1/day", nonnegative=True)
CellDiffusivity = Quantity("mm^2/s", example="0.13 mm^2/day", nonnegative=True)
Modulus = Quantity("mmHg", example="2 kPa", positive=True)
Fraction = Annotated[float, Field(ge=0, le=1)]

# Label conventions of the BraTS challenges, as documented presets (never assumed).
LABEL_PRESETS: dict[str, dict[str, list[int]]] = {
    # BraTS 2012-2016: 1 necrosis, 2 edema, 3 non-enhancing tumour, 4 enhancing tumour.
    "brats2013": {"necrotic": [1], "edema": [2], "non_enhancing": [3], "enhancing": [4]},
    # BraTS 2017-2022: 1 necrotic / non-enhancing core, 2 edema, 4 enhancing tumour.
    "brats2017": {"necrotic": [1], "edema": [2], "enhancing": [4]},
    # BraTS 2023+: 1 necrotic core, 2 edema, 3 enhancing tumour.
    "brats2023": {"necrotic": [1], "edema": [2], "enhancing": [3]},
}


def _resolve_path(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise ValueError("expected a file path (relative to the case file)")
    base = Path((info.context or {}).get("base_dir", "."))
    path = Path(value).expanduser()
    path = path if path.is_absolute() else (base / path)
    path = path.resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


# --------------------------------------------------------------------------------------- geometry
class SphereGeometry(StrictModel):
    """Idealized geometry: a spherical tumour (optional necrotic core) inside a sphere of host tissue.

    Regions: ``tumour`` (viable rim), ``necrotic`` (when ``necrotic_radius`` > 0) and ``host``.
    Boundaries: ``outer``, ``tumour_boundary`` and ``necrotic_boundary`` (when there is a core).
    Without ``host_radius`` the tumour is tissue-isolated (as in Baxter & Jain's isolated tumour): no
    host region, and the outer boundary is ``tumour_boundary``.
    """

    kind: Literal["sphere"]
    tumour_radius: Length
    host_radius: Length | None = None
    necrotic_radius: LengthOrZero = 0.0

    @model_validator(mode="after")
    def _radii_in_order(self) -> SphereGeometry:
        host = self.host_radius if self.host_radius is not None else float("inf")
        if not self.necrotic_radius < self.tumour_radius < host:
            raise FieldProblem(
                "tumour_radius", f"{self.tumour_radius:g} mm",
                "radii must satisfy necrotic_radius < tumour_radius < host_radius, got "
                f"{self.necrotic_radius:g} mm, {self.tumour_radius:g} mm, {host:g} mm",
            )
        return self

    def region_names(self) -> list[str]:
        """Region names in tag order."""
        names = ["tumour"] + (["necrotic"] if self.necrotic_radius > 0 else [])
        return names + (["host"] if self.host_radius is not None else [])


class SegmentationGeometry(StrictModel):
    """A label map (NIfTI or NRRD) whose label values map to named regions.

    The host tissue is the ``tissue_mask`` (non-zero voxels) minus the labelled regions, split by
    ``tissue_maps`` (probability maps, argmax) when given; without a mask the host is a margin of
    ``mesh.margin`` around the labelled regions. ``image`` (optional: the MRI or CT intensities) is the
    background of the figures only.
    """

    kind: Literal["segmentation"]
    labels: Path
    tissue_mask: Path | None = None
    image: Path | None = None
    tissue_maps: dict[str, Path] | None = None
    label_preset: Literal["brats2013", "brats2017", "brats2023"] | None = None
    regions: dict[str, list[int]] | None = None
    host_region: str = "host"

    @field_validator("labels", "tissue_mask", "image", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, info)

    @field_validator("tissue_maps", mode="before")
    @classmethod
    def _paths(cls, value: Any, info: ValidationInfo) -> dict[str, Path] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise ValueError("expected a mapping of tissue name to probability-map file")
        return {str(k): _resolve_path(v, info) for k, v in value.items()}

    @field_validator("regions")
    @classmethod
    def _labels_valid(cls, value: dict[str, list[int]] | None) -> dict[str, list[int]] | None:
        if value is None:
            return None
        seen: dict[int, str] = {}
        for name, labels in value.items():
            if not labels:
                raise ValueError(f"region '{name}' has no label values")
            for label in labels:
                if label <= 0:
                    raise ValueError(f"region '{name}': label {label} must be > 0 (0 is background)")
                if label in seen:
                    raise ValueError(f"label {label} is claimed by both '{seen[label]}' and '{name}'")
                seen[label] = name
        return value

    @model_validator(mode="after")
    def _one_label_source(self) -> SegmentationGeometry:
        if (self.regions is None) == (self.label_preset is None):
            raise FieldProblem("regions", self.regions,
                               "give exactly one of 'regions' (name: [label values]) or 'label_preset' "
                               f"(one of {', '.join(LABEL_PRESETS)})")
        return self

    def label_map(self) -> dict[str, list[int]]:
        """Region name -> label values (explicit or from the preset)."""
        return dict(self.regions) if self.regions is not None else dict(LABEL_PRESETS[self.label_preset])

    def host_names(self) -> list[str]:
        """Host-tissue region names (probability-map classes, or the single host region)."""
        return list(self.tissue_maps) if self.tissue_maps else [self.host_region]

    def region_names(self) -> list[str]:
        """Region names in tag order: labelled regions, then host tissue."""
        return list(self.label_map()) + self.host_names()


class SyntheticTumour(StrictModel):
    """A synthetic spherical tumour placed at a world coordinate (mm, RAS as in the atlas)."""

    centre: tuple[float, float, float]
    radius: Length
    necrotic_radius: LengthOrZero = 0.0
    edema_radius: LengthOrZero = 0.0

    @model_validator(mode="after")
    def _radii(self) -> SyntheticTumour:
        if self.necrotic_radius >= self.radius:
            raise FieldProblem("necrotic_radius", f"{self.necrotic_radius:g} mm", "must be smaller than radius")
        if self.edema_radius and self.edema_radius <= self.radius:
            raise FieldProblem("edema_radius", f"{self.edema_radius:g} mm",
                               "must be larger than radius (or 0 for no edema)")
        return self


class AtlasGeometry(StrictModel):
    """Real MNI152 (2009) brain anatomy shipped with nilearn, plus a synthetic tumour.

    Regions: ``necrotic`` (if any), ``tumour``, ``edema`` (if any), ``grey``, ``white``.
    """

    kind: Literal["mni152"]
    tumour: SyntheticTumour
    resolution: Literal[1, 2] = 2

    def region_names(self) -> list[str]:
        """Region names in tag order."""
        names = ["necrotic"] if self.tumour.necrotic_radius > 0 else []
        names.append("tumour")
        names += ["edema"] if self.tumour.edema_radius > 0 else []
        return names + ["grey", "white"]


Geometry = Annotated[SphereGeometry | SegmentationGeometry | AtlasGeometry, Field(discriminator="kind")]


# ------------------------------------------------------------------------------------------- mesh
class MeshOptions(StrictModel):
    """Meshing parameters (gmsh). Sizes are target tetrahedron edge lengths.

    ``size_rim`` (default ``size_tumour``) holds within ``rim_band`` on both sides of the tumour boundary,
    where the interstitial pressure drops in a layer of width 1/sqrt(Lp S/V / K) (a fraction of a mm),
    then sizes grade linearly to ``size_far`` over ``grading_distance``.
    """

    size_tumour: Length = 1.5
    size_far: Length = 6.0
    size_rim: Length | None = None
    rim_band: LengthOrZero = 0.0
    grading_distance: Length = 15.0
    margin: Length = 15.0
    min_component: Quantity("mm^3", example="20 mm^3", nonnegative=True) = 20.0
    smoothing_iterations: Annotated[int, Field(ge=0, le=200)] = 20
    optimize: bool = True

    @model_validator(mode="after")
    def _sizes(self) -> MeshOptions:
        if self.size_tumour > self.size_far:
            raise FieldProblem("size_tumour", f"{self.size_tumour:g} mm",
                               f"must not exceed size_far ({self.size_far:g} mm)")
        return self


# ---------------------------------------------------------------------------------------- regions
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
    """A tissue region: its kind (which selects literature defaults) and parameter overrides."""

    kind: Literal["tumour", "necrotic", "edema", "normal"]
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
        fluid = data.get("fluid") or {}
        if isinstance(fluid, dict):
            merged = dict(FLUID_DEFAULTS[data["kind"]])
            merged.update(fluid)
            data = dict(data, fluid=merged)
        for key, defaults in (("drug", DRUG_REGION_SCALES), ("growth", GROWTH_DEFAULTS),
                              ("mechanics", MECHANICS_DEFAULTS),
                              ("oxygen", OXYGEN_REGION_DEFAULTS)):
            given = data.get(key) or {}
            if isinstance(given, dict):
                data = dict(data, **{key: {**defaults[data["kind"]], **given}})
        return data

    @property
    def is_tumour(self) -> bool:
        """Whether the region is part of the tumour (viable or necrotic)."""
        return self.kind in TUMOUR_KINDS


# ---------------------------------------------------------------------------------------- physics
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
    """Drug transport in tissue for every drug of the treatment (needs a treatment and a time section)."""

    enabled: bool = True
    degree: Annotated[int, Field(ge=1, le=2)] = 1
    supg: Literal["auto", "on", "off"] = "auto"


class DrugEffectSpec(StrictModel):
    """Emax (Hill) kill of the sensitive clone by one drug's interstitial concentration."""

    max_kill_rate: Quantity("1/s", example="0.3 1/day", positive=True)
    ec50: Quantity("mg/mm^3", example="1 mg/L", positive=True)
    hill: Annotated[float, Field(gt=0, le=10)] = 1.0


class GrowthPhysics(StrictModel):
    """Tumour growth: two clones (sensitive, resistant) and necrosis by reaction-diffusion.

    Regions give the invasion diffusivity, a proliferation scale and the initial densities
    (``regions.<name>.growth``); ``drug_effect`` gives each drug's kill of the sensitive clone. Every
    ``remodel_every`` (null: never) the tissue follows the tumour: cells of non-tumour regions take the
    fluid, drug and oxygen parameters of ``tumour_region`` (default: the first region of kind tumour) in
    proportion to their tumour cell density (tumour vasculature and perfusion follow the tumour).
    """

    enabled: bool = True
    step: Duration = 86400.0
    proliferation_rate: Rate = to_internal(PROLIFERATION_RATE, "1/s")
    resistant_proliferation_rate: Rate | None = None
    mutation_fraction: Annotated[float, Field(ge=0, le=0.1)] = 1e-4
    initial_resistant_fraction: Fraction = 0.01
    necrosis_rate: Rate = to_internal(NECROSIS_RATE, "1/s")
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
        from oncotwin.pk.drugs import UnknownDrugError, lookup

        out = {}
        for name, effect in value.items():
            try:
                out[lookup(name).name] = effect
            except UnknownDrugError as exc:
                raise ValueError(str(exc)) from None
        return out

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
    update_every: Duration | None = None


class OxygenBC(StrictModel):
    """Fixed oxygen partial pressure on a tagged boundary (elsewhere: no flux)."""

    boundary: str
    po2: Pressure


class OxygenPhysics(StrictModel):
    """Quasi-steady oxygen: diffusion, vascular supply and Michaelis-Menten consumption."""

    enabled: bool = True
    tumour_consumption: Quantity("mmHg/s", example="15 mmHg/s", nonnegative=True) = TUMOUR_CONSUMPTION_DEFAULT
    hypoxic_threshold: Pressure = HYPOXIC_THRESHOLD
    necrotic_threshold: Pressure = NECROTIC_THRESHOLD
    boundary_conditions: list[OxygenBC] = []


class Physics(StrictModel):
    """Which physics are on, with their options."""

    fluid: FluidPhysics = FluidPhysics(enabled=False)
    drug: DrugPhysics = DrugPhysics(enabled=False)
    oxygen: OxygenPhysics = OxygenPhysics(enabled=False)
    growth: GrowthPhysics = GrowthPhysics(enabled=False)
    mechanics: MechanicsPhysics = MechanicsPhysics(enabled=False)


class TimeOptions(StrictModel):
    """Time stepping of the transient physics.

    Steps restart at ``min_step`` after every dose event (start and end of each infusion or bolus)
    and double up to ``max_step``; outputs are written every ``output_every`` and at the end.
    """

    end: Duration
    max_step: Duration = 6 * 3600.0
    min_step: Duration = 300.0
    output_every: Duration = 86400.0

    @model_validator(mode="after")
    def _steps(self) -> TimeOptions:
        if self.min_step > self.max_step:
            raise FieldProblem("min_step", f"{self.min_step:g} s", f"must not exceed max_step ({self.max_step:g} s)")
        if self.max_step > self.end:
            raise FieldProblem("max_step", f"{self.max_step:g} s", f"must not exceed end ({self.end:g} s)")
        return self


# ----------------------------------------------------------------------------------------- solver
PetscValue = str | int | float | bool


class Output(StrictModel):
    """What a run writes besides metrics and the manifest."""

    fields: bool = True
    figures: bool = True


# ------------------------------------------------------------------------------------------- case
class Case(StrictModel):
    """One patient case."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    description: str = ""
    geometry: Geometry
    mesh: MeshOptions = MeshOptions()
    regions: dict[str, Region]
    physics: Physics = Physics()
    time: TimeOptions | None = None
    treatment: Treatment = Treatment()
    solver: dict[Literal["fluid", "drug", "oxygen", "growth", "mechanics"], dict[str, PetscValue]] = {}
    output: Output = Output()
    calibration: Calibration | None = None

    @model_validator(mode="after")
    def _calibration_applies(self) -> Case:
        for name in (self.calibration.parameters if self.calibration else {}):
            problem = PARAMETERS[name].requires(self)
            if problem:
                raise FieldProblem(f"calibration.parameters.{name}", name, f"{PARAMETERS[name].description}: "
                                   f"{problem}")
        return self

    @model_validator(mode="after")
    def _regions_match_geometry(self) -> Case:
        expected = self.geometry.region_names()
        missing = [n for n in expected if n not in self.regions]
        extra = [n for n in self.regions if n not in expected]
        if missing or extra:
            if missing:
                raise FieldProblem("regions", sorted(self.regions),
                                   f"region {missing[0]!r} of the geometry has no entry; the geometry's regions "
                                   f"are {expected}")
            raise FieldProblem(f"regions.{extra[0]}", extra[0],
                               f"not a region of this geometry; its regions are {expected}")
        if not any(r.is_tumour for r in self.regions.values()):
            raise FieldProblem("regions", sorted(self.regions),
                               "at least one region must be of kind 'tumour' or 'necrotic'")
        return self

    @model_validator(mode="after")
    def _boundaries_known(self) -> Case:
        known = self.boundary_names()
        for i, bc in enumerate(self.physics.fluid.boundary_conditions):
            if bc.boundary not in known:
                raise FieldProblem(f"physics.fluid.boundary_conditions.{i}.boundary", bc.boundary,
                                   f"not a boundary of this geometry; allowed: {', '.join(known)}")
        return self

    @model_validator(mode="after")
    def _transient_inputs(self) -> Case:
        if self.physics.drug.enabled:
            if self.time is None:
                raise FieldProblem("physics.drug.enabled", True, "drug transport needs a 'time' section "
                                   "(end, max_step, min_step, output_every)")
            if not self.treatment.drugs:
                raise FieldProblem("physics.drug.enabled", True, "drug transport needs treatment.drugs")
        return self

    @model_validator(mode="after")
    def _tumour_physics(self) -> Case:
        phys, treatment = self.physics, self.treatment
        known = self.boundary_names()
        for i, bc in enumerate(phys.oxygen.boundary_conditions):
            if bc.boundary not in known:
                raise FieldProblem(f"physics.oxygen.boundary_conditions.{i}.boundary", bc.boundary,
                                   f"not a boundary of this geometry; allowed: {', '.join(known)}")
        if phys.mechanics.enabled:
            if not phys.growth.enabled:
                raise FieldProblem("physics.mechanics.enabled", True, "mass effect needs physics.growth "
                                   "(the growth eigenstrain follows the tumour density)")
            if not phys.mechanics.fixed_boundaries:
                raise FieldProblem("physics.mechanics.fixed_boundaries", [], "at least one fixed boundary is "
                                   f"needed to rule out rigid motions; boundaries: {', '.join(known)}")
            for i, name in enumerate(phys.mechanics.fixed_boundaries):
                if name not in known:
                    raise FieldProblem(f"physics.mechanics.fixed_boundaries.{i}", name,
                                       f"not a boundary of this geometry; allowed: {', '.join(known)}")
        if phys.growth.enabled and self.time is None:
            raise FieldProblem("physics.growth.enabled", True, "growth needs a 'time' section (end, ...)")
        if phys.growth.enabled and phys.growth.step > (self.time.end if self.time else phys.growth.step):
            raise FieldProblem("physics.growth.step", f"{phys.growth.step / 86400:g} day",
                               f"must not exceed time.end ({self.time.end / 86400:g} day)")
        region = phys.growth.tumour_region
        if region is not None and (region not in self.regions or self.regions[region].kind != "tumour"):
            kinds = [n for n, r in self.regions.items() if r.kind == "tumour"]
            raise FieldProblem("physics.growth.tumour_region", region,
                               f"must be a region of kind tumour: {', '.join(kinds) or 'none'}")
        drugs = treatment.drug_names()
        if phys.growth.enabled and phys.drug.enabled:
            missing = [d for d in drugs if d not in phys.growth.drug_effect]
            if missing:
                raise FieldProblem("physics.growth.drug_effect", sorted(phys.growth.drug_effect),
                                   f"no effect given for {', '.join(missing)}: add e.g. "
                                   f"'{missing[0]}: {{max_kill_rate: \"0.3 1/day\", ec50: \"1 mg/L\"}}'")
        rt = treatment.radiotherapy
        if rt is not None:
            if not phys.growth.enabled:
                raise FieldProblem("treatment.radiotherapy", "radiotherapy",
                                   "radiotherapy acts on tumour cells: enable physics.growth")
            for i, name in enumerate(rt.target_regions or []):
                if name not in self.regions:
                    raise FieldProblem(f"treatment.radiotherapy.target_regions.{i}", name,
                                       f"not a region; regions: {', '.join(self.regions)}")
        if treatment.antiangiogenic is not None and not (phys.fluid.enabled or phys.drug.enabled
                                                         or phys.oxygen.enabled):
            raise FieldProblem("treatment.antiangiogenic", "antiangiogenic", "vascular normalisation acts "
                               "through fluid, drug or oxygen transport: enable at least one of them")
        return self

    def region_tags(self) -> dict[str, int]:
        """Cell tag of every region (1-based, geometry order)."""
        return {name: i + 1 for i, name in enumerate(self.geometry.region_names())}

    def viable_tumour_region(self) -> str | None:
        """The region whose parameters invaded tissue takes (growth.tumour_region or the first tumour)."""
        if self.physics.growth.tumour_region is not None:
            return self.physics.growth.tumour_region
        return next((n for n in self.geometry.region_names() if self.regions[n].kind == "tumour"), None)

    def tumour_regions(self) -> list[str]:
        """Names of the regions that make up the tumour."""
        return [n for n in self.geometry.region_names() if self.regions[n].is_tumour]

    def boundary_names(self) -> list[str]:
        """Names of the tagged boundaries (facet tags) this geometry produces."""
        names = ["outer", "tumour_boundary"]
        if isinstance(self.geometry, SphereGeometry):
            if self.geometry.host_radius is None:
                names = ["tumour_boundary"]
            if self.geometry.necrotic_radius > 0:
                names.append("necrotic_boundary")
        return names
