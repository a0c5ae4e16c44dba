"""DICOM, RTDOSE and FHIR inputs through the CLI: bad input is one line, exit 2, nothing written; patient
identifiers never reach an output, a log, the manifest or the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.imaging.dicom_factory import IDENTIFIERS, Series, circle, write_rtdose, write_rtstruct

CASE = """
name: dicom_tiny
geometry:
  kind: dicom
  series: study/ct
  rtstruct: study/rs.dcm
  regions: {tumour: [GTV]}
  tissue_rois: [Body]
mesh: {size_tumour: "2 mm", size_rim: "2 mm", size_far: "4 mm", margin: "6 mm"}
regions: {tumour: {kind: tumour}, host: {kind: normal}}
physics:
  fluid:
    boundary_conditions:
      - {boundary: outer, type: pressure, pressure: "0 mmHg"}
"""
RADIOTHERAPY = """
  growth: {enabled: true}
time: {end: "2 day", max_step: "1 day", min_step: "1 h", output_every: "1 day"}
treatment:
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "daily x 2", dose: study/rd.dcm}
"""
FHIR = """
  drug: {enabled: true}
time: {end: "1 day", max_step: "6 h", min_step: "10 min", output_every: "1 day"}
treatment:
  patient: {fhir: bundle.json, reference_date: 2024-03-01}
  drugs:
    - {drug: cisplatin, dose: "75 mg/m^2", route: infusion, duration: "1 h"}
"""


@pytest.fixture
def study(tmp_path) -> Path:
    """A 48 x 48 x 14 CT (1 x 1 x 2 mm) with a GTV (r 5 mm, 6 slices) in a Body ROI (r 20 mm), and the case."""
    series = Series(tmp_path / "study" / "ct", (48, 48, 14), (1.0, 1.0, 2.0), (-24.0, -24.0, 0.0))
    write_rtstruct(tmp_path / "study" / "rs.dcm", series,
                   {"GTV": {k: [circle((0, 0), 5.0)] for k in range(4, 10)},
                    "Body": {k: [circle((0, 0), 20.0)] for k in range(14)}})
    (tmp_path / "case.yaml").write_text(CASE)
    return tmp_path


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def assert_one_line_refusal(folder: Path, command: str, *match: str) -> None:
    before = files_under(folder)
    result = run_cli(command, "case.yaml", cwd=folder)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and result.stdout == "", result.stderr
    for text in match:
        assert text in lines[0], lines[0]
    assert files_under(folder) == before  # nothing written


def test_rtstruct_of_another_series(study):
    series = Series(study / "other", (8, 8, 3), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    write_rtstruct(study / "study" / "rs.dcm", series, {"GTV": {1: [circle((4, 4), 2)]}})
    assert_one_line_refusal(study, "validate", "key 'geometry.rtstruct'", "references the image series",
                            "give the series it was drawn on")


def test_roi_name_not_found(study):
    (study / "case.yaml").write_text(CASE.replace("[GTV]", "[GTV-1]"))
    assert_one_line_refusal(study, "validate", "key 'geometry.regions.tumour'",
                            "ROI 'GTV-1' not found; ROI names present: GTV, Body")


def test_non_dicom_file_in_the_series_folder(study):
    (study / "study" / "ct" / "README.txt").write_text("exported by the planning system")
    assert_one_line_refusal(study, "run", "key 'geometry.series'", "README.txt: not a DICOM file")


def test_rtdose_not_covering_the_tumour(study):
    # a grid over RAS x 10..30 mm: the GTV (|x| <= 5 mm) lies outside it
    write_rtdose(study / "study" / "rd.dcm", np.full((3, 5, 5), 60.0), (-30.0, -10.0, 0.0), (5.0, 5.0, 10.0))
    (study / "case.yaml").write_text(CASE + RADIOTHERAPY)
    assert_one_line_refusal(study, "run", "key 'treatment.radiotherapy.dose'",
                            "the RTDOSE grid (RAS mm", "does not cover the tumour")


def test_fhir_bundle_without_the_needed_observation(study):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1950-01-01"}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
                      "valueQuantity": {"value": 165, "unit": "cm", "code": "cm"}}}]}
    (study / "bundle.json").write_text(json.dumps(bundle))
    (study / "case.yaml").write_text(CASE + FHIR)
    assert_one_line_refusal(study, "validate", "key 'treatment.drugs.0.dose'",
                            "has no Observation LOINC 29463-7 (body weight)")


def test_patient_identifiers_never_reach_outputs(study):
    """A run, its report and the logs of both carry none of the DICOM header's identifiers."""
    run = run_cli("run", "case.yaml", "--out", "out", cwd=study)
    assert run.returncode == 0, run.stderr
    report = run_cli("report", "out", cwd=study)
    assert report.returncode == 0, report.stderr
    validate = run_cli("validate", "case.yaml", cwd=study)
    outputs = [p for p in files_under(study / "out") | files_under(study / "meshes") if p.is_file()]
    assert any(p.name == "manifest.json" for p in outputs) and any(p.suffix == ".html" for p in outputs)
    texts = [p.read_bytes() for p in outputs] + [r.stdout.encode() + r.stderr.encode()
                                                  for r in (run, report, validate)]
    secrets = [*IDENTIFIERS.values(), "Jane Doe", "Doe, Jane", "1945-03-17", "2019-04-02"]  # long enough not to
    # occur by chance in base64 figures
    for secret in secrets:
        for text in texts:
            assert secret.encode() not in text, secret
