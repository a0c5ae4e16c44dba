"""The coupled tumour model through the CLI: closed forms through the driver, serial = parallel."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tests.conftest import run_cli

SPHERE = """
name: NAME
geometry: {kind: sphere, tumour_radius: "3 mm", host_radius: "9 mm", necrotic_radius: "1 mm"}
mesh: {size_tumour: "0.8 mm", size_far: "2 mm", grading_distance: "3 mm"}
output: {figures: false}
"""

COUPLED = SPHERE + """
regions:
  necrotic: {kind: necrotic}
  tumour: {kind: tumour}
  host: {kind: normal, growth: {diffusivity: "0.3 mm^2/day"}, mechanics: {poisson_ratio: 0.49}}
physics:
  fluid: {enabled: true, boundary_conditions: [{boundary: outer, type: pressure, pressure: "0 mmHg"}]}
  drug: {enabled: true}
  oxygen: {enabled: true}
  growth:
    step: "1 day"
    proliferation_rate: "0.2 1/day"
    mutation_fraction: 1e-3
    drug_effect: {temozolomide: {max_kill_rate: "0.5 1/day", ec50: "0.5 mg/L"}}
  mechanics: {enabled: true, degree: 1}
time: {end: "4 day", max_step: "12 h", min_step: "1 h", output_every: "1 day"}
treatment:
  patient: {height: "170 cm", weight: "70 kg"}
  drugs: [{drug: temozolomide, dose: "75 mg/m^2", route: oral, schedule: "daily x 4"}]
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 2-3"}
  antiangiogenic: {schedule: "day 2", effect_duration: "2 day", permeability_scale: 0.5}
"""

RT_ONLY = SPHERE + """
regions:
  necrotic: {kind: necrotic}
  tumour: {kind: tumour}
  host: {kind: normal}
physics:
  growth:
    proliferation_rate: "0 1/day"
    necrosis_rate: "0 1/day"
time: {end: "5 day", output_every: "1 day"}
treatment:
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 1-5", alpha: "0.3 1/Gy", alpha_beta: "10 Gy"}
"""
# the initial densities differ between regions: switch invasion off so only radiotherapy changes them
RT_ONLY = RT_ONLY.replace("{kind: necrotic}", '{kind: necrotic, growth: {diffusivity: "0 mm^2/s"}}').replace(
    "{kind: tumour}", '{kind: tumour, growth: {diffusivity: "0 mm^2/s"}}').replace(
    "{kind: normal}", '{kind: normal, growth: {diffusivity: "0 mm^2/s"}}')


def rows(run: Path) -> list[dict[str, float]]:
    with open(run / "metrics.csv") as fh:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in r.items()} for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def coupled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coupled")
    case = tmp / "coupled.yaml"
    case.write_text(COUPLED.replace("NAME", "coupled"))
    out = {}
    for ranks in (1, 2):
        result = run_cli("run", str(case), "--out", str(tmp / f"np{ranks}"), ranks=ranks, cwd=tmp, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        out[ranks] = rows(tmp / f"np{ranks}")
    return out


def test_coupled_run_serial_and_parallel_agree(coupled):
    serial, parallel = coupled[1], coupled[2]
    assert len(serial) == len(parallel) == 5
    skip = ("iterations", "residual", "substeps", "clipped")
    for a, b in zip(serial, parallel, strict=True):
        for key, value in a.items():
            if any(s in key for s in skip) or math.isnan(value):
                continue
            assert b[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_coupled_run_reports_every_output_users_need(coupled):
    first, last = coupled[1][0], coupled[1][-1]
    for key in ("tumour_volume_mm3", "tumour_cells", "resistant_fraction", "hypoxic_fraction",
                "necrotic_volume_mm3", "po2_mean_tumour_mmHg", "displacement_max_mm", "host_displacement_max_mm",
                "von_mises_max_mmHg", "temozolomide_tumour_auc_mean_mg_h_per_L", "ifp_max_tumour_mmHg",
                "rt_dose_given_Gy", "vessels_normalised"):
        assert key in last and not math.isnan(last[key]), key
    assert last["rt_dose_given_Gy"] == 4.0
    # the baseline image is the reference configuration: no displacement at t = 0, mass effect after
    assert first["displacement_max_mm"] == pytest.approx(0.0, abs=1e-12)
    assert first["von_mises_max_mmHg"] == pytest.approx(0.0, abs=1e-9)
    assert last["displacement_max_mm"] > 0
    # mutation under drug selection: the resistant share grows
    assert last["resistant_fraction"] > first["resistant_fraction"]
    # normalisation from day 2 (t = 1 day) for 2 days halves Lp S/V in the tumour: the pressure falls and
    # recovers exactly when the window closes
    by_day = {round(r["time_day"]): r for r in coupled[1]}
    assert [by_day[d]["vessels_normalised"] for d in range(5)] == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert by_day[1]["ifp_max_tumour_mmHg"] < 0.995 * by_day[0]["ifp_max_tumour_mmHg"]
    assert by_day[3]["ifp_max_tumour_mmHg"] == pytest.approx(by_day[0]["ifp_max_tumour_mmHg"], rel=1e-6)


def test_mechanics_every_two_days_outputs_the_displacement_of_the_current_cells(coupled, tmp_path):
    """update_every 2 days: an output between the updates solves the displacement for the cells it shows,
    and leaves the stress that slows invasion on its schedule (the output times do not change the run)."""
    out = {}
    for every in (1, 2):
        text = COUPLED.replace("NAME", f"lagged{every}").replace(
            "mechanics: {enabled: true, degree: 1}", 'mechanics: {enabled: true, degree: 1, update_every: "2 day"}')
        assert 'output_every: "1 day"' in text
        case = tmp_path / f"lagged{every}.yaml"
        case.write_text(text.replace('output_every: "1 day"', f'output_every: "{every} day"'))
        result = run_cli("run", str(case), "--out", str(tmp_path / f"out{every}"), cwd=tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        out[every] = {round(r["time_day"]): r for r in rows(tmp_path / f"out{every}")}
    daily = {round(r["time_day"]): r for r in coupled[1]}
    # to day 1 both runs invade with the stress of t = 0: the same cells, and the same displacement
    assert out[1][1]["displacement_max_mm"] > 0
    for key in ("tumour_cells", "displacement_max_mm", "von_mises_max_mmHg", "tumour_volume_change_mm3"):
        assert out[1][1][key] == pytest.approx(daily[1][key], rel=1e-6), key
    assert sorted(out[2]) == [0, 2, 4]
    for day in (2, 4):
        for key in ("tumour_cells", "tumour_volume_mm3", "displacement_max_mm", "von_mises_max_mmHg"):
            assert out[2][day][key] == pytest.approx(out[1][day][key], rel=1e-6), (day, key)


@pytest.mark.mpi
def test_radiotherapy_through_the_driver_matches_lq_survival(shared_tmp, comm):
    """No growth, no oxygen: after n fractions the cell count is exp(-n (alpha d + beta d^2)) of the start."""
    from oncotwin.case import load_case
    from oncotwin.run.simulation import Simulation

    case_file = shared_tmp / "rt.yaml"
    if comm.rank == 0:
        case_file.write_text(RT_ONLY.replace("NAME", "rt_only"))
    comm.barrier()
    case, sha = load_case(comm, case_file)[:2]
    out = Simulation(comm, case, case_file, sha, shared_tmp / "rt_run", shared_tmp / "meshes").run()
    data = rows(out)
    alpha, beta, d = 0.3, 0.03, 2.0
    for row in data:
        n = int(row["rt_fractions_given"])
        assert n == min(int(round(row["time_day"])) + 1, 5)
        expected = data[0]["tumour_cells"] / math.exp(-(alpha * d + beta * d * d)) * math.exp(
            -n * (alpha * d + beta * d * d))
        assert row["tumour_cells"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.mpi
def test_tissue_follows_the_invading_tumour(comm, shared_tmp):
    """Host cells full of tumour cells take the tumour's vessels: IFP rises there, drugs see new flow."""
    import numpy as np
    import yaml
    from mpi4py import MPI

    from oncotwin.case.schema import Case
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.tumour import TumourModel
    from oncotwin.run.simulation import Simulation

    data = yaml.safe_load(COUPLED.replace("NAME", "remodel"))
    data["physics"]["growth"]["remodel_every"] = "1 day"
    case = Case.model_validate(data)
    tmesh = mesh_in_memory(comm, case)
    sim = Simulation(comm, case, shared_tmp / "x.yaml", "", shared_tmp / "out", shared_tmp / "meshes")
    fluid, _ = sim.solve_fluid(tmesh)
    drugs = sim.create_drugs(tmesh, fluid)
    model = TumourModel(case, tmesh, fluid, drugs)
    host_tag = tmesh.regions["host"]
    before = fluid.metrics()["ifp_max_tumour_mmHg"], fluid.p.x.array.copy()
    # fill the host within 5 mm of the centre with tumour cells at the tumour's own density
    x = model.growth.V.tabulate_dof_coordinates()
    full_density = case.regions["tumour"].growth.initial_density
    model.growth.sensitive.x.array[:] = np.where(np.linalg.norm(x, axis=1) < 5.0, full_density, 0.0)
    model.growth.resistant.x.array[:] = 0.0
    model.growth._update_viable()
    model.remodel(86400.0)
    chi = model.chi
    cells = tmesh.cell_tags.indices[tmesh.cell_tags.values == host_tag]
    dofs = fluid.conductivity.function_space.dofmap.list[cells, 0]
    tumour_k = case.regions["tumour"].fluid.hydraulic_conductivity
    host_k = case.regions["host"].fluid.hydraulic_conductivity
    full = chi[cells] == 1.0
    assert np.any(full) and np.allclose(fluid.conductivity.x.array[dofs[full]], tumour_k)
    untouched = chi[cells] == 0.0
    assert np.any(untouched) and np.allclose(fluid.conductivity.x.array[dofs[untouched]], host_k)
    assert np.all(chi[tmesh.cell_tags.indices[tmesh.cell_tags.values != host_tag]] == 0.0)
    # more leaky tumour vessels in the invaded shell: the pressure there rises towards the tumour's
    shell = (np.linalg.norm(fluid.V.tabulate_dof_coordinates(), axis=1) > 3.5) & (
        np.linalg.norm(fluid.V.tabulate_dof_coordinates(), axis=1) < 4.5)
    assert np.all(fluid.p.x.array[shell] >= before[1][shell] - 1e-9)
    assert comm.allreduce(float(np.max(fluid.p.x.array[shell] - before[1][shell], initial=0.0)),
                          op=MPI.MAX) > 1.0
    assert drugs["temozolomide"].problem.operator_count == 0  # cached operators were dropped


def test_oxygen_with_drugs_and_no_growth(tmp_path):
    """Each combination of physics runs: steady oxygen beside drug transport, no growth to kill."""
    case = tmp_path / "oxygen.yaml"
    case.write_text(SPHERE.replace("NAME", "oxygen_only") + """
regions: {necrotic: {kind: necrotic}, tumour: {kind: tumour}, host: {kind: normal}}
physics:
  drug: {enabled: true}
  oxygen: {enabled: true}
  growth: {enabled: false, drug_effect: {temozolomide: {max_kill_rate: "0.5 1/day", ec50: "0.5 mg/L"}}}
time: {end: "1 day", output_every: "12 h"}
treatment:
  patient: {height: "170 cm", weight: "70 kg"}
  drugs: [{drug: temozolomide, dose: "75 mg/m^2", route: oral, schedule: "daily x 1"}]
""")
    result = run_cli("run", str(case), "--out", str(tmp_path / "run"), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    last = rows(tmp_path / "run")[-1]
    assert 0 < last["po2_mean_tumour_mmHg"] < 40 and last["temozolomide_tumour_auc_mean_mg_h_per_L"] > 0
    assert "tumour_cells" not in last
