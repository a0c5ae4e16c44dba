"""Region parameters of a validated case as the plain tissue dataclasses of the problems.

The case's regions hold pydantic models (with units already converted to internal ones); the problems
take one small frozen dataclass per region and know nothing of the case.
"""

from __future__ import annotations

from oncotwin.case.schema import Case
from oncotwin.pk.drugs import DrugParameters, barrier_kpuu
from oncotwin.problems.drug import DrugTissue
from oncotwin.problems.fluid import FluidTissue
from oncotwin.problems.growth import GrowthTissue
from oncotwin.problems.mechanics import MechanicsTissue
from oncotwin.problems.oxygen import OxygenTissue


def fluid_tissues(case: Case) -> dict[str, FluidTissue]:
    """Starling/Darcy parameters per region."""
    tissues = {}
    for name, region in case.regions.items():
        f = region.fluid
        tissues[name] = FluidTissue(
            hydraulic_conductivity=f.hydraulic_conductivity, vascular_permeability=f.vascular_permeability,
            vessel_surface_density=f.vessel_surface_density, vascular_pressure=f.vascular_pressure,
            plasma_oncotic_pressure=f.plasma_oncotic_pressure,
            interstitial_oncotic_pressure=f.interstitial_oncotic_pressure,
            reflection_coefficient=f.reflection_coefficient, lymphatic_filtration=f.lymphatic_filtration,
            lymphatic_pressure=f.lymphatic_pressure)
    return tissues


def drug_tissues(case: Case, drug: DrugParameters) -> dict[str, DrugTissue]:
    """Transport parameters of one drug per region: the drug's values times the region's scales, and the
    barrier of the region's organ (Kp,uu, 1 without one)."""
    return {name: DrugTissue(diffusivity=drug.diffusivity * region.drug.diffusivity_scale,
                             permeability=drug.permeability * region.drug.permeability_scale,
                             reflection=drug.reflection_coefficient, decay=drug.tissue_decay_rate,
                             penetration=barrier_kpuu(drug, region.organ))
            for name, region in case.regions.items()}


def growth_tissues(case: Case) -> dict[str, GrowthTissue]:
    """Invasion, proliferation and initial cell densities per region."""
    return {name: GrowthTissue(r.growth.diffusivity, r.growth.proliferation_scale, r.growth.initial_density,
                               r.growth.initial_necrotic, r.growth.initial_density_depth, host=r.kind == "normal")
            for name, r in case.regions.items()}


def oxygen_tissues(case: Case) -> dict[str, OxygenTissue]:
    """Oxygen transport and consumption per region."""
    return {name: OxygenTissue(r.oxygen.diffusivity, r.oxygen.supply_rate, r.oxygen.vascular_po2,
                               r.oxygen.tissue_consumption, r.oxygen.half_saturation)
            for name, r in case.regions.items()}


def mechanics_tissues(case: Case) -> dict[str, MechanicsTissue]:
    """Elastic moduli per region with the case's growth strain coefficient."""
    beta = case.physics.mechanics.growth_strain
    return {name: MechanicsTissue(region.mechanics.young_modulus, region.mechanics.poisson_ratio, beta)
            for name, region in case.regions.items()}


def host_regions(case: Case) -> list[str]:
    """Names of the regions that are not tumour."""
    return [name for name, region in case.regions.items() if not region.is_tumour]
