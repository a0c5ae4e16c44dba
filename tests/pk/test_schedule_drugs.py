"""Schedule grammar, dose events, kink times and the drug library."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.pk.drugs import LIBRARY, UnknownDrugError, get_drug, known_drugs
from oncotwin.pk.limits import cumulative_limit
from oncotwin.pk.schedule import (
    DAY,
    HOUR,
    MAX_DOSES,
    DoseEvent,
    ScheduleError,
    expand,
    first_overlap,
    kink_times,
    merge,
    parse_schedule,
)


@pytest.mark.parametrize("text, days", [
    ("day 1 every 21 days x 6", [0, 21, 42, 63, 84, 105]),
    ("Day 1 every 21 days × 6", [0, 21, 42, 63, 84, 105]),
    ("daily x 42", list(range(42))),
    ("weekly x 3", [0, 7, 14]),
    ("day 8", [7]),
    ("days 1-5 every 28 days x 2", [0, 1, 2, 3, 4, 28, 29, 30, 31, 32]),
    ("days 1,8,15 every 28 days x 2", [0, 7, 14, 28, 35, 42]),
    ("every 12 h x 3", [0, 0.5, 1.0]),
    ("days 1-2 every 7 days x 2 from day 15", [14, 15, 21, 22]),
    ("from day 3", [2]),
])
def test_schedule_grammar(text, days):
    np.testing.assert_allclose(parse_schedule(text).times(), np.array(days) * DAY)


@pytest.mark.parametrize("text, match", [
    ("day 0", "schedule in the past"),
    ("day -3 every 7 days x 2", "schedule in the past"),
    ("every 21 days", "no count"),
    ("day 1 every 21 fortnights x 2", "unknown interval unit"),
    ("twice a day", "expected e.g."),
    ("days 1-30 every 21 days x 2", "within the cycle"),
    ("days 15-19 every 7 days x 7", "from day S"),
    ("daily x 3 from day 0", "schedule in the past"),
])
def test_schedule_grammar_errors(text, match):
    with pytest.raises(ScheduleError, match=match):
        parse_schedule(text)


def test_events_merge_and_kinks():
    a = expand(parse_schedule("day 1 every 21 days x 6"), 100.0, 1 * HOUR, drug="doxorubicin")
    b = expand(parse_schedule("daily x 3"), 140.0, drug="temozolomide", route="oral")
    assert len(a) == 6 and a[-1].time == 105 * DAY and a[0].route == "infusion"
    events = merge(a, b)
    assert [e.time for e in events] == sorted(e.time for e in events)
    kinks = kink_times(events)
    assert kinks[0] == 0 and HOUR in kinks and 105 * DAY + HOUR in kinks
    assert np.all(np.diff(kinks) > 0)
    assert kink_times(events, t_end=DAY).max() == DAY


def test_overlap_detection():
    infusion = DoseEvent(0.0, 46 * HOUR, 2400.0, "5-fluorouracil", "infusion")
    bolus = DoseEvent(0.0, 0.0, 400.0, "5-fluorouracil")
    assert first_overlap([infusion, bolus]) is None  # FOLFOX: bolus at the start of the infusion
    late = DoseEvent(DAY, 0.0, 400.0, "5-fluorouracil")
    assert first_overlap([infusion, late]) == (infusion, late)
    other = DoseEvent(DAY, 0.0, 400.0, "cisplatin")
    assert first_overlap([infusion, other]) is None


def test_library_has_six_drugs_with_sources():
    assert len(LIBRARY) >= 6
    for name in ("doxorubicin", "cisplatin", "temozolomide", "5-fluorouracil", "paclitaxel", "trastuzumab"):
        drug = get_drug(name)
        assert drug.source and drug.molecular_weight > 0
        assert drug.clearance > 0 and drug.central_volume > 0
        assert 0 <= drug.unbound_fraction <= 1 and 0 <= drug.reflection_coefficient <= 1
        assert drug.diffusivity > 0 and drug.permeability > 0 and drug.ic50 > 0
    assert get_drug("doxorubicin").n_compartments == 3
    assert get_drug("cisplatin").n_compartments == 2
    assert get_drug("5-fluorouracil").n_compartments == 1


def test_library_units_are_internal():
    dox = get_drug("doxorubicin")
    assert dox.clearance == pytest.approx(62.4e6 / 3600)  # mm^3/s
    assert dox.central_volume == pytest.approx(17.7e6)  # mm^3
    assert dox.diffusivity == pytest.approx(3.4e-4)  # mm^2/s
    assert dox.permeability == pytest.approx(3e-3)  # mm/s
    assert dox.ic50 == pytest.approx(0.1e-6 * 543.52 * 1e-3)  # mol/L * g/mol = g/L -> mg/mm^3


def test_get_drug_overrides_and_errors():
    drug = get_drug("Doxorubicin", {"clearance": "40 L/h", "unbound_fraction": 0.3, "ic50": "0.05 mg/L"})
    assert drug.clearance == pytest.approx(40e6 / 3600)
    assert drug.unbound_fraction == 0.3 and drug.ic50 == pytest.approx(0.05e-6)
    with pytest.raises(UnknownDrugError, match="known drugs: " + ", ".join(known_drugs())):
        get_drug("aspirin")
    with pytest.raises(ValueError, match="unknown drug parameter 'half_life'"):
        get_drug("cisplatin", {"half_life": "1 h"})
    with pytest.raises(ValueError, match="'clearance'.*dimension"):
        get_drug("cisplatin", {"clearance": "3 L"})
    with pytest.raises(ValueError, match="between 0 and 1"):
        get_drug("cisplatin", {"unbound_fraction": 1.5})
    with pytest.raises(ValueError, match="q3 and v3 must be given together"):
        get_drug("cisplatin", {"q3": "1 L/h"})
    assert get_drug("cisplatin", {"q3": "1 L/h", "v3": "5 L"}).n_compartments == 3


def test_schedule_bounds_the_number_of_doses():
    assert len(parse_schedule(f"daily x {MAX_DOSES}").times()) == MAX_DOSES
    for text in (f"daily x {MAX_DOSES + 1}", "daily x 99999999999999999999", "days 1-3 every 7 days x 4000",
                 "days 1-20000"):
        with pytest.raises(ScheduleError, match="at most|more than"):
            parse_schedule(text)


def test_schedule_rejects_repeated_days():
    with pytest.raises(ScheduleError, match="more than once"):
        parse_schedule("days 1,1,1")
    assert len(parse_schedule("days 1,8,15").times()) == 3


def test_cumulative_dose_limits_carry_their_source():
    limit = cumulative_limit("Doxorubicin")
    assert limit.mg_per_m2 == 550.0 and limit.range_mg_per_m2 == (450.0, 550.0)
    assert "Von Hoff" in limit.source
    assert cumulative_limit("temozolomide") is None
