"""Patient covariates from a FHIR R4 Bundle: the same covariates and PK as the equivalent case entries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from oncotwin.pk.plasma import plasma_curves

DRUGS = """
  drugs:
    - {drug: cisplatin, dose: "75 mg/m^2", route: infusion, duration: "1 h", schedule: "day 1 every 21 days x 2"}
    - {drug: paclitaxel, dose: "175 mg/m^2", route: infusion, duration: "3 h"}
"""
CASE = """
name: fhir_case
geometry: {kind: sphere, tumour_radius: "5 mm", host_radius: "20 mm"}
regions: {tumour: {kind: tumour}, host: {kind: normal}}
treatment:
  patient: PATIENT
""" + DRUGS


def observation(code: str, value: float, unit: str, when: str, status: str = "final") -> dict:
    return {"resource": {"resourceType": "Observation", "status": status,
                         "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                         "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                                           "code": unit},
                         "effectiveDateTime": when}}


def bundle(tmp_path: Path, *entries: dict, patient: dict | None = None) -> Path:
    patient = patient or {"resourceType": "Patient", "gender": "male", "birthDate": "1956-03-02",
                          "name": [{"family": "Doe", "given": ["John"]}], "identifier": [{"value": "MRN-99"}]}
    data = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, *entries]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data))
    return path


def full_bundle(tmp_path: Path) -> Path:
    return bundle(tmp_path,
                  observation("8302-2", 70.0, "[in_i]", "2024-02-20"),          # 177.8 cm in inches (UCUM)
                  observation("29463-7", 80.0, "kg", "2023-11-01"),             # an older weight ...
                  observation("29463-7", 72.0, "kg", "2024-02-27"),             # ... the latest before the date
                  observation("29463-7", 60.0, "kg", "2024-06-01"),             # after the reference date
                  observation("29463-7", 10.0, "kg", "2024-02-28", status="entered-in-error"),
                  observation("2160-0", 97.24, "umol/L", "2024-02-27"),
                  observation("1975-2", 0.8, "mg/dL", "2024-02-27"))


def case_file(tmp_path: Path, patient: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace("PATIENT", patient))
    return path


def test_bundle_gives_the_covariates_and_pk_of_the_case_entries(tmp_path):
    full_bundle(tmp_path)
    from_fhir, _ = read_case(case_file(tmp_path, "{fhir: bundle.json, reference_date: 2024-03-01}"))
    written, _ = read_case(case_file(tmp_path, '{height: "70 inch", weight: "72 kg", age: 67, sex: male, '
                                               'serum_creatinine: "97.24 umol/L", bilirubin: "0.8 mg/dL"}'))
    a, b = from_fhir.treatment.patient, written.treatment.patient
    assert a.age == 67  # completed years on 2024-03-01 (born 1956-03-02)
    assert a.sex == b.sex == "male"
    for key in ("height", "weight", "age", "serum_creatinine", "bilirubin", "bsa_m2", "crcl_ml_per_min"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-12, abs=0), key
    t = np.linspace(0.0, 3 * 86400.0, 400)
    curves = [plasma_curves(c.treatment.library_parameters(), c.treatment.events(),
                            crcl_ml_per_min=c.treatment.patient.crcl_ml_per_min) for c in (from_fhir, written)]
    for name in curves[0]:
        ca, cb = curves[0][name].concentration(t), curves[1][name].concentration(t)
        assert np.max(np.abs(ca - cb)) <= 1e-12 * np.max(np.abs(cb)), name
        assert np.max(cb) > 0


def test_identifiers_of_the_bundle_are_not_kept(tmp_path):
    full_bundle(tmp_path)
    case, _ = read_case(case_file(tmp_path, "{fhir: bundle.json, reference_date: 2024-03-01}"))
    dumped = case.model_dump_json()
    for secret in ("Doe", "John", "MRN-99", "1956-03-02"):
        assert secret not in dumped


@pytest.mark.parametrize(("entries", "patient", "match"), [
    ((observation("8302-2", 178.0, "cm", "2024-01-01"),), None,
     r"key 'treatment\.drugs\.0\.dose'.*has no Observation LOINC 29463-7 \(body weight\)"),
    ((observation("8302-2", 178.0, "cm", "2024-01-01"), observation("29463-7", 72.0, "kg", "2024-01-01"),
      observation("29463-7", 74.0, "kg", "2024-01-01")), None,
     r"conflicting Observations LOINC 29463-7 \(body weight\) on 2024-01-01"),
    ((observation("8302-2", 178.0, "cm", "2024-01-01"), observation("29463-7", 72.0, "kg", "2024-01-01")),
     {"resourceType": "Patient", "gender": "male", "birthDate": "1956-03-02"},
     r"has no Observation LOINC 2160-0 \(serum creatinine\)"),
    ((observation("8302-2", 178.0, "cm", "2024-01-01"),), {"resourceType": "Patient", "gender": "unknown"},
     r"Patient\.gender 'unknown'"),
])
def test_missing_or_conflicting_values_name_resource_and_code(tmp_path, entries, patient, match):
    bundle(tmp_path, *entries, patient=patient)
    with pytest.raises(CaseError, match=match) as info:
        read_case(case_file(tmp_path, "{fhir: bundle.json, reference_date: 2024-03-01}"))
    assert "\n" not in str(info.value)


def test_case_entry_conflicting_with_the_bundle(tmp_path):
    full_bundle(tmp_path)
    with pytest.raises(CaseError, match=r"key 'treatment\.patient\.weight'.*conflicts with the FHIR Bundle .*"
                                        r"Observation LOINC 29463-7"):
        read_case(case_file(tmp_path, '{fhir: bundle.json, reference_date: 2024-03-01, weight: "70 kg"}'))
    same, _ = read_case(case_file(tmp_path, '{fhir: bundle.json, reference_date: 2024-03-01, weight: "72000 g"}'))
    assert same.treatment.patient.weight_kg == pytest.approx(72.0)


def test_birth_date_needs_a_reference_date(tmp_path):
    full_bundle(tmp_path)
    with pytest.raises(CaseError, match="Patient.birthDate needs treatment.patient.reference_date"):
        read_case(case_file(tmp_path, "{fhir: bundle.json}"))
