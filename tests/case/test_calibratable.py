"""The registry of calibratable parameters (case layer) and writing values into a case (calibration layer)."""

from __future__ import annotations

import textwrap

import pytest

from oncotwin.calibration.parameters import case_fragment, replace, set_parameter
from oncotwin.case import read_case
from oncotwin.case.calibratable import PARAMETERS, value_at
from oncotwin.core.errors import CaseError

DAY = 86400.0
CASE = textwrap.dedent("""\
    name: fit
    geometry: {kind: sphere, tumour_radius: "3 mm", host_radius: "9 mm"}
    regions:
      tumour: {kind: tumour, growth: {diffusivity: "0.2 mm^2/day"}}
      host: {kind: normal, growth: {diffusivity: "0.1 mm^2/day"}}
    physics:
      growth: {proliferation_rate: "0.05 1/day"}
    time: {end: "10 day", max_step: "1 day", min_step: "1 day"}
    calibration:
      parameters:
        invasion_diffusivity: {prior: "0.2 mm^2/day"}
    """)


@pytest.fixture
def case(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(CASE)
    return read_case(path)[0]


def test_registry_reads_values_and_units(case):
    kind = PARAMETERS["invasion_diffusivity"]
    assert kind.get(case) == pytest.approx(0.2 / DAY)
    assert kind.text(0.2 / DAY) == "0.2 mm^2/day"
    assert PARAMETERS["growth_strain"].text(0.1) == "0.1"
    assert PARAMETERS["proliferation_rate"].user_value(0.05 / DAY) == pytest.approx(0.05)
    assert value_at(case, ("regions", "host", "growth", "diffusivity")) == pytest.approx(0.1 / DAY)
    assert PARAMETERS["radiosensitivity"].requires(case) == "needs treatment.radiotherapy"
    assert PARAMETERS["proliferation_rate"].requires(case) is None


def test_set_parameter_keeps_ratios_of_further_paths(case):
    changed = set_parameter(case, "invasion_diffusivity", 0.6 / DAY)
    assert changed.regions["tumour"].growth.diffusivity == pytest.approx(0.6 / DAY)
    assert changed.regions["host"].growth.diffusivity == pytest.approx(0.3 / DAY)
    assert case.regions["tumour"].growth.diffusivity == pytest.approx(0.2 / DAY)  # cases are immutable
    assert set_parameter(case, "proliferation_rate", 0.1 / DAY).physics.growth.proliferation_rate == \
        pytest.approx(0.1 / DAY)


def test_case_fragment_writes_every_path_with_units(case):
    fragment = case_fragment(set_parameter(case, "invasion_diffusivity", 0.6 / DAY), "invasion_diffusivity")
    assert fragment == {"regions": {"tumour": {"growth": {"diffusivity": "0.6 mm^2/day"}},
                                    "host": {"growth": {"diffusivity": "0.3 mm^2/day"}}}}


def test_replace_walks_models_and_dicts(case):
    changed = replace(case, ("regions", "host", "kind"), "edema")
    assert changed.regions["host"].kind == "edema" and case.regions["host"].kind == "normal"


def test_unknown_or_inapplicable_parameter_is_a_one_line_case_error(tmp_path):
    for text, key, message in (
            (CASE.replace("invasion_diffusivity: {prior", "half_life: {prior"),
             "calibration.parameters.half_life", "not a calibratable parameter; allowed: proliferation_rate"),
            (CASE.replace("invasion_diffusivity: {prior: \"0.2 mm^2/day\"}", "radiosensitivity: {prior: \"0.03 1/Gy\"}"),
             "calibration.parameters.radiosensitivity", "needs treatment.radiotherapy")):
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(CaseError) as err:
            read_case(path)
        assert f"key '{key}'" in str(err.value) and message in str(err.value) and "\n" not in str(err.value)
