"""TGI -> overall survival: Zecchin 2016 Weibull model, the registry and its notes."""

import math

import numpy as np
import pytest

from oncotwin.outcomes.survival import (
    BRUNO_2012,
    DAYS_PER_MONTH,
    ZECCHIN_2016,
    SurvivalNote,
    UnknownIndicationError,
    forecast_survival,
    sphere_diameter_mm,
    survival_model,
)


def volume_of(diameter_mm):
    return math.pi / 6 * diameter_mm**3


def test_reference_patient_median_os_from_table_2_within_5_percent():
    """Source's reference patient (SLD0 = 70 mm, stable size, ECOG 0, no new lesion): Table 2 parameters give
    median OS = (ln 2 / exp(0.189))^(1/1.99) / 0.036 months = 21.0 months; the integrated S(t) agrees."""
    expected = (math.log(2) / math.exp(0.189)) ** (1 / 1.99) / 0.036
    f = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0]), np.full(2, volume_of(70.0)))])
    assert f.summary()["median_os_months"] == pytest.approx(expected, rel=0.05)
    assert f.summary()["median_os_months"] == pytest.approx(21.01, abs=0.05)


def test_ecog_and_shrinkage_move_survival_as_the_hazard_ratios_say():
    stable = ZECCHIN_2016.median_constant_tsr(70.0, 0.0)
    ecog = ZECCHIN_2016.median_constant_tsr(70.0, 0.0, ecog=1)
    assert stable / ecog == pytest.approx(math.exp(0.518) ** (1 / 1.99))
    shrinking = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0]), np.array([volume_of(70), volume_of(35)]))])
    growing = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0]), np.array([volume_of(70), volume_of(90)]))])
    assert shrinking.median_os_days[0] > stable > growing.median_os_days[0]
    assert shrinking.probability_alive(365.25)[0] > growing.probability_alive(365.25)[0]


def test_tsr_is_held_after_week_12():
    early = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0]), np.array([volume_of(70), volume_of(35)]))])
    late = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0, 300.0]),
                                             np.array([volume_of(70), volume_of(35), volume_of(140)]))])
    np.testing.assert_allclose(early.survival, late.survival)


def test_ensemble_bands_contain_the_median_curve():
    members = [(np.array([0.0, 84.0]), np.array([volume_of(70), volume_of(d)])) for d in (30, 50, 70, 90)]
    f = forecast_survival(ZECCHIN_2016, members)
    assert np.all(f.lower <= f.survival + 1e-12) and np.all(f.survival <= f.upper + 1e-12)
    assert f.lower[400] < f.upper[400]
    assert f.summary()["n_trajectories"] == 4


def test_registry_notes_and_unknown_indications():
    assert survival_model("Ovarian") is ZECCHIN_2016
    note = survival_model("glioblastoma")
    assert isinstance(note, SurvivalNote) and "no survival number" in note.note
    with pytest.raises(UnknownIndicationError, match="unknown indication 'pancreas'.*known: breast, "
                       "colorectal, glioblastoma, nsclc, ovarian"):
        survival_model("pancreas")


def test_sphere_diameter():
    assert float(sphere_diameter_mm(volume_of(12.0))) == pytest.approx(12.0)
    assert DAYS_PER_MONTH == pytest.approx(365.25 / 12)


@pytest.mark.parametrize(("change", "published_months"), [(0.30, 11.8), (-0.30, 19.3)])
def test_bruno_2012_reference_patient_median_os_within_5_percent_of_the_published_values(change, published_months):
    """Bruno 2012 (Results): the reference patient (SLD0 75 mm, ECOG 0, > 1 metastatic site, study NO16853) has an
    expected median OS of 11.8 months at a week-6 change of +30 % and 19.3 months at -30 %; Table 1 parameters.
    The week-6 change is taken from a simulated trajectory (sphere diameters) and S(t) is integrated on a day grid."""
    d0 = 75.0
    trajectory = (np.array([0.0, 42.0, 120.0]), np.array([volume_of(d0), volume_of(d0 * (1 + change)), volume_of(d0)]))
    f = forecast_survival(BRUNO_2012, [trajectory], horizon_days=10 * 365.25)
    assert f.summary()["median_os_months"] == pytest.approx(published_months, rel=0.05)
    assert BRUNO_2012.median_months(d0, change) == pytest.approx(published_months, rel=0.05)
    assert survival_model("breast") is BRUNO_2012


def test_bruno_2012_log_normal_survival_and_ecog():
    s = BRUNO_2012.survival(np.array([1e-6, BRUNO_2012.median_months(75, 0.0) * DAYS_PER_MONTH]), 75.0,
                            lambda g: np.zeros_like(g))
    np.testing.assert_allclose(s, [1.0, 0.5], atol=1e-9)
    assert BRUNO_2012.median_months(75, 0.0, ecog=1) / BRUNO_2012.median_months(75, 0.0) == pytest.approx(
        math.exp(-0.352))
