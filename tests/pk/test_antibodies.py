"""Checkpoint-inhibitor PK: published exposures at the label doses, the ODE against the closed form,
PD-1 occupancy, label dose bases and the one-line error for a dose per body surface."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import numpy as np
import pytest

from oncotwin.pk.antibodies import ANTIBODIES, MG_PER_L, label_basis_problem, steady_state
from oncotwin.pk.drugs import get_drug
from oncotwin.pk.schedule import DAY, DoseEvent, expand, parse_schedule
from tests.conftest import run_cli

PEMBRO = ANTIBODIES["pembrolizumab"]
NIVO = ANTIBODIES["nivolumab"]


def test_pembrolizumab_200mg_q3w_exposure_matches_freshwater_2017():
    # Freshwater T et al., J Immunother Cancer 2017;5:43 (the Ahamadi 2017 model), Results: mean AUCss,6-weeks
    # 1.87 mg*day/mL at 200 mg Q3W (n = 830) and 1.38 mg*day/mL at 2 mg/kg Q3W (n = 760).
    flat = steady_state(PEMBRO, 200.0, 21 * DAY)
    assert 2 * flat.auc_interval_mg_day_per_l / 1000 == pytest.approx(1.87, rel=0.15)
    per_kg = steady_state(PEMBRO.for_weight(76.8), 2 * 76.8, 21 * DAY)
    assert 2 * per_kg.auc_interval_mg_day_per_l / 1000 == pytest.approx(1.38, rel=0.15)


def test_pembrolizumab_200mg_q3w_trough_and_occupancy():
    # Linear PK: AUC over the interval at steady state is dose / CL exactly (909 mg*day/L); the trough of the
    # typical patient is about 29.5 ug/mL, where PD-1 is about 98 % occupied (EC50 0.535 ug/mL).
    flat = steady_state(PEMBRO, 200.0, 21 * DAY)
    assert flat.auc_interval_mg_day_per_l == pytest.approx(200 / 0.22, rel=1e-6)
    assert 23.0 <= flat.trough_mg_per_l <= 30.0
    assert flat.trough_occupancy == pytest.approx(flat.trough_mg_per_l / (flat.trough_mg_per_l + 0.535), rel=1e-9)


def test_weight_allometry_follows_ahamadi_exponents():
    heavy = PEMBRO.for_weight(2 * 76.8)
    assert heavy.clearance / PEMBRO.clearance == pytest.approx(2**0.595)
    assert heavy.central_volume / PEMBRO.central_volume == pytest.approx(2**0.489)


def test_time_varying_clearance_ode_equals_closed_form_when_stationary():
    events = expand(parse_schedule("day 1 every 14 days x 6"), 240.0, 1800.0, drug="nivolumab")
    t = np.linspace(0, 90 * DAY, 57)
    stationary = replace(NIVO, clearance_emax=-1e-300)  # a negligible change forces the ODE path
    ode = stationary.concentration(t, events)
    closed = NIVO.stationary().concentration(t, events)
    assert np.max(np.abs(ode - closed)) <= 1e-8 * np.max(closed)


def test_nivolumab_clearance_falls_by_bajaj_emax_at_plateau():
    assert NIVO.clearance_at(20 * 1410 * 3600.0) / NIVO.clearance == pytest.approx(np.exp(-0.295), rel=1e-3)
    assert NIVO.clearance_at(1410 * 3600.0) / NIVO.clearance == pytest.approx(np.exp(-0.295 / 2), rel=1e-12)
    late = steady_state(NIVO, 240.0, 14 * DAY, n_doses=60)
    # at the plateau the interval AUC is dose / CL_plateau
    cl_plateau_l_per_day = NIVO.clearance * np.exp(-0.295) * 86400 / 1e6
    assert late.auc_interval_mg_day_per_l == pytest.approx(240 / cl_plateau_l_per_day, rel=2e-3)


def test_occupancy_is_a_binding_isotherm():
    ec50 = PEMBRO.occupancy_ec50
    assert PEMBRO.occupancy(0.0) == 0.0
    assert PEMBRO.occupancy(ec50) == pytest.approx(0.5)
    assert PEMBRO.occupancy(9 * ec50) == pytest.approx(0.9)
    assert ec50 * MG_PER_L == pytest.approx(0.535)


def test_antibodies_are_library_drugs_with_the_source_clearance():
    drug = get_drug("pembrolizumab")
    assert drug.clearance == pytest.approx(PEMBRO.clearance)
    assert drug.n_compartments == 2 and drug.fraction_renal == 0.0


def test_label_bases():
    assert label_basis_problem("pembrolizumab", "flat") is None
    assert label_basis_problem("pembrolizumab", "weight") is None
    assert "not a label dose" in label_basis_problem("pembrolizumab", "bsa")
    assert label_basis_problem("doxorubicin", "bsa") is None


def test_dose_event_amounts_for_flat_and_per_kg():
    single = [DoseEvent(0.0, 1800.0, 200.0, "pembrolizumab", "infusion")]
    c = PEMBRO.concentration(np.array([1800.0]), single)[0] * MG_PER_L
    assert 40 < c < 200 / 3.48  # below the dose over V1 (distribution during the infusion)


CASE = textwrap.dedent("""\
    name: antibody
    geometry: {kind: sphere, tumour_radius: "5 mm", host_radius: "20 mm"}
    regions: {tumour: {kind: tumour}, host: {kind: normal}}
    physics: {immune: {enabled: true}, growth: {}}
    time: {end: "1 day"}
    treatment:
      patient: {weight: "70 kg", height: "170 cm"}
      drugs: [{drug: pembrolizumab, dose: "%s", duration: "30 min", schedule: "day 1 every 21 days x 4"}]
    """)


@pytest.mark.timeout(60)
def test_pembrolizumab_per_body_surface_is_one_line_error(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(CASE % "150 mg/m^2")
    result = run_cli("validate", str(path), cwd=tmp_path, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    for needle in ("case.yaml", "treatment.drugs.0.dose", "150 mg/m^2", "flat", "per body weight"):
        assert needle in lines[0], lines[0]
    path.write_text(CASE % "2 mg/kg")
    assert run_cli("validate", str(path), cwd=tmp_path, timeout=60).returncode == 0
