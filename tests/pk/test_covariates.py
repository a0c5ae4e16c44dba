"""BSA, Cockcroft-Gault and the clearance adjustment."""

from __future__ import annotations

import pytest

from oncotwin.pk.covariates import (
    CRCL_REFERENCE_ML_PER_MIN,
    adjusted_clearance,
    bsa_dubois,
    bsa_mosteller,
    cockcroft_gault,
)


def test_bsa_known_values():
    assert bsa_mosteller(170, 70) == pytest.approx(1.818, abs=5e-4)
    assert bsa_mosteller(180, 80) == pytest.approx(2.0, abs=1e-12)
    assert bsa_dubois(170, 70) == pytest.approx(1.810, abs=1e-3)
    with pytest.raises(ValueError, match="height_cm"):
        bsa_mosteller(-1, 70)


def test_cockcroft_gault_example():
    # (140 - 60) * 72 / (72 * 1.0) = 80 mL/min; women x 0.85
    assert cockcroft_gault(60, 72, 1.0, "male") == pytest.approx(80.0)
    assert cockcroft_gault(60, 72, 1.0, "female") == pytest.approx(68.0)
    assert cockcroft_gault(40, 70, 1.4, "male") == pytest.approx(100 * 70 / (72 * 1.4))


def test_clearance_adjustment():
    assert adjusted_clearance(10.0, 0.5) == pytest.approx(10.0)
    assert adjusted_clearance(10.0, 0.5, CRCL_REFERENCE_ML_PER_MIN / 2) == pytest.approx(7.5)
    assert adjusted_clearance(10.0, 0.0, 10.0, hepatic_factor=0.5) == pytest.approx(5.0)
    assert adjusted_clearance(10.0, 1.0, 50.0, hepatic_factor=0.0) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="hepatic_factor"):
        adjusted_clearance(10.0, 0.5, hepatic_factor=1.5)
