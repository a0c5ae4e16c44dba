"""Resistance emergence: closed forms of Iwasa 2006 / Bozic 2013 against a seeded Gillespie simulation."""

import math

import numpy as np
import pytest

from oncotwin.outcomes.resistance import (
    ResistanceParameters,
    expected_resistant_cells,
    gillespie_emergence,
    p_emergence,
    p_resistant_at_detection,
)

SMALL = ResistanceParameters(birth=1.0, death=0.5, death_treated=1.5, mutation_rate=1e-3, n_mutations=1,
                             source="test scale (fast)")


@pytest.mark.parametrize("days", [1.0, 30.0])
def test_closed_form_within_3_standard_errors_of_gillespie(days):
    expected = float(p_emergence(200, days, SMALL))
    observed, se = gillespie_emergence(200, days, SMALL, runs=400, seed=11)
    assert abs(observed - expected) < 3 * se
    assert 0.1 < expected < 0.5  # the test can fail both ways


def test_closed_forms_of_bozic_2013_at_their_values():
    p = ResistanceParameters()  # b 0.14, d 0.13, d' 0.17, u 1e-9, n 50
    assert p.survival == pytest.approx(1 / 14)
    m = 1e9
    # monotherapy fails in detectable lesions: resistance is present and emerges almost surely
    assert p_resistant_at_detection(m, p) > 0.99
    assert float(p_emergence(m, 365.0, p)) > 0.99
    # small lesions: resistance is rare
    assert p_resistant_at_detection(1e5, p) < 0.1
    x = expected_resistant_cells(m, p)
    assert x == pytest.approx(m * 50e-9 * 14 * math.log(m / 14))


def test_emergence_grows_with_time_and_lesion_size():
    days = np.array([0.0, 10.0, 100.0, 1e4])
    p = ResistanceParameters()
    prob = p_emergence(1e6, days, p)
    assert np.all(np.diff(prob) > 0)
    assert float(prob[0]) == pytest.approx(-math.expm1(-1e6 * 50e-9))
    assert float(p_emergence(1e7, 10.0, p)) > float(p_emergence(1e6, 10.0, p))


def test_bad_rates_are_refused():
    with pytest.raises(ValueError, match="d < b < d'"):
        ResistanceParameters(birth=0.1, death=0.2)
