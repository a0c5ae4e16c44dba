"""Blood-brain barrier in drug transport: temozolomide's normal-brain exposure is ~0.18 of plasma (Portnow 2009)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from oncotwin.case.schema import Case
from oncotwin.mesh.distribute import mesh_in_memory
from oncotwin.model.delivery import create_drug_problems
from oncotwin.pk.drugs import barrier_kpuu, get_drug
from oncotwin.problems.drug import DrugTissue
from tests.conftest import run_cli
from tests.problems.test_drug import make
from tests.problems.test_fluid import cube

CASE = {
    "name": "barrier_sphere",
    "geometry": {"kind": "sphere", "tumour_radius": "2 mm", "host_radius": "5 mm"},
    "mesh": {"size_tumour": "1 mm", "size_rim": "0.6 mm", "size_far": "1.5 mm", "grading_distance": "2 mm"},
    "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
    "physics": {"drug": {"enabled": True}},
    "time": {"end": "1 day", "max_step": "1 h", "min_step": "10 min", "output_every": "1 day"},
    "treatment": {"patient": {"height": "175 cm", "weight": "78 kg"},
                  "drugs": [{"drug": "temozolomide", "dose": "150 mg/m^2", "route": "oral", "schedule": "day 1"}]},
}


def case_with(organs: dict[str, str]) -> Case:
    data = copy.deepcopy(CASE)
    for region, organ in organs.items():
        data["regions"][region]["organ"] = organ
    return Case.model_validate(data)


def exposure(comm, case: Case, hours: float = 24.0, dt_h: float = 0.25) -> dict[str, float]:
    tmesh = mesh_in_memory(comm, case)
    delivery = create_drug_problems(case, tmesh)["temozolomide"]
    for _ in range(round(hours / dt_h)):
        delivery.step(dt_h * 3600.0)
    return delivery.metrics()


def test_kpuu_is_the_measured_ratio_over_the_unbound_fraction():
    tmz = get_drug("temozolomide")
    assert barrier_kpuu(tmz, "brain") == pytest.approx(0.18 / 0.85)
    assert barrier_kpuu(tmz, None) == 1.0 and barrier_kpuu(tmz, "lung") == 1.0
    assert barrier_kpuu(get_drug("cisplatin"), "brain") == 1.0  # no ratio in the library: no barrier


@pytest.mark.mpi
def test_brain_exposure_is_the_published_fraction_of_plasma_and_exactly_kpuu_times_no_barrier(comm):
    """Whole domain behind the barrier: the problem is linear in the influx, so every tissue AUC is Kp,uu
    times the AUC without a barrier (to solver tolerance); the normal-tissue/plasma AUC ratio over 24 h of a
    single 150 mg/m^2 dose, the Portnow 2009 protocol, is within 10 % of their 2.7/17.1 = 0.158-0.178."""
    open_ = exposure(comm, case_with({}))
    brain = exposure(comm, case_with({"host": "brain", "tumour": "brain"}))
    kpuu = barrier_kpuu(get_drug("temozolomide"), "brain")
    for key in ("temozolomide_normal_auc_mean_mg_h_per_L", "temozolomide_tumour_auc_mean_mg_h_per_L"):
        assert brain[key] == pytest.approx(kpuu * open_[key], rel=1e-6)
    assert brain["temozolomide_plasma_auc_mg_h_per_L"] == open_["temozolomide_plasma_auc_mg_h_per_L"]
    ratio = brain["temozolomide_normal_auc_mean_mg_h_per_L"] / brain["temozolomide_plasma_auc_mg_h_per_L"]
    assert ratio == pytest.approx(0.178, rel=0.10)
    assert open_["temozolomide_normal_auc_mean_mg_h_per_L"] / open_["temozolomide_plasma_auc_mg_h_per_L"] > 0.6
    assert brain["temozolomide_mass_balance_error"] < 1e-8


@pytest.mark.mpi
def test_a_brain_host_around_an_open_tumour_keeps_the_tumour_exposure_higher(comm):
    """Barrier in normal brain only (the enhancing tumour has none): normal exposure falls to ~Kp,uu of the
    open value, the tumour keeps most of its exposure; without ``organ`` nothing changes."""
    open_ = exposure(comm, case_with({}), hours=12.0)
    host_only = exposure(comm, case_with({"host": "brain"}), hours=12.0)
    normal = "temozolomide_normal_auc_mean_mg_h_per_L"
    tumour = "temozolomide_tumour_auc_mean_mg_h_per_L"
    assert host_only[normal] < 0.4 * open_[normal]
    assert host_only[tumour] > 0.5 * open_[tumour]
    assert host_only["temozolomide_auc_ratio_tumour_to_normal"] > 2.0
    again = exposure(comm, Case.model_validate(CASE), hours=12.0)
    assert np.isclose(again[normal], open_[normal], rtol=0, atol=0)


def test_an_unknown_organ_is_a_one_line_error_naming_file_key_and_value(tmp_path):
    with pytest.raises(ValueError, match="known organs: brain, brainstem"):
        case_with({"host": "pancreas"})
    data = copy.deepcopy(CASE)
    data["regions"]["host"]["organ"] = "pancreas"
    (tmp_path / "case.yaml").write_text(yaml.safe_dump(data))
    result = run_cli("run", str(tmp_path / "case.yaml"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "case.yaml" in line and "regions.host.organ" in line and "pancreas" in line and "known organs" in line
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.mpi
def test_the_invading_tumour_takes_its_own_open_vessels_into_the_brain(comm):
    """Where the tumour fraction is 1 the barrier field takes the tumour region's value (no barrier), as the
    other transport coefficients do; without a barrier anywhere no field is made (bit-identical forms)."""
    tm = cube(comm, 4)
    problem = make(tm, {"tumour": DrugTissue(1e-4, 1e-3, 0.1, 0.0), "host": DrugTissue(1e-4, 1e-3, 0.1, 0.0, 0.2)})
    host = problem.penetration.function_space.dofmap.list[tm.cell_tags.find(tm.regions["host"]), 0]
    assert np.allclose(problem.penetration.x.array[host], 0.2)
    blend = problem.follow_tumour("tumour")
    ncells = tm.mesh.topology.index_map(3).size_local + tm.mesh.topology.index_map(3).num_ghosts
    blend.apply(np.ones(ncells))
    assert np.allclose(problem.penetration.x.array, 1.0)
    assert make(tm, {r: DrugTissue(1e-4, 1e-3, 0.1, 0.0) for r in ("tumour", "host")}).penetration is None
