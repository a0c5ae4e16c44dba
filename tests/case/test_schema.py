"""The case schema: resolution of defaults and units, and one-line errors for bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from oncotwin.case import read_case
from oncotwin.case.run_options import TimeOptions
from oncotwin.core.errors import CaseError

REPO = Path(__file__).resolve().parents[2]

GOOD = textwrap.dedent("""\
    name: tiny
    geometry:
      kind: sphere
      tumour_radius: "3 mm"
      host_radius: "9 mm"
    regions:
      tumour: {kind: tumour}
      host:
        kind: normal
        fluid: {hydraulic_conductivity: "1e-8 cm^2/(mmHg*s)"}
    physics:
      fluid:
        boundary_conditions: [{boundary: outer, type: pressure, pressure: "0 mmHg"}]
    """)


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_case_resolves_units_and_defaults(tmp_path):
    case, digest = read_case(write(tmp_path, GOOD))
    assert case.geometry.tumour_radius == 3.0
    assert case.regions["host"].fluid.hydraulic_conductivity == pytest.approx(1e-6)  # mm^2/(mmHg s)
    # literature default (Baxter & Jain 1989) for the tumour: 2.8e-7 cm/(mmHg s) = 2.8e-6 mm/(mmHg s)
    assert case.regions["tumour"].fluid.vascular_permeability == pytest.approx(2.8e-6)
    assert case.region_tags() == {"tumour": 1, "host": 2}
    assert case.tumour_regions() == ["tumour"]
    assert len(digest) == 64


# regimen files of `oncotwin compare` and the patient case each is meant for
REGIMEN_FILES = {"brats2013_regimens.yaml": "brats2013_pat0001_regimens.yaml",
                 "lung1_regimens.yaml": "lung1_001_regimens.yaml",
                 "lung1_001_immunotherapy_regimens.yaml": "lung1_001_immunotherapy.yaml"}


def _needs_data(name: str) -> None:
    if ("brats" in name or "lung" in name) and not (REPO.parent / "shared" / "data").is_dir():
        pytest.skip("needs ../shared/data")


@pytest.mark.parametrize("case_file", sorted(p for p in (REPO / "cases").glob("*.yaml") if p.name not in REGIMEN_FILES),
                         ids=lambda p: p.name)
def test_shipped_cases_validate(case_file):
    _needs_data(case_file.name)
    read_case(case_file)


@pytest.mark.parametrize("regimens", sorted(REGIMEN_FILES))
def test_shipped_regimen_files_validate_with_their_case(regimens):
    from oncotwin.case.regimens import read_regimens

    _needs_data(regimens)
    names = [r.name for r in read_regimens(REPO / "cases" / REGIMEN_FILES[regimens], REPO / "cases" / regimens)[3]]
    assert names[0] == "control" and len(names) == {"brats2013_regimens.yaml": 5, "lung1_regimens.yaml": 3,
                                                       "lung1_001_immunotherapy_regimens.yaml": 3}[regimens]


def test_every_shipped_yaml_is_a_case_or_a_known_regimen_file():
    import yaml

    for path in (REPO / "cases").glob("*.yaml"):
        is_regimens = "regimens" in (yaml.safe_load(path.read_text()) or {})
        assert is_regimens == (path.name in REGIMEN_FILES), path.name


BAD = {
    "unknown key": (GOOD.replace("kind: normal", "kind: normal\n    colour: red"), "regions.host.colour",
                    "unknown key"),
    "wrong dimension": (GOOD.replace('"1e-8 cm^2/(mmHg*s)"', '"5 mm"'),
                        "regions.host.fluid.hydraulic_conductivity", "dimension"),
    "negative": (GOOD.replace('"1e-8 cm^2/(mmHg*s)"', '"-1e-8 cm^2/(mmHg*s)"'),
                 "regions.host.fluid.hydraulic_conductivity", "must be > 0"),
    "missing unit": (GOOD.replace('"3 mm"', "3"), "geometry.tumour_radius", "unit is required"),
    "radii order": (GOOD.replace('"9 mm"', '"2 mm"'), "geometry.tumour_radius", "radii must satisfy"),
    "unknown region": (GOOD.replace("  host:\n", "  hots:\n"), "regions", "has no entry"),
    "unknown boundary": (GOOD.replace("boundary: outer", "boundary: skull"),
                         "physics.fluid.boundary_conditions.0.boundary", "allowed: outer"),
    "bad bc type": (GOOD.replace("type: pressure", "type: dirichlet"),
                    "physics.fluid.boundary_conditions.0", "does not match"),
    "malformed yaml": (GOOD.replace("tumour: {kind: tumour}", "tumour: {kind: tumour"), "<yaml>",
                       "malformed YAML"),
    "missing image": (textwrap.dedent("""\
        name: img
        geometry: {kind: segmentation, labels: nowhere.nii.gz, label_preset: brats2013}
        regions: {necrotic: {kind: necrotic}}
        """), "geometry.labels", "file not found"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_case_gives_one_line_with_file_key_value(tmp_path, name):
    text, key, message = BAD[name]
    path = write(tmp_path, text)
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text
    assert str(path) in text
    assert f"key '{key}'" in text
    assert message in text


def test_malformed_yaml_reports_line(tmp_path):
    path = write(tmp_path, "name: x\ngeometry: [a\nfoo: 1\n")
    with pytest.raises(CaseError) as err:
        read_case(path)
    assert err.value.line == 3


def test_label_preset_is_documented_not_assumed(tmp_path):
    from oncotwin.case.geometry import LABEL_PRESETS

    assert LABEL_PRESETS["brats2013"]["enhancing"] == [4]
    assert LABEL_PRESETS["brats2023"]["enhancing"] == [3]


def test_max_outputs_is_dumped_only_when_given():
    assert "max_outputs" not in TimeOptions(end="14 day").model_dump()
    assert TimeOptions(end="14 day", output_every="1 h", max_outputs=400).model_dump()["max_outputs"] == 400
    with pytest.raises(ValueError, match="max_outputs"):
        TimeOptions(end="14 day", output_every="1 min")
