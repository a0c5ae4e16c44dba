"""The T-cell field coupled into a run: off changes nothing, on writes its outputs and its kill lowers the
tumour cells; serial and under mpirun -n 2."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.model.test_tumour import SPHERE, rows

GROWING = SPHERE + """
regions:
  necrotic: {kind: necrotic}
  tumour: {kind: tumour}
  host: {kind: normal, growth: {diffusivity: "0.3 mm^2/day"}}
physics:
  growth: {step: "1 day", proliferation_rate: "0.2 1/day"}
  IMMUNE
time: {end: "4 day", max_step: "12 h", min_step: "1 h", output_every: "1 day"}
treatment:
  patient: {height: "170 cm", weight: "70 kg" PROFILE}
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 2-3", alpha: "0.3 1/Gy", alpha_beta: "10 Gy"}
"""
IMMUNE_MARKERS = ', profile: {pdl1_tps: "60 %", cd8_density: "1500 cells/mm^2", tmb: "12 mut/Mb"}'


def _run(shared_tmp, comm, name: str, text: str):
    from oncotwin.case import load_case
    from oncotwin.run.simulation import Simulation

    case_file = shared_tmp / f"{name}.yaml"
    if comm.rank == 0:
        case_file.write_text(text.replace("NAME", name))
    comm.barrier()
    case, sha = load_case(comm, case_file)[:2]
    return Simulation(comm, case, case_file, sha, shared_tmp / f"{name}_run", shared_tmp / "meshes",
                      show_progress=False).run()


@pytest.mark.mpi
@pytest.mark.timeout(300)
def test_immune_off_gives_the_result_without_the_immune_section_to_1e_12(shared_tmp, comm):
    # the immune markers of the profile act only through the compartment: off, they must not leak either
    plain = rows(_run(shared_tmp, comm, "immune_absent", GROWING.replace("IMMUNE", "").replace(" PROFILE", "")))
    off = rows(_run(shared_tmp, comm, "immune_off", GROWING.replace("IMMUNE", "immune: {enabled: false}")
                    .replace(" PROFILE", IMMUNE_MARKERS)))
    assert [sorted(r) for r in plain] == [sorted(r) for r in off]
    assert plain[-1]["tumour_cells"] != plain[0]["tumour_cells"]  # something happened
    for a, b in zip(plain, off, strict=True):
        for key, value in a.items():
            if math.isfinite(value):
                assert b[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key


BLOCKADE = ('\n    - {drug: pembrolizumab, dose: "200 mg", route: infusion, duration: "30 min", '
            'schedule: "day 1 every 21 days x 1"}')


@pytest.fixture(scope="module")
def immune_runs(tmp_path_factory):
    from pathlib import Path

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    tmp = Path(comm.bcast(str(tmp_path_factory.mktemp("immune")), root=0))
    off = _run(tmp, comm, "immune_absent", GROWING.replace("IMMUNE", "").replace(" PROFILE", ""))
    on_text = (GROWING.replace("IMMUNE", "immune: {enabled: true}\n  drug: {enabled: true}")
               .replace(" PROFILE", IMMUNE_MARKERS))
    on_text = on_text.replace("  radiotherapy:", "  drugs:" + BLOCKADE + "\n  radiotherapy:")
    on = _run(tmp, comm, "immune_on", on_text)
    return off, on


@pytest.mark.mpi
@pytest.mark.timeout(300)
def test_skipping_the_antibody_tissue_transport_changes_neither_occupancy_nor_result(immune_runs, shared_tmp,
                                                                                    comm):
    # the occupancy reads the plasma PK only: the same run with the antibody transported in tissue (computed
    # and never read) must give the same occupancy, effectors and tumour to round-off
    _, on = immune_runs
    text = (GROWING.replace("IMMUNE", "immune: {enabled: true}\n  drug: {antibody_transport: true}")
            .replace(" PROFILE", IMMUNE_MARKERS)
            .replace("  radiotherapy:", "  drugs:" + BLOCKADE + "\n  radiotherapy:"))
    transported = rows(_run(shared_tmp, comm, "immune_on_transported", text))
    skipped = rows(on)
    assert "pembrolizumab_tumour_mean_mg_per_L" in transported[-1]  # the tissue problem was there
    assert "pembrolizumab_tumour_mean_mg_per_L" not in skipped[-1]
    assert skipped[-1]["pembrolizumab_plasma_mg_per_L"] > 0  # the plasma PK is still reported
    for key in ("pd1_occupancy", "pembrolizumab_plasma_mg_per_L", "pembrolizumab_plasma_auc_mg_h_per_L",
                "tumour_cells", "doomed_cells", "effector_cells", "effector_cells_in_tumour", "immune_tumour_ratio",
                "lesion_cells", "tumour_volume_mm3"):
        for a, b in zip(transported, skipped, strict=True):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-300), key
    assert skipped[-1]["tumour_cells"] != skipped[0]["tumour_cells"]


@pytest.mark.mpi
@pytest.mark.timeout(300)
def test_a_run_with_immune_on_writes_t_cell_maps_occupancy_ratio_and_response(immune_runs):
    _, on = immune_runs
    data = rows(on)
    assert {"pd1_occupancy", "effector_cells_in_tumour", "immune_tumour_ratio", "lesion_cells"} <= set(data[0])
    assert data[0]["pd1_occupancy"] == 0.0 < data[1]["pd1_occupancy"]  # the first dose is given at t = 0+
    assert all(0.0 < r["immune_tumour_ratio"] for r in data)
    assert all(r["effector_density_min"] >= 0.0 for r in data)
    assert max(r["effector_balance_error"] for r in data) < 1e-9
    pieces = sorted(on.glob("fields*/*.vtu")) + sorted(on.glob("fields*/*.pvtu"))
    assert pieces and "effector_density" in pieces[-1].read_text(errors="ignore")  # the T-cell density map
    summary = json.loads((on / "summary.json").read_text())
    assert summary["immune_response"] in ("response", "stable", "progression", "pseudo-progression")


@pytest.mark.mpi
@pytest.mark.timeout(300)
def test_the_effector_kill_lowers_the_tumour_cells_compared_to_immune_off(immune_runs):
    off, on = immune_runs
    without, with_immune = rows(off), rows(on)
    assert with_immune[0]["tumour_cells"] == pytest.approx(without[0]["tumour_cells"], rel=1e-12)
    assert with_immune[-1]["tumour_cells"] < without[-1]["tumour_cells"] * (1 - 1e-3)
    assert with_immune[-1]["doomed_cells"] > without[-1]["doomed_cells"]


def test_the_response_category_is_computed_on_the_lesion_cells():
    from oncotwin.model.immune import immune_response

    course = [1.0, 1.3, 1.1, 0.8]  # the infiltrate swells the lesion, then it shrinks below baseline
    assert immune_response([{"time_s": float(i), "lesion_cells": c} for i, c in enumerate(course)]) == \
        "pseudo-progression"
    assert immune_response([{"time_s": 0.0, "tumour_cells": 1.0}]) is None


def test_density_kinetics_put_the_published_capacity_at_the_growth_capacity():
    from oncotwin.model.immune import kuznetsov_kinetics
    from oncotwin.model.immune_field import density_kinetics

    counts = kuznetsov_kinetics()
    dense = density_kinetics(counts, 1e6)
    volume = 1.0 / (counts.inverse_capacity * 1e6)  # 500 mm^3
    assert volume == pytest.approx(500.0)
    assert dense.inverse_capacity == pytest.approx(1e-6)
    # the same cells in the volume V follow the same equations: the rates per cell agree
    e, t = 3e5, 2e8
    de_counts, dt_counts = counts.rates(e, t)
    de_dense, dt_dense = dense.rates(e / volume, t / volume)
    assert de_dense * volume == pytest.approx(de_counts, rel=1e-12)
    assert dt_dense * volume == pytest.approx(dt_counts, rel=1e-12)
    assert np.isfinite(dense.max_rate(1e3, 1e6))


@pytest.mark.mpi
@pytest.mark.timeout(120)
def test_a_radiotherapy_fraction_kills_effectors_by_the_lymphocyte_radiosensitivity(comm):
    import yaml

    from oncotwin.case.schema import Case
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.tumour import TumourModel

    data = yaml.safe_load(GROWING.replace("NAME", "rt_lymphocytes").replace("IMMUNE", "immune: {enabled: true}")
                          .replace(" PROFILE", ""))
    data["treatment"]["radiotherapy"]["target_regions"] = ["tumour", "necrotic"]
    case = Case.model_validate(data)
    model = TumourModel(case, mesh_in_memory(comm, case))
    before = model.immune.problem.e.x.array.copy()
    model.radiotherapy(0.0)  # no fraction on day 1 ("days 2-3"): nothing changes
    assert np.array_equal(model.immune.problem.e.x.array, before)
    model.radiotherapy(86400.0)
    target = np.asarray(model.rt_target) > 0
    assert target.any() and (~target).any()
    survival = model.immune.problem.e.x.array / np.where(before > 0, before, 1.0)
    alpha = case.physics.immune.radiosensitivity
    np.testing.assert_allclose(survival[target & (before > 0)], np.exp(-alpha * 2.0), rtol=1e-12)
    np.testing.assert_allclose(survival[~target & (before > 0)], 1.0, rtol=1e-12)
    assert model.immune.problem.balance.error < 1e-12


def test_comparison_columns_carry_the_immune_response_only_with_the_t_cell_field():
    from oncotwin.studies.outcome import immune_columns

    rows_with = [{"time_s": 0.0, "lesion_cells": 1.0, "pd1_occupancy": 0.0, "immune_tumour_ratio": 0.1},
                 {"time_s": 1.0, "lesion_cells": 0.5, "pd1_occupancy": 0.97, "immune_tumour_ratio": 0.3}]
    assert immune_columns(rows_with) == {"immune_response": "response", "pd1_occupancy_final": 0.97,
                                         "immune_tumour_ratio_final": 0.3}
    assert immune_columns([{"time_s": 0.0, "tumour_cells": 1.0}]) == {}


@pytest.mark.mpi
@pytest.mark.timeout(120)
def test_chemotherapy_kills_effectors_by_their_relative_sensitivity_of_de_pillis_2009(comm):
    import yaml

    from oncotwin.case.schema import Case
    from oncotwin.defaults.immune import TRANSPORT
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.tumour import TumourModel

    # de Pillis et al. 2009: both kills are K (1 - exp(-delta M)) X with one delta, K_T = 0.9, K_L = 0.0486 /day
    assert TRANSPORT["chemotherapy_sensitivity"] == pytest.approx(0.0486 / 0.9, rel=1e-12)
    data = yaml.safe_load(GROWING.replace("NAME", "chemo_lymphocytes").replace("IMMUNE", "immune: {enabled: true}")
                          .replace(" PROFILE", ""))
    case = Case.model_validate(data)
    model = TumourModel(case, mesh_in_memory(comm, case))
    effectors, sensitive = model.immune.problem.e.x.array.copy(), model.growth.sensitive.x.array.copy()
    exposure = np.linspace(0.0, 3.0, model.kill_exponent.size)  # the tumour cells' log kill at each node
    model.kill_exponent[:] = exposure
    model.apply_chemotherapy()
    assert not model.kill_exponent.any()
    ratio = case.physics.immune.chemotherapy_sensitivity
    seen = effectors > 0
    assert seen.any()
    np.testing.assert_allclose(model.immune.problem.e.x.array[seen] / effectors[seen], np.exp(-ratio * exposure[seen]),
                               rtol=1e-12)
    alive = sensitive > 0  # the resistant clone is not killed (survival 1)
    np.testing.assert_allclose(model.growth.sensitive.x.array[alive] / sensitive[alive], np.exp(-exposure[alive]),
                               rtol=1e-12)
    assert model.immune.problem.balance.error < 1e-12


def test_a_negative_chemotherapy_sensitivity_is_refused():
    from pydantic import ValidationError

    from oncotwin.case.immune import ImmunePhysics

    with pytest.raises(ValidationError):
        ImmunePhysics(chemotherapy_sensitivity=-0.1)
    assert ImmunePhysics(chemotherapy_sensitivity=0.0).chemotherapy_sensitivity == 0.0
