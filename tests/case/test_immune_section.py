"""``physics.immune``: off by default, changes nothing when off, and is required by checkpoint blockade."""

from __future__ import annotations

import math
import textwrap

import pytest

from oncotwin.case.schema import Case
from tests.case.test_profile import _refused

BASE = {"name": "immune", "geometry": {"kind": "sphere", "tumour_radius": "5 mm", "host_radius": "20 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}}}


def test_immune_compartment_is_off_by_default_and_off_changes_nothing():
    plain = Case.model_validate(BASE)
    off = Case.model_validate({**BASE, "physics": {"immune": {"enabled": False}}})
    assert not plain.physics.immune.enabled
    assert plain == off
    assert plain.model_dump()["physics"] == off.model_dump()["physics"]


def test_immune_defaults_are_the_sourced_values():
    immune = Case.model_validate({**BASE, "physics": {"immune": {}, "growth": {}},
                                   "time": {"end": "1 day"}}).physics.immune
    assert immune.enabled
    assert immune.death * 86400 == pytest.approx(0.0412)
    assert immune.diffusivity * 86400 == pytest.approx(0.1)
    assert immune.radiosensitivity == pytest.approx(math.log(10) / 3.40, rel=1e-3)  # Nakamura 1993: D10 3.40 Gy


CASE = textwrap.dedent("""\
    name: blockade
    geometry: {kind: sphere, tumour_radius: "5 mm", host_radius: "20 mm"}
    regions: {tumour: {kind: tumour}, host: {kind: normal}}
    treatment:
      drugs: [{drug: pembrolizumab, dose: "200 mg", duration: "30 min", schedule: "day 1 every 21 days x 4"}]
    """)


@pytest.mark.timeout(60)
def test_blockade_without_an_immune_compartment_is_one_line_error(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(CASE)
    _refused(tmp_path, path, "case.yaml", "treatment.drugs.0.drug", "pembrolizumab", "checkpoint inhibitor",
             "physics.immune")


@pytest.mark.timeout(60)
def test_immune_compartment_without_growth_is_one_line_error(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace("treatment:", "physics: {immune: {enabled: true}}\ntreatment:"))
    _refused(tmp_path, path, "case.yaml", "physics.immune.enabled", "physics.growth")


def test_a_checkpoint_inhibitor_needs_no_direct_drug_effect():
    # its kill is immune mediated (physics.immune), so physics.growth.drug_effect need not name it
    data = {**BASE, "physics": {"immune": {}, "growth": {}, "drug": {"enabled": True}}, "time": {"end": "2 day"},
            "treatment": {"patient": {"weight": "70 kg", "height": "170 cm"},
                          "drugs": [{"drug": "pembrolizumab", "dose": "200 mg", "duration": "30 min",
                                     "schedule": "day 1"}]}}
    assert Case.model_validate(data).physics.growth.drug_effect == {}
