"""Plasma curves from plain PK inputs: library parameters, dose events and clearance covariates."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.pk.covariates import SizeScaling, adjusted_clearance, body_size_factor, bsa_mosteller
from oncotwin.pk.drugs import get_drug, library_table, penetration
from oncotwin.pk.plasma import PlasmaCurve, adjusted_drug, plasma_curves
from oncotwin.pk.schedule import DAY, HOUR, DoseEvent, expand, merge, parse_schedule


def test_adjusted_drug_applies_the_covariate_clearance_model():
    cisplatin = get_drug("cisplatin")
    adjusted = adjusted_drug(cisplatin, 50.0, 0.8)
    # the reference is the source's typical patient (Urien & Lokiec 2004: CrCl 81 mL/min), not 100 mL/min
    assert cisplatin.reference_crcl_ml_per_min == 81.0
    assert adjusted.clearance == adjusted_clearance(cisplatin.clearance, 0.5, 50.0, 0.8, 81.0)
    assert adjusted.central_volume == cisplatin.central_volume and adjusted.name == "cisplatin"
    assert adjusted_drug(cisplatin, None).clearance == pytest.approx(cisplatin.clearance)  # normal function
    # the source's typical patient gets the published clearance exactly (was -10 % with a 100 mL/min reference)
    assert adjusted_drug(cisplatin, 81.0).clearance == pytest.approx(cisplatin.clearance)


def test_body_size_scaling_only_where_the_source_has_it():
    bsa = SizeScaling("bsa", 1.62, 0.5, "test")
    assert body_size_factor(None, 2.0, 90.0) == 1.0  # no transcribed body-size effect: no scaling
    assert body_size_factor(bsa, 1.62 * 1.21) == pytest.approx(1.1)
    assert body_size_factor(bsa, None, 90.0) == 1.0  # the patient gives no BSA: the typical patient
    weight = SizeScaling("weight", 70.0, 0.75, "test")
    assert body_size_factor(weight, 2.0, 70.0 * 16) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="weight must be a positive number"):
        weight.factor(weight_kg=-3.0)
    for name in ("doxorubicin", "temozolomide", "5-fluorouracil", "paclitaxel", "docetaxel", "trastuzumab"):
        drug = get_drug(name)
        assert drug.clearance_size is None
        assert adjusted_drug(drug, None, bsa_m2=2.4, weight_kg=120.0).clearance == pytest.approx(
            adjusted_drug(drug, None).clearance, rel=1e-15)


def test_a_heavier_patient_s_cisplatin_clearance_scales_by_bsa_ratio_to_the_published_power():
    """Urien & Lokiec 2004, Table 4: CL = 35.5 L/h (BSA / 1.62 m^2)^0.83 at CrCl 81 mL/min."""
    cisplatin = get_drug("cisplatin")
    assert (cisplatin.clearance_size.covariate, cisplatin.clearance_size.reference,
            cisplatin.clearance_size.exponent) == ("bsa", 1.62, 0.83)
    assert "Urien" in cisplatin.clearance_size.source
    typical = adjusted_drug(cisplatin, 81.0, bsa_m2=1.62).clearance
    assert typical == pytest.approx(cisplatin.clearance, rel=1e-15)
    assert typical * 3600 / 1e6 == pytest.approx(35.5)
    light, heavy = bsa_mosteller(170, 60), bsa_mosteller(170, 100)
    ratio = (adjusted_drug(cisplatin, 81.0, bsa_m2=heavy).clearance
             / adjusted_drug(cisplatin, 81.0, bsa_m2=light).clearance)
    assert ratio == pytest.approx((heavy / light) ** 0.83, rel=1e-14)
    assert ratio == pytest.approx((100 / 60) ** (0.83 / 2), rel=1e-14)  # Mosteller: BSA ~ sqrt(weight)
    rows = {row["drug"]: row["clearance_body_size"] for row in library_table()}
    assert rows["cisplatin"].startswith("(bsa / 1.62 m^2)^0.83 (Urien") and rows["docetaxel"] == "none"
    t = np.linspace(0.0, DAY, 200)
    events = (DoseEvent(0.0, HOUR, 75.0 * heavy, "cisplatin", "infusion"),)
    heavy_curve = plasma_curves({"cisplatin": cisplatin}, events, crcl_ml_per_min=81.0, bsa_m2=heavy)["cisplatin"]
    unscaled = PlasmaCurve(cisplatin, events)
    assert heavy_curve.auc(DAY) < unscaled.auc(DAY)  # a per-m^2 dose and a BSA-scaled clearance
    assert heavy_curve.auc(t[-1]) == pytest.approx(unscaled.auc(t[-1]) * (1.62 / heavy) ** 0.83, rel=2e-3)


def test_temozolomide_brain_penetration_carries_its_source():
    ratio, source = penetration(get_drug("temozolomide"), "Brain")
    assert ratio == 0.18 and "Portnow" in source
    assert penetration(get_drug("cisplatin"), "brain") is None


def test_plasma_curves_split_events_by_drug_in_the_given_order():
    dox = expand(parse_schedule("day 1 every 21 days x 3"), 100.0, 0.5 * HOUR, drug="doxorubicin",
                 route="infusion")
    cis = [DoseEvent(DAY, HOUR, 120.0, "cisplatin", "infusion")]
    drugs = {"doxorubicin": get_drug("doxorubicin"), "cisplatin": get_drug("cisplatin")}
    curves = plasma_curves(drugs, merge(dox, cis), crcl_ml_per_min=70.0, hepatic_factor=0.9)
    assert list(curves) == ["doxorubicin", "cisplatin"]
    assert curves["doxorubicin"].events == tuple(dox) and curves["cisplatin"].events == tuple(cis)
    expected = PlasmaCurve(adjusted_drug(drugs["cisplatin"], 70.0, 0.9), tuple(cis))
    t = np.linspace(0.0, 3 * DAY, 50)
    np.testing.assert_array_equal(curves["cisplatin"].concentration(t), expected.concentration(t))
    assert plasma_curves({}, dox, crcl_ml_per_min=None) == {}


def test_a_drug_without_events_has_a_zero_curve():
    curves = plasma_curves({"paclitaxel": get_drug("paclitaxel")}, [], crcl_ml_per_min=None)
    assert curves["paclitaxel"].events == ()
    assert not np.any(curves["paclitaxel"].concentration(np.array([0.0, DAY])))
