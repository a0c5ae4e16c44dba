"""The treatment section: resolution of doses and covariates, and one-line errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from oncotwin.case.base import FieldProblem
from oncotwin.case.treatment import Treatment
from oncotwin.pk.drugs import known_drugs
from oncotwin.pk.plasma import plasma_curves
from oncotwin.pk.schedule import DAY, HOUR, kink_times

PATIENT = {"height": "170 cm", "weight": "70 kg", "age": 60, "sex": "female", "serum_creatinine": "0.9 mg/dL"}
DOX = {"drug": "doxorubicin", "dose": "60 mg/m^2", "duration": "30 min", "schedule": "day 1 every 21 days x 6"}


def make(drugs, patient=PATIENT):
    return Treatment.model_validate({"patient": patient, "drugs": drugs})


def curves_of(t: Treatment) -> dict:
    """The plasma curves of a treatment, as the drug-delivery model builds them."""
    return plasma_curves(t.library_parameters(), t.events(), crcl_ml_per_min=t.patient.crcl_ml_per_min,
                         hepatic_factor=t.patient.hepatic_factor)


def problem(drugs, patient=PATIENT) -> tuple[str, str]:
    """(key, message) of the first error, as the case loader reports it."""
    with pytest.raises(ValidationError) as info:
        make(drugs, patient)
    error = info.value.errors(include_url=False)[0]
    cause = (error.get("ctx") or {}).get("error")
    loc = ".".join(str(p) for p in error["loc"])
    if isinstance(cause, FieldProblem):
        return ".".join(filter(None, [loc, cause.key])), str(cause)
    return loc, error["msg"].removeprefix("Value error, ")


def test_default_treatment_is_empty():
    assert Treatment().drugs == [] and curves_of(Treatment()) == {}


def test_doses_covariates_and_events():
    t = make([DOX, {"drug": "temozolomide", "dose": "75 mg/m^2", "route": "oral", "schedule": "daily x 42"},
              {"drug": "trastuzumab", "dose": "8 mg/kg", "duration": "90 min"},
              {"drug": "trastuzumab", "dose": "6 mg/kg", "duration": "30 min", "start": "21 day", "every": "21 day",
               "count": 3},
              {"drug": "cisplatin", "dose": "100 mg", "duration": "1 h"}])
    assert t.patient.bsa_m2 == pytest.approx(1.818, abs=5e-4)
    assert t.patient.crcl_ml_per_min == pytest.approx((140 - 60) * 70 / (72 * 0.9) * 0.85)
    dox = t.events("doxorubicin")
    assert [e.time / DAY for e in dox] == [0, 21, 42, 63, 84, 105]
    assert dox[0].amount == pytest.approx(60 * 1.8181, rel=1e-4) and dox[0].duration == 0.5 * HOUR
    her = t.events("trastuzumab")
    assert [e.amount for e in her] == pytest.approx([560, 420, 420, 420])
    assert len(t.events("temozolomide")) == 42 and t.events("temozolomide")[0].route == "oral"
    curves = curves_of(t)
    assert set(curves) == {"doxorubicin", "temozolomide", "trastuzumab", "cisplatin"}
    # cisplatin (f_renal 0.5) clearance follows the patient's creatinine clearance, relative to the
    # source's typical patient (81 mL/min, Urien & Lokiec 2004; the reference was 100 mL/min for every drug)
    crcl = t.patient.crcl_ml_per_min
    assert curves["cisplatin"].drug.clearance == pytest.approx(35.5e6 / 3600 * (0.5 * crcl / 81 + 0.5))
    c = curves["doxorubicin"].concentration(np.linspace(0, 130 * DAY, 500))
    assert np.all(c >= 0) and c.max() > 0
    kinks = kink_times(t.events())
    assert 0.5 * HOUR in kinks and 21 * DAY + 0.5 * HOUR in kinks


def test_serum_creatinine_in_umol_per_l_and_dubois():
    t = make([DOX], dict(PATIENT, serum_creatinine="79.6 umol/L", bsa_formula="dubois"))
    assert t.patient.crcl_ml_per_min == pytest.approx((140 - 60) * 70 / (72 * 0.9) * 0.85, rel=1e-3)
    assert t.patient.bsa_m2 == pytest.approx(1.810, abs=1e-3)


def test_parameter_overrides_and_hepatic_factor():
    t = make([dict(DOX, parameters={"clearance": "40 L/h", "unbound_fraction": 0.3})],
             dict(PATIENT, hepatic_factor=0.5))
    drug = curves_of(t)["doxorubicin"].drug
    assert drug.unbound_fraction == 0.3
    crcl = t.patient.crcl_ml_per_min
    assert drug.clearance == pytest.approx(40e6 / 3600 * (0.1 * crcl / 100 + 0.9 * 0.5))


BAD = {
    "negative dose": ([dict(DOX, dose="-60 mg/m^2")], PATIENT, "drugs.0.dose", "must be > 0"),
    "dose without unit": ([dict(DOX, dose=60)], PATIENT, "drugs.0.dose", "a unit is required"),
    "dose wrong dimension": ([dict(DOX, dose="60 mL")], PATIENT, "drugs.0.dose", "expected a dose like"),
    "unknown drug": ([dict(DOX, drug="aspirin")], PATIENT, "drugs.0.drug",
                     "unknown drug 'aspirin'; known drugs: " + ", ".join(known_drugs())),
    "infusion longer than interval": ([dict(DOX, duration="23 day")], PATIENT, "drugs.0.duration",
                                      "infusion longer than the dosing interval"),
    "schedule in the past (grammar)": ([dict(DOX, schedule="day 0 every 21 days x 2")], PATIENT,
                                       "drugs.0.schedule", "schedule in the past"),
    "schedule in the past (start)": ([{"drug": "doxorubicin", "dose": "10 mg", "start": "-2 day"}], PATIENT,
                                     "drugs.0.start", "schedule in the past"),
    "bad grammar": ([dict(DOX, schedule="now and then")], PATIENT, "drugs.0.schedule", "expected e.g."),
    "both schedule forms": ([dict(DOX, every="21 day", count=2)], PATIENT, "drugs.0.schedule", "not both"),
    "every without count": ([{"drug": "doxorubicin", "dose": "10 mg", "every": "7 day"}], PATIENT,
                            "drugs.0.count", "needs 'count'"),
    "mg/m^2 without height": ([DOX], {"weight": "70 kg"}, "drugs.0.dose",
                              "needs patient.height and patient.weight"),
    "mg/kg without weight": ([dict(DOX, dose="1 mg/kg")], {"height": "170 cm"}, "drugs.0.dose",
                             "needs patient.weight"),
    "renal drug without creatinine": ([{"drug": "cisplatin", "dose": "100 mg", "duration": "1 h"}],
                                      {"age": 60, "sex": "male"}, "drugs.0.drug",
                                      "missing: serum_creatinine, weight"),
    "overlap": ([dict(DOX, schedule="day 1"), dict(DOX, schedule="day 1", duration="2 h")], PATIENT,
                "drugs.1.schedule", "overlapping administrations of doxorubicin"),
    "infusion during infusion": ([{"drug": "5-fluorouracil", "dose": "2400 mg/m^2", "duration": "46 h"},
                                  {"drug": "5-fluorouracil", "dose": "400 mg/m^2", "start": "1 day"}], PATIENT,
                                 "drugs.1.start", "still runs"),
    "infusion without duration": ([{"drug": "doxorubicin", "dose": "10 mg", "route": "infusion"}], PATIENT,
                                  "drugs.0.duration", "needs a duration"),
    "oral drug without ka": ([{"drug": "doxorubicin", "dose": "10 mg", "route": "oral"}], PATIENT,
                             "drugs.0.route", "no oral absorption rate"),
    "unknown parameter": ([dict(DOX, parameters={"half_life": "1 h"})], PATIENT, "drugs.0.parameters.half_life",
                          "unknown drug parameter"),
    "parameter wrong unit": ([dict(DOX, parameters={"clearance": "1 L"})], PATIENT,
                             "drugs.0.parameters.clearance", "dimension"),
    "different parameters per drug": ([dict(DOX, schedule="day 1"),
                                       dict(DOX, schedule="day 2", parameters={"clearance": "1 L/h"})], PATIENT,
                                      "drugs.1.parameters", "one drug has one parameter set"),
    "hepatic factor > 1": ([DOX], dict(PATIENT, hepatic_factor=2), "patient.hepatic_factor", "less than or equal"),
    "unknown key": ([dict(DOX, colour="red")], PATIENT, "drugs.0.colour", "Extra inputs"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gives_one_line_error(name):
    drugs, patient, key, message = BAD[name]
    got_key, got_message = problem(drugs, patient)
    assert got_key == key
    assert message in got_message
    assert "\n" not in got_message


def test_folfox_bolus_at_infusion_start_is_not_an_overlap():
    t = make([{"drug": "5-fluorouracil", "dose": "400 mg/m^2", "schedule": "day 1 every 14 days x 2"},
              {"drug": "5-fluorouracil", "dose": "2400 mg/m^2", "duration": "46 h",
               "schedule": "day 1 every 14 days x 2"}])
    assert len(t.events("5-fluorouracil")) == 4
