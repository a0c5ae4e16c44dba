"""Absurd input values are refused up front: one error line, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import DATA, run_cli

SPHERE = textwrap.dedent("""\
    name: hostile
    geometry: {{kind: sphere, tumour_radius: "{tumour}", host_radius: "{host}"}}
    mesh: {{size_tumour: "{size_tumour}", size_far: "{size_far}"}}
    regions: {{tumour: {{kind: tumour}}, host: {{kind: normal}}}}
    """)

GROWTH = SPHERE + textwrap.dedent("""\
    physics: {{growth: {{enabled: true, {growth}}}}}
    time: {{end: "14 day", max_step: "6 h", min_step: "10 min", output_every: "{output_every}"{time_extra}}}
    """)

DRUG = SPHERE + textwrap.dedent("""\
    physics: {{drug: {{enabled: true}}}}
    time: {{end: "14 day"}}
    treatment:
      drugs: [{{drug: doxorubicin, dose: "50 mg", {schedule}}}]
    """)

RADIOTHERAPY = GROWTH + textwrap.dedent("""\
    treatment: {{radiotherapy: {{dose_per_fraction: "2 Gy", schedule: "{rt_schedule}"}}}}
    """)

SIZES = {"tumour": "5 mm", "host": "20 mm", "size_tumour": "1.5 mm", "size_far": "4 mm"}
TIME = {"output_every": "1 day", "time_extra": "", "growth": ""}


def _case(tmp_path, template, **values):
    path = tmp_path / "case.yaml"
    path.write_text(template.format(**{**SIZES, **TIME, **values}))
    return path


def _refused(tmp_path, command, path, *needles):
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(command, str(path), *(["--mesh-dir", str(tmp_path / "meshes")] if command == "mesh" else []),
                     cwd=tmp_path, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("oncotwin: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    return lines[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("schedule, needle", [
    ('schedule: "daily x 99999999999999999999"', "at most 10000"),
    ('schedule: "days 1-5 every 7 days x 3000"', "at most 10000"),
    ('schedule: "days 1,1,1"', "day 1 more than once"),
    ('every: "1 day", count: 99999999999', "count"),
])
def test_absurd_drug_schedules_are_refused(tmp_path, schedule, needle):
    line = _refused(tmp_path, "validate", _case(tmp_path, DRUG, schedule=schedule), "treatment.drugs.0", needle)
    assert "schedule" in line or "count" in line


@pytest.mark.timeout(60)
def test_absurd_radiotherapy_schedule_is_refused(tmp_path):
    path = _case(tmp_path, RADIOTHERAPY, rt_schedule="daily x 99999999999999999999")
    _refused(tmp_path, "validate", path, "treatment.radiotherapy.schedule", "99999999999999999999")


@pytest.mark.timeout(60)
def test_too_many_outputs_are_refused_unless_allowed(tmp_path):
    _refused(tmp_path, "validate", _case(tmp_path, GROWTH, output_every="1 s"),
             "time.output_every", "time.max_outputs")
    allowed = _case(tmp_path, GROWTH, output_every="1 h", time_extra=", max_outputs: 400")
    result = run_cli("validate", str(allowed), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("key, value, needle", [
    ("host", "1e308 mm", "geometry.host_radius"),
    ("host", ".inf mm", "geometry.host_radius"),
    ("tumour", "2 m", "geometry.tumour_radius"),
    ("size_tumour", "1e-9 mm", "mesh.size_tumour"),
])
def test_absurd_lengths_are_refused_by_validate(tmp_path, key, value, needle):
    _refused(tmp_path, "validate", _case(tmp_path, SPHERE, **{key: value}), needle)


@pytest.mark.timeout(60)
def test_mesh_estimated_beyond_the_cell_limit_is_refused_before_gmsh(tmp_path):
    path = _case(tmp_path, SPHERE, host="900 mm", size_tumour="0.5 mm", size_far="1 mm")
    assert run_cli("validate", str(path), cwd=tmp_path, timeout=60).returncode == 0
    _refused(tmp_path, "mesh", path, "estimated", "mesh.size_tumour", "mesh.size_far")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("growth, needle", [
    ('proliferation_rate: "1e6 1/day"', "physics.growth.proliferation_rate"),
    ('resistant_proliferation_rate: "100 1/day"', "physics.growth.resistant_proliferation_rate"),
    ('necrosis_rate: "1e4 1/day"', "physics.growth.necrosis_rate"),
])
def test_absurd_rates_are_refused(tmp_path, growth, needle):
    _refused(tmp_path, "validate", _case(tmp_path, GROWTH, growth=growth), needle, "physical maximum")


@pytest.mark.timeout(60)
def test_absurd_kill_rate_and_invasion_diffusivity_are_refused(tmp_path):
    kill = GROWTH.replace("{growth}", 'drug_effect: {{doxorubicin: {{max_kill_rate: "1e5 1/day", ec50: "1 mg/L"}}}}')
    _refused(tmp_path, "validate", _case(tmp_path, kill), "max_kill_rate", "physical maximum")
    diffusive = SPHERE.replace("tumour: {{kind: tumour}}",
                               'tumour: {{kind: tumour, growth: {{diffusivity: "1e4 mm^2/day"}}}}')
    _refused(tmp_path, "validate", _case(tmp_path, diffusive), "regions.tumour.growth.diffusivity", "maximum")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("label, needle", [("1.0e+300", "1e+300"), ("1e300", "1e300"), ("2.5", "2.5"),
                                           ("3000000000", "3000000000")])
def test_absurd_region_labels_are_refused_as_written(tmp_path, label, needle):
    labels = DATA / "brats2013_pat0001" / "OTMultiClass.nii.gz"
    if not labels.is_file():
        pytest.skip(f"real imaging data not found at {labels}")
    path = tmp_path / "case.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: hostile
        geometry: {{kind: segmentation, labels: {labels}, regions: {{tumour: [{label}]}}}}
        regions: {{tumour: {{kind: tumour}}, host: {{kind: normal}}}}
        """))
    line = _refused(tmp_path, "validate", path, "geometry.regions.tumour.0", needle)
    assert "-2147483648" not in line
