"""Behaviour of the immune model driven by the profile: each test states the reason in its name."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.case.profile import Profile
from oncotwin.case.profile_rules import read_rules, shipped_rules_path
from oncotwin.case.schema import Case
from oncotwin.kinetics.response import DrugEffect
from oncotwin.model.effects import drug_effects
from oncotwin.model.immune import (
    Trajectory,
    checkpoint_response,
    immune_kinetics,
    occupancy_curve,
    response_category,
    temozolomide_effect,
)
from oncotwin.pk.antibodies import ANTIBODIES
from oncotwin.pk.schedule import DAY, expand, parse_schedule

HORIZON = 240 * DAY
TUMOUR0 = 1e8  # cells, below the saddle of the Kuznetsov model


@pytest.fixture(scope="module")
def occupancy():
    events = expand(parse_schedule("day 1 every 21 days x 12"), 200.0, 1800.0, drug="pembrolizumab")
    return occupancy_curve(ANTIBODIES["pembrolizumab"], events)


def _response(profile: dict, occupancy) -> float:
    """ln(tumour without blockade / tumour with pembrolizumab) at the horizon (0: no response)."""
    priors, _ = Profile.model_validate(profile).priors()
    kinetics = immune_kinetics(priors)
    effectors = kinetics.recruitment / kinetics.death  # the tumour-free effector level of this infiltrate
    control = checkpoint_response(kinetics, effectors, TUMOUR0, HORIZON, 0.0, step=10 * DAY)
    treated = checkpoint_response(kinetics, effectors, TUMOUR0, HORIZON, occupancy, step=10 * DAY)
    return float(np.log(control.tumour[-1] / treated.tumour[-1]))


def test_pembrolizumab_occupancy_stays_high_between_doses(occupancy):
    trough = occupancy(21 * DAY - 60.0)
    assert 0.9 < trough < occupancy(DAY) < 1.0
    assert occupancy(0.0) == 0.0


def test_no_infiltrate_gives_no_response_to_blockade(occupancy):
    # an immune desert (CD8 < 100 cells/mm^2): no effector recruitment, no effectors, nothing to unleash,
    # however strong the PD-L1 suppression
    assert _response({"cd8_density": "20 cells/mm^2", "pdl1_tps": "90 %"}, occupancy) == 0.0


def test_no_pdl1_suppression_gives_no_response_to_blockade(occupancy):
    assert _response({"cd8_density": "1500 cells/mm^2", "pdl1_tps": "0 %"}, occupancy) == 0.0


def test_high_infiltrate_with_high_pdl1_responds_best(occupancy):
    grid = {(cd8, tps): _response({"cd8_density": f"{cd8} cells/mm^2", "pdl1_tps": f"{tps} %"}, occupancy)
            for cd8 in (400, 1500) for tps in (5, 80)}
    best = max(grid, key=grid.get)
    assert best == (1500, 80), grid
    assert all(value >= 0 for value in grid.values()), grid
    assert grid[(1500, 80)] > 1.0  # a large response: the tumour is held near the dormant state


def test_changing_mgmt_status_changes_the_temozolomide_effect_by_the_rules_effect_size():
    rule = next(r for r in read_rules(shipped_rules_path()) if r.name == "mgmt_unmethylated_temozolomide")
    base = DrugEffect(max_kill_rate=0.3 / DAY, ec50=1e-9, hill=1.0)
    methylated = temozolomide_effect(base, Profile(mgmt_methylated=True).priors()[0])
    unmethylated = temozolomide_effect(base, Profile(mgmt_methylated=False).priors()[0])
    c = np.array([0.0, 1e-10, 1e-9, 1e-8])
    np.testing.assert_allclose(unmethylated.kill_rate(c), rule.factor * methylated.kill_rate(c), rtol=1e-12)
    # over an exposure the log surviving fraction scales by the same factor (the rule's effect size)
    exposure = 10 * DAY
    log_sf = {name: -float(e.kill_rate(np.array([1e-9]))[0]) * exposure
              for name, e in (("m", methylated), ("u", unmethylated))}
    assert log_sf["u"] / log_sf["m"] == pytest.approx(rule.factor, rel=1e-12)
    assert rule.factor == pytest.approx(np.log(12.7 / 11.8) / np.log(21.7 / 15.3), abs=0.005)


GLIOMA = {"name": "glioma", "geometry": {"kind": "sphere", "tumour_radius": "5 mm", "host_radius": "20 mm"},
          "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
          "physics": {"drug": {"enabled": True}, "growth": {"enabled": True, "drug_effect": {
              "temozolomide": {"max_kill_rate": "0.1 1/day", "ec50": "1 mg/L"}}}},
          "time": {"end": "14 day"},
          "treatment": {"patient": {"height": "175 cm", "weight": "78 kg"},
                        "drugs": [{"drug": "temozolomide", "dose": "75 mg/m^2", "route": "oral",
                                   "schedule": "daily x 14"}]}}


def test_mgmt_status_of_the_case_scales_the_temozolomide_kill_of_the_run():
    def kill(profile):
        data = {**GLIOMA, "treatment": {**GLIOMA["treatment"], "patient": {**GLIOMA["treatment"]["patient"],
                                                                          **profile}}}
        return drug_effects(Case.model_validate(data), ["temozolomide"])["temozolomide"].max_kill_rate

    rule = next(r for r in read_rules(shipped_rules_path()) if r.name == "mgmt_unmethylated_temozolomide")
    assert kill({}) == pytest.approx(0.1 / DAY)
    assert kill({"profile": {"mgmt_methylated": True}}) == pytest.approx(0.1 / DAY)
    assert kill({"profile": {"mgmt_methylated": False}}) == pytest.approx(rule.factor * 0.1 / DAY)


def _course(values):
    return Trajectory(np.arange(len(values), dtype=float), np.zeros(len(values)), np.asarray(values, float))


@pytest.mark.parametrize("values, category", [
    ([1.0, 1.5, 2.0, 0.9, 0.5], "pseudo-progression"),
    ([1.0, 1.5, 2.0, 2.5], "progression"),
    ([1.0, 0.9, 0.6], "response"),
    ([1.0, 1.1, 0.9], "stable"),
])
def test_response_categories_name_pseudo_progression(values, category):
    assert response_category(_course(values)) == category


def test_blockade_of_the_lung_profile_is_named_pseudo_progression(occupancy):
    # the tumour first grows past +20 % while the unleashed effectors expand, then shrinks below baseline
    priors, _ = Profile.model_validate({"pdl1_tps": "60 %", "tmb": "12 mut/Mb", "cd8_density": "800 cells/mm^2"}
                                       ).priors()
    kinetics = immune_kinetics(priors)
    treated = checkpoint_response(kinetics, kinetics.recruitment / kinetics.death, TUMOUR0, 120 * DAY, occupancy,
                                  step=2 * DAY)
    control = checkpoint_response(kinetics, kinetics.recruitment / kinetics.death, TUMOUR0, 120 * DAY, 0.0,
                                  step=2 * DAY)
    assert response_category(treated) == "pseudo-progression"
    assert response_category(control) == "progression"
