"""Patient covariates: body surface area, creatinine clearance and the clearance adjustment.

The formulas use the clinical units they were published in (cm, kg, years, mg/dL, mL/min); the argument
names say so. Conversion from the internal units of a case file happens in
:class:`oncotwin.case.treatment.Patient`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

CRCL_REFERENCE_ML_PER_MIN = 100.0
"""Creatinine clearance of a typical adult with normal renal function (mL/min), the reference of
:func:`adjusted_clearance`. Population PK studies report their typical patient near 80-120 mL/min; 100 is a
round value inside that range."""

RENAL_THRESHOLD = 0.3
"""Drugs with ``fraction_renal >= RENAL_THRESHOLD`` need a creatinine clearance (given or computable);
below it a missing creatinine clearance is taken as :data:`CRCL_REFERENCE_ML_PER_MIN` (normal function)."""

CREATININE_G_PER_MOL = 113.12
"""Molar mass of creatinine, to read serum creatinine given in umol/L (88.4 umol/L = 1 mg/dL)."""


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Body surface area (m^2) by Mosteller (N Engl J Med 1987;317:1098): sqrt(height * weight / 3600).

    >>> round(bsa_mosteller(170, 70), 3)
    1.818
    """
    _require_positive(height_cm=height_cm, weight_kg=weight_kg)
    return math.sqrt(height_cm * weight_kg / 3600.0)


def bsa_dubois(height_cm: float, weight_kg: float) -> float:
    """Body surface area (m^2) by DuBois & DuBois (Arch Intern Med 1916): 0.007184 * W^0.425 * H^0.725.

    >>> round(bsa_dubois(170, 70), 3)
    1.81
    """
    _require_positive(height_cm=height_cm, weight_kg=weight_kg)
    return 0.007184 * weight_kg**0.425 * height_cm**0.725


BSA_FORMULAS = {"mosteller": bsa_mosteller, "dubois": bsa_dubois}


def cockcroft_gault(age_years: float, weight_kg: float, serum_creatinine_mg_per_dl: float, sex: str) -> float:
    """Creatinine clearance (mL/min) by Cockcroft & Gault (Nephron 1976;16:31).

    CrCl = (140 - age) * weight / (72 * SCr), times 0.85 for women; total body weight is used.

    >>> round(cockcroft_gault(60, 72, 1.0, "male"), 1)
    80.0
    """
    _require_positive(weight_kg=weight_kg, serum_creatinine_mg_per_dl=serum_creatinine_mg_per_dl)
    if sex not in ("female", "male"):
        raise ValueError(f"sex must be 'female' or 'male', got {sex!r}")
    if not 0 <= age_years < 140:
        raise ValueError(f"age must be in [0, 140) years for Cockcroft-Gault, got {age_years:g}")
    crcl = (140.0 - age_years) * weight_kg / (72.0 * serum_creatinine_mg_per_dl)
    return crcl * (0.85 if sex == "female" else 1.0)


def adjusted_clearance(
    clearance: float,
    fraction_renal: float,
    crcl_ml_per_min: float | None = None,
    hepatic_factor: float = 1.0,
    crcl_reference_ml_per_min: float = CRCL_REFERENCE_ML_PER_MIN,
) -> float:
    """Individual clearance from the population value, split into renal and non-renal parts.

    CL = CL_pop * (f_renal * CrCl / CrCl_ref + (1 - f_renal) * hepatic_factor), with CrCl_ref the typical
    patient of the source of CL_pop (default :data:`CRCL_REFERENCE_ML_PER_MIN`). The non-renal part is taken
    as hepatic, so ``hepatic_factor`` (0-1) scales it for hepatic impairment.

    Args:
        clearance: population clearance (any unit; the result has the same unit).
        fraction_renal: fraction of the population clearance that is renal, in [0, 1].
        crcl_ml_per_min: creatinine clearance; ``None`` means normal renal function (CrCl_ref).
        hepatic_factor: multiplier on hepatic clearance, 1 = normal.
        crcl_reference_ml_per_min: creatinine clearance of the source's typical patient.
    """
    if not 0 <= fraction_renal <= 1:
        raise ValueError(f"fraction_renal must be in [0, 1], got {fraction_renal:g}")
    if not 0 <= hepatic_factor <= 1:
        raise ValueError(f"hepatic_factor must be in [0, 1], got {hepatic_factor:g}")
    if not crcl_reference_ml_per_min > 0:
        raise ValueError(f"the reference creatinine clearance must be > 0, got {crcl_reference_ml_per_min:g}")
    crcl = crcl_reference_ml_per_min if crcl_ml_per_min is None else crcl_ml_per_min
    if crcl < 0:
        raise ValueError(f"creatinine clearance must be >= 0, got {crcl:g} mL/min")
    renal = fraction_renal * crcl / crcl_reference_ml_per_min
    return clearance * (renal + (1.0 - fraction_renal) * hepatic_factor)


def _require_positive(**values: float) -> None:
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class SizeScaling:
    """Body-size scaling of clearance in a source PK model: ``CL = CL_pop (X / X_ref)^exponent``.

    Attributes:
        covariate: ``"bsa"`` (m^2) or ``"weight"`` (kg), as the source model uses it.
        reference: the source's typical (centring) value of the covariate.
        exponent: the published exponent (0.75 for fixed allometry, 1 for a model written per m^2).
        source: citation with the table of the exponent.
    """

    covariate: Literal["bsa", "weight"]
    reference: float
    exponent: float
    source: str

    def factor(self, bsa_m2: float | None = None, weight_kg: float | None = None) -> float:
        """``(X / X_ref)^exponent`` for the patient's covariate; 1 when the patient does not give it."""
        value = bsa_m2 if self.covariate == "bsa" else weight_kg
        if value is None:
            return 1.0
        _require_positive(**{self.covariate: value})
        return (value / self.reference) ** self.exponent


def body_size_factor(scaling: SizeScaling | None, bsa_m2: float | None = None,
                     weight_kg: float | None = None) -> float:
    """The clearance multiplier of a drug's body-size model (1 without one: the source found no effect on
    clearance, or none is transcribed)."""
    return 1.0 if scaling is None else scaling.factor(bsa_m2, weight_kg)
