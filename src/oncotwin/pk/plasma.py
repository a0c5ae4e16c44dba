"""Plasma concentration curves of a treatment's drugs: what the FEM transport model evaluates.

Inputs are plain PK values (library parameters, dose events, clearance covariates), so the case layer
only reads and validates the treatment and this module does the pharmacokinetics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oncotwin.pk.compartments import CompartmentModel
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
