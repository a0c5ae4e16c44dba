"""Cohort files: paths relative to the file, and one-line errors naming the file, key and value."""

from __future__ import annotations

import pytest
import yaml

from oncotwin.case.cohort import read_cohort
from oncotwin.core.errors import CaseError


@pytest.fixture
def folder(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "case.yaml").write_text("name: x\n")
        (tmp_path / name / "obs.yaml").write_text("observations: []\n")
    return tmp_path


def _write(folder, data) -> object:
    path = folder / "cohort.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _patients(*names):
    return [{"case": f"{n}/case.yaml", "observations": f"{n}/obs.yaml"} for n in names]


def test_paths_resolve_against_the_cohort_file_and_labels_default(folder):
    cohort = read_cohort(_write(folder, {"description": "two", "patients": [*_patients("a"), {
        "label": "second", **_patients("b")[0]}]}))
    assert cohort.cases == [folder / "a" / "case.yaml", folder / "b" / "case.yaml"]
    assert cohort.observations[1] == folder / "b" / "obs.yaml"
    assert cohort.labels == ["patient_1", "second"] and cohort.description == "two"


@pytest.mark.parametrize("data, key, message", [
    ({"patients": _patients("a")}, "patients", "at least two patients"),
    ({"patients": [*_patients("a"), {"case": "b/case.yaml", "observations": "b/missing.yaml"}]},
     "patients.1.observations", "file not found"),
    ({"patients": [*_patients("a"), {"case": "b/case.yaml"}]}, "patients.1.observations", "required"),
    ({"patients": [*_patients("a", "b"), {"case": "a/case.yaml", "observations": "a/obs.yaml"}]}, "patients.2",
     "counted twice"),
    ({"patients": [{"label": "x", **_patients("a")[0]}, {"label": "x", **_patients("b")[0]}]}, "patients.1.label",
     "unique"),
    ({"patients": [{"label": "has space", **_patients("a")[0]}, *_patients("b")]}, "patients.0.label", "pattern"),
    ({"patients": _patients("a", "b"), "prior": "x"}, "prior", "unknown key"),
    ({"patients": [{**_patients("a")[0], "weight": 2}, *_patients("b")]}, "patients.0.weight", "unknown key"),
    ("- just a list\n", "<document>", "YAML mapping"),
])
def test_errors_name_the_file_key_and_value(folder, data, key, message):
    path = _write(folder, data)
    with pytest.raises(CaseError) as info:
        read_cohort(path)
    text = str(info.value)
    assert text.startswith(str(path)) and f"key '{key}'" in text and message in text, text
    assert "\n" not in text


def test_missing_cohort_file_is_one_line(tmp_path):
    with pytest.raises(CaseError, match="cohort file"):
        read_cohort(tmp_path / "none.yaml")
