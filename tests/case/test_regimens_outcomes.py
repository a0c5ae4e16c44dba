"""Regimen-file objectives, constraints and outcome options: validation in one line each."""

import pytest

from oncotwin.case.objectives import DEFAULT_FOLLOW_UP_DAYS, Constraint, Objective, OutcomeOptions
from oncotwin.case.regimens import RegimenFile


def test_defaults():
    spec = RegimenFile.model_validate({"regimens": [{"name": "a"}]})
    assert spec.follow_up == DEFAULT_FOLLOW_UP_DAYS * 86400.0
    assert spec.objective.minimise == "final_tumour_volume" and spec.objective.maximise is None
    assert spec.outcomes.indication is None and spec.outcomes.neutropenia.patients == 500


def test_constraints_read_units_and_probabilities():
    c = Constraint.model_validate({"metric": "cumulative_dose", "drug": "doxorubicin", "max": "450 mg/m^2"})
    assert c.max == pytest.approx(450.0)
    assert Constraint.model_validate({"metric": "cumulative_dose", "drug": "doxorubicin"}).max is None
    p = Constraint.model_validate({"metric": "p_grade3_neutropenia", "drug": "docetaxel", "max": 0.2})
    assert p.describe() == "P(grade >= 3 neutropenia, docetaxel) <= 0.2"
    o = Objective.model_validate({"maximise": "median_os", "constraints": [
        {"metric": "ntcp", "region": "edema", "organ": "brain", "max": 0.05}]})
    assert o.describe() == "largest median overall survival subject to NTCP of edema (brain) <= 0.05"


@pytest.mark.parametrize(("model", "data", "message"), [
    (Constraint, {"metric": "p_grade3_neutropenia", "drug": "docetaxel", "max": 1.5}, "probability"),
    (Constraint, {"metric": "ntcp", "region": "host", "organ": "pancreas", "max": 0.1}, "organs with them"),
    (Constraint, {"metric": "ntcp", "organ": "brain", "max": 0.1}, "needs a 'region'"),
    (Constraint, {"metric": "normal_auc", "max": "10 mg*h/L"}, "needs a 'drug'"),
    (Objective, {"minimise": "final_tumour_volume", "maximise": "tcp"}, "not both"),
    (OutcomeOptions, {"indication": "pancreas"}, "known: breast, colorectal, glioblastoma, nsclc, ovarian"),
    (OutcomeOptions, {"ecog": 7}, "less than or equal to 4"),
    (RegimenFile, {"regimens": [{"name": "a"}], "follow_up": "-1 day"}, "must be >= 0"),
])
def test_bad_values_are_refused(model, data, message):
    with pytest.raises(ValueError, match=message):
        model.model_validate(data)
