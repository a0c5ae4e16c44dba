"""The case as problem inputs: region tissues, fluid boundary conditions and treatment effects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from oncotwin.case import read_case
from oncotwin.case.schema import Case
from oncotwin.kinetics.response import lq_survival, oxygen_modification
from oncotwin.model.effects import drug_effects, fraction_survival
from oncotwin.model.fluid import fluid_boundaries
from oncotwin.model.tissues import (
    drug_tissues,
    fluid_tissues,
    growth_tissues,
    host_regions,
    mechanics_tissues,
    oxygen_tissues,
)
from oncotwin.pk.drugs import get_drug
from oncotwin.problems.fluid import PressureBoundary, RobinBoundary
from tests.model.test_tumour import COUPLED

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def coupled() -> Case:
    return Case.model_validate(yaml.safe_load(COUPLED.replace("NAME", "coupled")))


def test_fluid_tissues_carry_every_region_value():
    case, _ = read_case(REPO / "cases" / "sphere_baxter_jain.yaml")
    tissues = fluid_tissues(case)
    assert list(tissues) == list(case.regions)
    for name, tissue in tissues.items():
        for field in dataclasses.fields(tissue):
            assert getattr(tissue, field.name) == getattr(case.regions[name].fluid, field.name), (name, field)


def test_fluid_boundaries_drop_no_flux_and_keep_order():
    case, _ = read_case(REPO / "cases" / "sphere_baxter_jain.yaml")
    assert fluid_boundaries(case) == [PressureBoundary("outer", 0.9349315)]
    data = yaml.safe_load((REPO / "cases" / "sphere_baxter_jain.yaml").read_text())
    data["physics"]["fluid"]["boundary_conditions"] = [
        {"boundary": "tumour_boundary", "type": "no_flux"},
        {"boundary": "outer", "type": "robin", "conductance": "2e-6 mm/(mmHg*s)", "far_pressure": "3 mmHg"}]
    converted = fluid_boundaries(Case.model_validate(data))
    assert converted == [RobinBoundary("outer", 2e-6, 3.0)]


def test_region_tissues_of_a_coupled_case(coupled):
    regions = coupled.regions
    growth, oxygen, mechanics = growth_tissues(coupled), oxygen_tissues(coupled), mechanics_tissues(coupled)
    assert list(growth) == list(oxygen) == list(mechanics) == list(regions)
    host = regions["host"]
    assert growth["host"].diffusivity == host.growth.diffusivity
    assert growth["tumour"].initial_density == regions["tumour"].growth.initial_density
    assert oxygen["host"].supply_rate == host.oxygen.supply_rate
    assert mechanics["host"].poisson_ratio == 0.49
    assert mechanics["host"].growth_strain_coefficient == coupled.physics.mechanics.growth_strain
    assert host_regions(coupled) == ["host"]
    drug = get_drug("temozolomide")
    tissues = drug_tissues(coupled, drug)
    assert tissues["host"].permeability == drug.permeability * host.drug.permeability_scale
    assert tissues["host"].diffusivity == drug.diffusivity * host.drug.diffusivity_scale
    assert tissues["tumour"].decay == drug.tissue_decay_rate


def test_treatment_effects(coupled):
    effects = drug_effects(coupled, {"temozolomide": None})
    spec = coupled.physics.growth.drug_effect["temozolomide"]
    assert effects["temozolomide"].max_kill_rate == spec.max_kill_rate and effects["temozolomide"].ec50 == spec.ec50
    assert drug_effects(coupled, {}) == {}  # effects of drugs that are not delivered are dropped
    rt = coupled.treatment.radiotherapy
    po2 = np.array([0.0, 5.0, 40.0])
    dose = rt.dose_per_fraction * np.array([1.0, 1.0, 0.0])  # the nodal dose of a uniform plan on a target
    expected = lq_survival(dose, rt.alpha, rt.beta, oxygen_modification(po2, rt.oer_max, rt.oer_k))
    assert np.array_equal(fraction_survival(rt, dose, po2), expected)
    assert fraction_survival(rt, rt.dose_per_fraction, None) == lq_survival(rt.dose_per_fraction, rt.alpha, rt.beta)
