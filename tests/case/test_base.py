"""Case files deriving from another one with ``base:`` (deep merge, chains, hashes, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from oncotwin.case import read_case
from oncotwin.case.load import read_case_data
from oncotwin.core.errors import CaseError
from oncotwin.core.hashing import file_sha256

BASE = {
    "name": "tiny",
    "geometry": {"kind": "sphere", "tumour_radius": "3 mm", "host_radius": "9 mm"},
    "regions": {"tumour": {"kind": "tumour"},
                "host": {"kind": "normal", "fluid": {"hydraulic_conductivity": "1e-8 cm^2/(mmHg*s)"}}},
    "physics": {
        "fluid": {"boundary_conditions": [{"boundary": "outer", "type": "pressure", "pressure": "0 mmHg"}]},
        "growth": {"proliferation_rate": "0.2 1/day", "necrosis_rate": "0.01 1/day"},
    },
    "time": {"end": "2 day"},
    "treatment": {"patient": {"height": "170 cm", "weight": "70 kg"}},
}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_mapping_merges_and_overrides_a_nested_value(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    derived = write(tmp_path / "derived.yaml", {"base": "base.yaml", "name": "fast",
                                                "physics": {"growth": {"proliferation_rate": "0.5 1/day"}}})
    case, _ = read_case(derived)
    base, _ = read_case(tmp_path / "base.yaml")
    assert case.name == "fast"
    assert case.physics.growth.proliferation_rate == pytest.approx(2.5 * base.physics.growth.proliferation_rate)
    assert case.physics.growth.necrosis_rate == base.physics.growth.necrosis_rate  # sibling kept
    assert case.geometry.tumour_radius == 3.0  # untouched section kept


def test_list_replaces(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    bcs = [{"boundary": "outer", "type": "pressure", "pressure": "5 mmHg"}]
    derived = write(tmp_path / "derived.yaml", {"base": "base.yaml", "physics": {"fluid": {"boundary_conditions": bcs}}})
    data, _, _ = read_case_data(derived)
    assert data["physics"]["fluid"]["boundary_conditions"] == bcs
    assert "base" not in data
    read_case(derived)


def test_two_level_chain_with_paths_relative_to_each_file(tmp_path):
    write(tmp_path / "root" / "base.yaml", BASE)
    write(tmp_path / "mid" / "mid.yaml", {"base": "../root/base.yaml", "geometry": {"host_radius": "12 mm"}})
    top = write(tmp_path / "top.yaml", {"base": "mid/mid.yaml", "geometry": {"tumour_radius": "4 mm"}})
    case, _ = read_case(top)
    assert (case.geometry.tumour_radius, case.geometry.host_radius) == (4.0, 12.0)
    assert read_case_data(top)[2] == (tmp_path / "root").resolve()  # relative paths: the root case's folder


def test_cycle_is_a_one_line_error(tmp_path):
    write(tmp_path / "a.yaml", {"base": "b.yaml", "name": "a"})
    write(tmp_path / "b.yaml", {"base": "a.yaml", "name": "b"})
    with pytest.raises(CaseError) as err:
        read_case(tmp_path / "a.yaml")
    assert err.value.key == "base" and "loops" in str(err.value) and "\n" not in str(err.value)


def test_missing_base_is_a_one_line_error_naming_key_base(tmp_path):
    derived = write(tmp_path / "derived.yaml", {"name": "x", "base": "nowhere.yaml"})
    with pytest.raises(CaseError) as err:
        read_case(derived)
    text = str(err.value)
    assert "\n" not in text
    assert f"{derived}:2: key 'base': got 'nowhere.yaml'; the base case file does not exist" == text


def test_base_must_be_a_path(tmp_path):
    derived = write(tmp_path / "derived.yaml", {"base": ["a.yaml"]})
    with pytest.raises(CaseError, match="key 'base'"):
        read_case(derived)


def test_hash_covers_the_base(tmp_path):
    base = write(tmp_path / "base.yaml", BASE)
    derived = write(tmp_path / "derived.yaml", {"base": "base.yaml", "name": "d"})
    assert read_case(base)[1] == file_sha256(base)  # unchanged for a file without base
    before = read_case(derived)[1]
    assert before not in (file_sha256(base), file_sha256(derived))
    write(base, {**BASE, "description": "changed"})
    assert read_case(derived)[1] != before


def test_invalid_value_names_the_file_that_writes_it(tmp_path):
    base = write(tmp_path / "base.yaml", BASE)
    derived = write(tmp_path / "derived.yaml", {"base": "base.yaml",
                                                "physics": {"growth": {"proliferation_rate": "5 mm"}}})
    with pytest.raises(CaseError) as err:
        read_case(derived)
    assert (err.value.file, err.value.key) == (str(derived), "physics.growth.proliferation_rate")
    assert err.value.line == 4  # base, physics, growth, proliferation_rate
    # a key the deriving file does not write: the base's name and line
    write(base, {**BASE, "regions": {**BASE["regions"], "tumour": {"kind": "tumour", "colour": "red"}}})
    write(derived, {"base": "base.yaml", "name": "d"})
    with pytest.raises(CaseError) as err:
        read_case(derived)
    assert (err.value.file, err.value.key) == (str(base.resolve()), "regions.tumour.colour")
    assert err.value.line == base.read_text().splitlines().index("    colour: red") + 1


def test_regimens_work_with_a_derived_case(tmp_path):
    from oncotwin.case.regimens import read_regimens

    write(tmp_path / "base" / "base.yaml", BASE)
    derived = write(tmp_path / "derived.yaml", {"base": "base/base.yaml", "name": "derived",
                                                "time": {"end": "4 day"}})
    regimens = write(tmp_path / "regimens.yaml", {"regimens": [
        {"name": "rt", "treatment": {"radiotherapy": {"dose_per_fraction": "2 Gy", "schedule": "days 1-4"}}}],
        "follow_up": "1 day"})  # the 4-day horizon covers the course (last fraction day 3) plus 1 day
    control, digest, _, cases, _ = read_regimens(derived, regimens)
    assert [r.name for r in cases] == ["control", "rt"]
    assert control.name == "derived" and control.time.end == pytest.approx(4 * 86400)
    assert control.treatment.patient is not None  # the base's patient is kept
    assert digest == read_case(derived)[1]
