"""Regimen comparison: validation before any simulation, MPI groups, table, ranking."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.model.test_tumour import COUPLED

CASE = COUPLED.replace("NAME", "cmp_sphere")
CASE = CASE[: CASE.index("treatment:")] + 'treatment:\n  patient: {height: "170 cm", weight: "70 kg"}\n'

TMZ = '{drug: temozolomide, dose: "75 mg/m^2", route: oral, schedule: "daily x 4"}'
# alpha 0.3 /Gy: with volume exclusion, invasion no longer hides growth in the necrotic core, and 0.1 /Gy
# left the combined arm at +0.2 % (against +54 % untreated) after 4 days, doomed cells still in place
RT = '{dose_per_fraction: "2 Gy", schedule: "days 1-4", alpha: "0.3 1/Gy"}'
REGIMENS = f"""
regimens:
  - name: tmz
    description: daily temozolomide
    treatment: {{drugs: [{TMZ}]}}
  - name: rt
    treatment: {{radiotherapy: {RT}}}
  - name: combined
    treatment: {{drugs: [{TMZ}], radiotherapy: {RT}}}
objective:
  minimise: final_tumour_volume
  constraints: [{{metric: normal_auc, drug: temozolomide, max: "LIMIT"}}]
follow_up: "1 day"
"""


OUTCOMES = "outcomes: {indication: ovarian, ntcp: [{region: host, organ: brain}], neutropenia: {patients: 50}}\n"


def write(tmp: Path, regimens: str) -> tuple[Path, Path]:
    (tmp / "case.yaml").write_text(CASE)
    (tmp / "regimens.yaml").write_text(regimens)
    return tmp / "case.yaml", tmp / "regimens.yaml"


@pytest.mark.parametrize(("regimens", "key", "message"), [
    (REGIMENS.replace('follow_up: "1 day"', 'follow_up: "-2 day"'), "follow_up", "must be >= 0"),
    (REGIMENS + "outcomes: {indication: pancreas}\n", "outcomes.indication", "known: breast, colorectal"),
    (REGIMENS.replace("metric: normal_auc, drug: temozolomide, max: \"LIMIT\"",
                      "metric: p_grade3_neutropenia, drug: temozolomide, max: 0.2"),
     "objective.constraints.0.drug", "no published myelosuppression (Friberg) parameters"),
    (REGIMENS.replace("metric: normal_auc, drug: temozolomide, max: \"LIMIT\"",
                      "metric: ntcp, region: host, organ: brain, max: 0.05").replace(
                          'alpha: "0.3 1/Gy"}', 'alpha: "0.3 1/Gy", target_regions: [tumour]}'),
     "objective.constraints.0.region", "receives no radiotherapy dose in any regimen; regions with dose: tumour"),
    ((REGIMENS + "outcomes: {ntcp: [{region: host, organ: brain}]}\n").replace(
        'alpha: "0.3 1/Gy"}', 'alpha: "0.3 1/Gy", target_regions: [tumour]}'),
     "outcomes.ntcp.0.region", "receives no radiotherapy dose in any regimen, so its NTCP is not defined"),
    (REGIMENS.replace(f"  - name: rt\n    treatment: {{radiotherapy: {RT}}}\n", "").replace(
        f"{{drugs: [{TMZ}], radiotherapy: {RT}}}", f"{{drugs: [{TMZ}]}}")
     + "outcomes: {ntcp: [{region: host, organ: brain}]}\n",
     "outcomes.ntcp.0.region", "regions with dose: none"),
])
def test_bad_outcome_inputs_are_one_line(tmp_path, regimens, key, message):
    case, file = write(tmp_path, regimens.replace("LIMIT", "1000 mg*h/L"))
    result = run_cli("compare", str(case), "--regimens", str(file), "--out", str(tmp_path / "out"), cwd=tmp_path,
                     timeout=120)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "regimens.yaml" in line and f"key '{key}'" in line and message in line, line
    assert not (tmp_path / "out").exists() and not (tmp_path / "meshes").exists()


def test_a_horizon_short_of_a_course_plus_follow_up_is_refused_before_anything_runs(tmp_path):
    case, file = write(tmp_path, REGIMENS.replace("LIMIT", "1000 mg*h/L").replace('"1 day"', '"28 day"'))
    result = run_cli("compare", str(case), "--regimens", str(file), "--out", str(tmp_path / "out"), cwd=tmp_path,
                     timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len([x for x in lines if "time.end" in x]) == 1 and "Traceback" not in result.stderr
    assert "case.yaml" in lines[-1] and "key 'time.end'" in lines[-1] and "got '4 day'" in lines[-1]
    assert "treated until day 3 and needs 28 day of follow-up: set time.end >= 31 day" in lines[-1]
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))
    assert not (tmp_path / "meshes").exists()


@pytest.mark.parametrize(("regimens", "key", "message"), [
    (REGIMENS.replace("drug: temozolomide, dose", "drug: temozolomidex, dose", 1),
     "regimens.0.treatment.drugs.0.drug", "temozolomide"),
    (REGIMENS.replace('schedule: "daily x 4"}]}\n  - name: rt',
                      'schedule: "daily x 4"}, {drug: temozolomide, dose: "10 mg", schedule: "day 2"}]}\n  - name: rt'),
     "regimens.0.treatment.drugs.1.schedule", "overlapping administrations"),
    (REGIMENS.replace("name: rt", "name: tmz"), "regimens.1.name", "duplicate regimen name"),
    (REGIMENS.replace("name: rt", "name: control"), "regimens.1.name", "untreated control"),
    (REGIMENS.replace("LIMIT", "5 mg/L"), "objective.constraints.0.max", "dimension"),
    (REGIMENS.replace("drug: temozolomide, max", "drug: cisplatin, max"), "objective.constraints.0.drug",
     "no regimen gives this drug"),
])
def test_bad_regimen_files_fail_before_any_simulation(tmp_path, regimens, key, message):
    case, file = write(tmp_path, regimens.replace("LIMIT", "1000 mg*h/L"))
    result = run_cli("compare", str(case), "--regimens", str(file), "--out", str(tmp_path / "out"), cwd=tmp_path,
                     timeout=120)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "regimens.yaml" in line and f"key '{key}'" in line and message in line, line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))
    assert not (tmp_path / "meshes").exists()  # nothing ran, not even the mesher


def table(folder: Path) -> dict:
    return json.loads((folder / "comparison.json").read_text())


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    case, file = write(tmp, REGIMENS.replace("LIMIT", "30 mg*h/L") + OUTCOMES)
    out = {}
    for ranks in (1, 2):
        result = run_cli("compare", str(case), "--regimens", str(file), "--out", str(tmp / f"np{ranks}"),
                         "--ranks-per-regimen", "1", ranks=ranks, cwd=tmp, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        out[ranks] = tmp / f"np{ranks}"
    return out


def test_one_rank_per_regimen_gives_the_numbers_of_one_rank_in_total(comparisons):
    serial, parallel = table(comparisons[1]), table(comparisons[2])
    assert [e["name"] for e in serial["regimens"]] == ["control", "tmz", "rt", "combined"]
    assert serial["ranking"] == parallel["ranking"]
    for a, b in zip(serial["regimens"], parallel["regimens"], strict=True):
        for key, value in a["metrics"].items():
            if isinstance(value, float | dict):  # per-drug exposures are dicts of floats
                assert b["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-12), (a["name"], key)
            else:
                assert b["metrics"][key] == value, (a["name"], key)


def test_table_ranking_and_response_categories(comparisons):
    doc = table(comparisons[1])
    by_name = {e["name"]: e for e in doc["regimens"]}
    control, combined = by_name["control"]["metrics"], by_name["combined"]["metrics"]
    assert control["percent_change"] > 0 > combined["percent_change"]  # untreated grows, treated shrinks
    assert by_name["control"]["summary"] == "no treatment"
    assert math.isnan(control["normal_auc_mg_h_per_L"].get("temozolomide", math.nan)) or not control[
        "normal_auc_mg_h_per_L"]
    # the 30 mg h/L temozolomide limit excludes the drug regimens: ranked among the feasible only
    for name in ("tmz", "combined"):
        assert by_name[name]["metrics"]["normal_auc_mg_h_per_L"]["temozolomide"] > 30
        assert not by_name[name]["metrics"]["feasible"] and by_name[name]["rank"] is None
    assert doc["ranking"] == ["rt", "control"]
    assert "subject to normal-tissue temozolomide AUC <= 30 mg h/L" in doc["objective"]["description"]
    for entry in doc["regimens"]:
        m = entry["metrics"]
        expected = ("PR" if m["percent_change"] <= -65 else "SD") if m["time_to_progression_day"] is None else None
        if expected is not None and m["final_tumour_volume_mm3"] <= 1.4 * m["min_tumour_volume_mm3"]:
            assert m["response"] == expected, entry["name"]
        assert (comparisons[1] / entry["run_dir"] / "metrics.csv").is_file()
    with open(comparisons[1] / "comparison.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["regimen"] for r in rows] == ["control", "tmz", "rt", "combined"]


def test_groups_must_divide_the_ranks(tmp_path):
    case, file = write(tmp_path, REGIMENS.replace("LIMIT", "1000 mg*h/L"))
    result = run_cli("compare", str(case), "--regimens", str(file), "--ranks-per-regimen", "2", cwd=tmp_path)
    assert result.returncode != 0 and "must divide the number of ranks" in result.stderr


def assert_close(a, b, where):
    """Same structure, floats equal within solver tolerance."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-12), where
    else:
        assert a == b, where


def test_clinical_outcomes_are_in_the_table_and_equal_on_two_ranks(comparisons):
    serial, parallel = table(comparisons[1]), table(comparisons[2])
    for a, b in zip(serial["regimens"], parallel["regimens"], strict=True):
        assert_close(a["clinical"], b["clinical"], a["name"])
    by_name = {e["name"]: e for e in serial["regimens"]}
    rt = by_name["rt"]["clinical"]["radiotherapy"]
    assert rt["regions"]["tumour"]["dose_Gy"] == pytest.approx(8.0)  # 4 x 2 Gy, uniform without target regions
    assert 0.0 <= rt["ntcp"]["host:brain"]["ntcp"] < 1e-6  # 8 Gy EQD2 ~ 7 Gy << TD50 60 Gy
    assert by_name["control"]["clinical"]["radiotherapy"] == {}
    surv = by_name["combined"]["clinical"]["survival"]
    assert surv["median_os_months"] > by_name["control"]["clinical"]["survival"]["median_os_months"]
    assert "model, not a medical device" in serial["note"]
    res = by_name["control"]["clinical"]["resistance"]
    # a surviving resistant lineage by the horizon is at least as likely as one before treatment (1 - exp(-M u n))
    assert -math.expm1(-res["cells_at_start"] * 50e-9) <= res["p_emergence_by_horizon"] <= 1.0
    assert 0.0 <= res["p_resistant_at_start"] <= 1.0
    assert by_name["tmz"]["clinical"]["neutropenia"] == {}  # no Friberg parameters for temozolomide
    with open(comparisons[1] / "comparison.csv") as fh:
        row = next(csv.DictReader(fh))
    assert "median_os_months" in row and "p_resistance_emergence" in row


PEMBRO = '{drug: pembrolizumab, dose: "200 mg", schedule: "day 1"}'


@pytest.mark.parametrize(("case_text", "regimens", "message"), [
    (CASE.replace("  oxygen: {enabled: true}\n", "  oxygen: {enabled: true}\n  immune: {enabled: true}\n"),
     REGIMENS.replace(f"treatment: {{drugs: [{TMZ}]}}\n  - name: rt", f"treatment: {{drugs: [{PEMBRO}]}}\n  - name: rt")
     .replace("drug: temozolomide, max", "drug: pembrolizumab, max"),
     "is a checkpoint inhibitor that acts through its PD-1 occupancy only"),
])
def test_a_normal_tissue_exposure_constraint_on_a_drug_without_tissue_concentration_is_one_line(
        tmp_path, case_text, regimens, message):
    """Before: the constraint read a metric that is never computed (NaN or missing) instead of refusing."""
    (tmp_path / "case.yaml").write_text(case_text)
    (tmp_path / "regimens.yaml").write_text(regimens.replace("LIMIT", "1000 mg*h/L"))
    result = run_cli("compare", "case.yaml", "--regimens", "regimens.yaml", "--out", str(tmp_path / "out"),
                     cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "regimens.yaml" in line and "key 'objective.constraints.0.drug'" in line and message in line, line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "meshes").exists()
