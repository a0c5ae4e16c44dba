"""Plasma concentration curves of a treatment's drugs: what the FEM transport model evaluates.

Inputs are plain PK values (library parameters, dose events, clearance covariates), so the case layer
only reads and validates the treatment and this module does the pharmacokinetics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from oncotwin.pk.compartments import CompartmentModel
from oncotwin.pk.covariates import adjusted_clearance, body_size_factor
from oncotwin.pk.drugs import DrugParameters
from oncotwin.pk.schedule import DoseEvent, kink_times

MG_PER_L_PER_INTERNAL = 1e6
"""mg/L per mg/mm^3 (1 L = 1e6 mm^3)."""


@dataclass(frozen=True)
class PlasmaCurve:
    """Plasma concentration of one drug over a treatment: what the FEM transport model evaluates.

    Attributes:
        drug: resolved (covariate-adjusted) parameters.
        events: the drug's dose events, sorted.
    """

    drug: DrugParameters
    events: tuple[DoseEvent, ...]
    model: CompartmentModel = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "model", self.drug.compartment_model())
        object.__setattr__(self, "events", tuple(sorted(self.events, key=lambda e: (e.time, e.duration))))

    def concentration(self, t: np.ndarray | float) -> np.ndarray:
        """Total plasma concentration, mg/mm^3 (internal)."""
        return self.model.concentration(t, self.events)

    def unbound_concentration(self, t: np.ndarray | float) -> np.ndarray:
        """Unbound plasma concentration (drives transvascular exchange), mg/mm^3."""
        return self.drug.unbound_fraction * self.concentration(t)

    def concentration_mg_per_l(self, t: np.ndarray | float) -> np.ndarray:
        """Total plasma concentration, mg/L (= ug/mL), for reports."""
        return MG_PER_L_PER_INTERNAL * self.concentration(t)

    def auc(self, t: np.ndarray | float) -> np.ndarray:
        """Cumulative AUC of the total plasma concentration from 0 to t, mg*s/mm^3."""
        return self.model.auc(t, self.events)

    def auc_mg_h_per_l(self, t: np.ndarray | float) -> np.ndarray:
        """Cumulative AUC, mg*h/L, for reports."""
        return self.auc(t) * MG_PER_L_PER_INTERNAL / 3600.0

    def kink_times(self, t_end: float | None = None) -> np.ndarray:
        """Dose starts and infusion ends (s), where a time stepper should end a step."""
        return kink_times(self.events, t_end=t_end)


def adjusted_drug(drug: DrugParameters, crcl_ml_per_min: float | None, hepatic_factor: float = 1.0,
                  bsa_m2: float | None = None, weight_kg: float | None = None) -> DrugParameters:
    """``drug`` with the covariate clearance adjustment of :func:`oncotwin.pk.covariates.adjusted_clearance`.

    Args:
        drug: library parameters (with any overrides).
        crcl_ml_per_min: the patient's creatinine clearance; ``None`` means normal renal function.
        hepatic_factor: multiplier on hepatic (non-renal) clearance, 1 = normal.
        bsa_m2: the patient's body surface area, for drugs whose source scales clearance with it.
        weight_kg: the patient's weight, for drugs whose source scales clearance allometrically.
    """
    clearance = adjusted_clearance(drug.clearance, drug.fraction_renal, crcl_ml_per_min, hepatic_factor,
                                   drug.reference_crcl_ml_per_min)
    size = body_size_factor(drug.clearance_size, bsa_m2, weight_kg)
    return drug.with_clearance(clearance * size)


def plasma_curves(drugs: Mapping[str, DrugParameters], events: Iterable[DoseEvent], *,
                  crcl_ml_per_min: float | None, hepatic_factor: float = 1.0,
                  bsa_m2: float | None = None, weight_kg: float | None = None) -> dict[str, PlasmaCurve]:
    """Plasma concentration curve of each drug of a treatment.

    Args:
        drugs: drug name -> library parameters (with any overrides), in the order of the result.
        events: dose events of all drugs; each curve takes those whose ``drug`` is its name.
        crcl_ml_per_min: the patient's creatinine clearance; ``None`` means normal renal function.
        hepatic_factor: multiplier on hepatic (non-renal) clearance, 1 = normal.
        bsa_m2, weight_kg: the patient's body size (clearance scaling where the drug's source has it).

    Returns:
        Drug name -> curve with the covariate-adjusted parameters.
    """
    events = list(events)
    return {name: PlasmaCurve(adjusted_drug(drug, crcl_ml_per_min, hepatic_factor, bsa_m2, weight_kg),
                              tuple(e for e in events if e.drug == name))
            for name, drug in drugs.items()}
