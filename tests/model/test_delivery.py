"""Drug delivery end to end: a regimen on a small sphere, serial vs 2 ranks, mass balance, outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import run_cli

CASE = """
name: drug_sphere
geometry: {kind: sphere, tumour_radius: "3 mm", host_radius: "9 mm"}
mesh: {size_tumour: "1 mm", size_rim: "0.4 mm", rim_band: "0.2 mm", size_far: "2.5 mm", grading_distance: "2 mm"}
regions:
  tumour: {kind: tumour}
  host: {kind: normal}
physics:
  fluid:
    boundary_conditions: [{boundary: outer, type: pressure, pressure: "0.935 mmHg"}]
  drug: {enabled: true}
time: {end: "2 day", max_step: "6 h", min_step: "10 min", output_every: "12 h"}
treatment:
  patient: {height: "170 cm", weight: "70 kg", age: 60, sex: female, serum_creatinine: "0.9 mg/dL"}
  drugs:
    - {drug: doxorubicin, dose: "60 mg/m^2", route: infusion, duration: "30 min", schedule: "day 1"}
    - {drug: cisplatin, dose: "75 mg/m^2", route: infusion, duration: "1 h", schedule: "day 1"}
"""


def rows_of(path: Path) -> list[dict[str, float]]:
    with open(path) as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def rows(run: Path) -> list[dict[str, float]]:
    return rows_of(run / "metrics.csv")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("delivery")
    (tmp / "case.yaml").write_text(CASE)
    out = {}
    for ranks in (1, 2):
        result = run_cli("run", str(tmp / "case.yaml"), "--out", str(tmp / f"np{ranks}"), ranks=ranks, cwd=tmp,
                         timeout=600)
        assert result.returncode == 0, result.stderr
        out[ranks] = tmp / f"np{ranks}"
    return out


def test_outputs_and_mass_balance(runs):
    table = rows(runs[1])
    assert [r["time_day"] for r in table] == [0.0, 0.5, 1.0, 1.5, 2.0]
    for drug in ("doxorubicin", "cisplatin"):
        assert max(r[f"{drug}_mass_balance_error"] for r in table) < 1e-6
        final = table[-1]
        # exposure accumulates and the leakier tumour vessels give a higher tumour Cmax than normal tissue
        assert final[f"{drug}_tumour_auc_mean_mg_h_per_L"] > 0
        assert final[f"{drug}_tumour_cmax_max_mg_per_L"] > final[f"{drug}_normal_cmax_max_mg_per_L"]
        assert final[f"{drug}_plasma_auc_mg_h_per_L"] > table[1][f"{drug}_plasma_auc_mg_h_per_L"]
    steps = rows_of(runs[1] / "steps.csv")
    assert max(s["doxorubicin_mass_balance_error"] for s in steps) < 1e-6
    assert min(s["dt_s"] for s in steps) == pytest.approx(600.0)  # refined after the dose events
    with open(runs[1] / "plasma.csv") as fh:
        header = next(csv.reader(fh))
    assert "doxorubicin_mg_per_L" in header and "cisplatin_auc_mg_h_per_L" in header


def test_serial_and_parallel_agree(runs):
    serial, parallel = rows(runs[1]), rows(runs[2])
    for a, b in zip(serial, parallel):
        for key, value in a.items():
            if "iterations" in key or "residual" in key or "mass_balance" in key or key.endswith("_min_mg_per_L"):
                continue
            assert b[key] == pytest.approx(value, rel=1e-6, abs=1e-12, nan_ok=True), key


def test_unknown_drug_is_a_one_line_error(tmp_path):
    case = tmp_path / "bad.yaml"
    case.write_text(CASE.replace("drug: cisplatin", "drug: cisplatinum"))
    result = run_cli("run", str(case), ranks=2, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "treatment.drugs.1.drug" in lines[0] and "doxorubicin" in lines[0], lines
    assert not (tmp_path / "results").exists()


def test_a_checkpoint_inhibitor_gets_tissue_transport_only_when_its_tissue_concentration_is_read():
    import yaml

    from oncotwin.case.schema import Case
    from oncotwin.model.delivery import needs_transport, plasma_only_curves

    data = yaml.safe_load(CASE)
    effect = {"max_kill_rate": "0.3 1/day", "ec50": "1 mg/L"}
    data["physics"].update(immune={"enabled": True},
                           growth={"drug_effect": {"doxorubicin": effect, "cisplatin": effect}})
    data["treatment"]["drugs"].append({"drug": "pembrolizumab", "dose": "200 mg", "route": "infusion",
                                       "duration": "30 min", "schedule": "day 1"})
    case = Case.model_validate(data)
    assert [needs_transport(case, d) for d in ("doxorubicin", "cisplatin", "pembrolizumab")] == [True, True, False]
    assert list(plasma_only_curves(case)) == ["pembrolizumab"]
    data["physics"]["drug"]["antibody_transport"] = True  # the case asks for the antibody's exposure maps
    assert needs_transport(Case.model_validate(data), "pembrolizumab")
    assert plasma_only_curves(Case.model_validate(data)) == {}
    data["physics"]["drug"]["antibody_transport"] = False
    data["physics"]["growth"]["drug_effect"]["pembrolizumab"] = effect  # a direct effect reads the tissue
    assert needs_transport(Case.model_validate(data), "pembrolizumab")


@pytest.mark.mpi
def test_metrics_compiled_once_equal_freshly_compiled_forms_as_the_drug_moves(comm):
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.delivery import create_drug_problems
    from oncotwin.problems.regions import integrate
    from tests.model.test_barrier import case_with

    case = case_with({})
    delivery = create_drug_problems(case, mesh_in_memory(comm, case))["temozolomide"]
    means = []
    for _ in range(2):
        for _ in range(4):
            delivery.step(1800.0)
        m = delivery.metrics()
        c, auc = delivery.output_fields()[:2]
        for label, tags in (("tumour", delivery.tumour), ("normal", delivery.normal)):
            volume = integrate(comm, 1.0 * delivery.dx(tags))
            assert delivery.volumes[label] == pytest.approx(volume, rel=1e-12)
            mean = integrate(comm, c * delivery.dx(tags)) / volume
            assert m[f"temozolomide_{label}_mean_mg_per_L"] == pytest.approx(mean, rel=1e-12)
            auc_mean = integrate(comm, auc * delivery.dx(tags)) / volume
            assert m[f"temozolomide_{label}_auc_mean_mg_h_per_L"] == pytest.approx(auc_mean, rel=1e-12)
        means.append(m["temozolomide_tumour_mean_mg_per_L"])
    assert means[1] != pytest.approx(means[0], rel=1e-3)
