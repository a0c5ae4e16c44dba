"""Typed drug-library overrides (``treatment.drugs[].parameters``): units checked at load, unknown keys rejected."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from oncotwin.case import read_case
from oncotwin.case.drug_overrides import DrugOverrides
from oncotwin.case.treatment import Treatment
from oncotwin.core.errors import CaseError
from oncotwin.core.units import to_internal
from oncotwin.pk.drugs import PARAMETER_UNITS, get_drug

CASE = textwrap.dedent("""\
    name: overrides
    geometry: {kind: sphere, tumour_radius: "3 mm", host_radius: "9 mm"}
    regions: {tumour: {kind: tumour}, host: {kind: normal}}
    treatment:
      patient: {height: "170 cm", weight: "70 kg"}
      drugs:
        - drug: doxorubicin
          dose: "60 mg/m^2"
          duration: "30 min"
          parameters:
            clearance: "50 L/h"
    """)


def read(tmp_path, text):
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return path, read_case(path)[0]


def test_fields_are_exactly_the_library_parameters():
    assert list(DrugOverrides.model_fields) == list(PARAMETER_UNITS)


def test_overrides_are_internal_units_and_match_the_library_reading(tmp_path):
    _, case = read(tmp_path, CASE.replace('clearance: "50 L/h"',
                                          'clearance: "50 L/h"\n        ic50: "0.2 umol/L"\n'
                                          '        unbound_fraction: 0.3'))
    adm = case.treatment.drugs[0]
    assert adm.parameters.clearance == pytest.approx(50e6 / 3600)
    assert adm.parameters.given() == {"clearance": adm.parameters.clearance, "ic50": adm.parameters.ic50,
                                      "unbound_fraction": 0.3}
    expected = get_drug("doxorubicin", {"clearance": "50 L/h", "ic50": "0.2 umol/L", "unbound_fraction": 0.3})
    assert adm.drug_parameters() == expected  # bit for bit the library's own reading of the strings
    dumped = json.loads(case.model_dump_json())["treatment"]["drugs"][0]["parameters"]
    assert dumped == {"clearance": adm.parameters.clearance, "ic50": expected.ic50, "unbound_fraction": 0.3}


def test_no_overrides_dump_as_an_empty_mapping(tmp_path):
    _, case = read(tmp_path, CASE.replace('\n      parameters:\n        clearance: "50 L/h"', ""))
    assert json.loads(case.model_dump_json())["treatment"]["drugs"][0]["parameters"] == {}
    assert case.treatment.drugs[0].drug_parameters() == get_drug("doxorubicin")


def test_null_removes_a_peripheral_compartment():
    t = Treatment.model_validate({"drugs": [{"drug": "cisplatin", "dose": "100 mg", "duration": "1 h",
                                             "parameters": {"q2": None, "v2": None}}],
                                  "patient": {"creatinine_clearance": "90 mL/min"}})
    assert t.drugs[0].drug_parameters().n_compartments == 1


def test_molar_to_mass_text_is_exact():
    for x in np.random.default_rng(1).lognormal(-18.0, 3.0, 200):
        assert to_internal(f"{float(x)!r} mg/mm^3", "mg/mm^3") == float(x)


@pytest.mark.parametrize(("written", "line", "key", "message"), [
    ('half_life: "1 h"', 11, "treatment.drugs.0.parameters.half_life",
     "got '1 h'; unknown drug parameter 'half_life'; allowed: clearance, central_volume, q2"),
    ('clearance: "50 L"', 11, "treatment.drugs.0.parameters.clearance",
     "got '50 L'; drug parameter 'clearance' has dimension [length] ** 3"),
    ('ic50: "2 mg"', 11, "treatment.drugs.0.parameters.ic50", "got '2 mg'; drug parameter 'ic50' has dimension"),
    ("unbound_fraction: 2", 11, "treatment.drugs.0.parameters.unbound_fraction", "must be between 0 and 1"),
    ("q3: null", 10, "treatment.drugs.0.parameters", "q3 and v3 must be given together"),
])
def test_bad_override_is_a_one_line_error_with_file_line_and_key(tmp_path, written, line, key, message):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace('clearance: "50 L/h"', written))
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert text.startswith(f"{path}:{line}: key '{key}': ") and "\n" not in text
    assert message in text
