"""Case-file schema: the only place where user input is interpreted.

Every model forbids unknown keys; every dimensional value is a quantity with units converted to the
internal units of :mod:`oncotwin.core.units`; file paths are resolved relative to the case file and must exist.
Cross-field checks (regions that match the geometry, radii in order, ...) live here too, so everything
downstream can trust a :class:`Case`. Each section has its own module (:mod:`oncotwin.case.geometry`,
:mod:`~oncotwin.case.mesh_options`, :mod:`~oncotwin.case.regions`, :mod:`~oncotwin.case.physics`,
:mod:`~oncotwin.case.run_options`, :mod:`~oncotwin.case.treatment`, :mod:`~oncotwin.case.calibration`);
:class:`Case` composes them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import Calibration
from oncotwin.case.dose_coverage import check_dose_covers
from oncotwin.case.geometry import Geometry, SphereGeometry
from oncotwin.case.immune import check_blockade_has_immune_compartment
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.case.physics import Physics
from oncotwin.case.regions import Region
from oncotwin.case.run_options import Output, PetscValue, TimeOptions
from oncotwin.case.treatment import Treatment
from oncotwin.pk.antibodies import antibody


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
    solver: dict[Literal["fluid", "drug", "oxygen", "growth", "motion", "mechanics", "immune"],
                 dict[str, PetscValue]] = {}
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
    def _cellularity_regions(self) -> Case:
        cellularity = self.physics.growth.cellularity
        for i, name in enumerate(cellularity.regions or [] if cellularity else []):
            if name not in self.regions or not self.regions[name].is_tumour:
                tumour = ", ".join(self.tumour_regions())
                raise FieldProblem(f"physics.growth.cellularity.regions.{i}", name,
                                   f"not a tumour region of this case; allowed: {tumour}")
        return self

    @model_validator(mode="after")
    def _profile_regions(self) -> Case:
        profile = self.physics.growth.initial_profile
        if profile.kind != "travelling_wave":
            return self
        if getattr(self.geometry, "labels", None) is None:
            raise FieldProblem("physics.growth.initial_profile.kind", profile.kind,
                               "needs a segmentation geometry (the distances are computed on its label grid)")
        if self.physics.growth.cellularity is not None:
            raise FieldProblem("physics.growth.initial_profile.kind", profile.kind,
                               "give either an ADC cellularity map or the travelling-wave profile, not both")
        for i, name in enumerate(profile.enhancing_regions or []):
            if name not in self.regions or self.regions[name].kind != "tumour":
                tumour = ", ".join(n for n in self.tumour_regions() if self.regions[n].kind == "tumour")
                raise FieldProblem(f"physics.growth.initial_profile.enhancing_regions.{i}", name,
                                   f"not a region of kind tumour of this case; allowed: {tumour}")
        return self

    def enhancing_regions(self) -> list[str]:
        """Regions seen on T1c at baseline for the travelling-wave profile."""
        profile = self.physics.growth.initial_profile
        if profile.enhancing_regions is not None:
            return list(profile.enhancing_regions)
        return [n for n in self.geometry.region_names() if self.regions[n].kind == "tumour"]

    def cellularity_regions(self) -> list[str]:
        """Regions whose baseline density comes from the ADC map (none without one)."""
        cellularity = self.physics.growth.cellularity
        if cellularity is None:
            return []
        if cellularity.regions is not None:
            return list(cellularity.regions)
        return [n for n in self.geometry.region_names() if self.regions[n].kind == "tumour"]

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
            # a checkpoint inhibitor kills through the immune compartment, not by a direct Emax effect
            missing = [d for d in drugs if d not in phys.growth.drug_effect and antibody(d) is None]
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

    @model_validator(mode="after")
    def _blockade_needs_immune(self) -> Case:
        check_blockade_has_immune_compartment(self)
        return self

    @model_validator(mode="after")
    def _dose_covers_tumour(self) -> Case:
        check_dose_covers(self)
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
