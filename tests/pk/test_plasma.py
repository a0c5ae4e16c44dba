"""Plasma curves from plain PK inputs: library parameters, dose events and clearance covariates."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.pk.covariates import adjusted_clearance, body_size_factor
from oncotwin.pk.drugs import get_drug, penetration
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
    assert body_size_factor(2.0, 1.62, 0.0) == 1.0  # no transcribed body-size effect: no scaling
    assert body_size_factor(1.62 * 1.21, 1.62, 0.5) == pytest.approx(1.1)
    assert body_size_factor(None, 1.62, 1.0) == 1.0
    cisplatin = get_drug("cisplatin")
    assert adjusted_drug(cisplatin, 81.0, bsa_m2=2.2).clearance == pytest.approx(cisplatin.clearance)


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
