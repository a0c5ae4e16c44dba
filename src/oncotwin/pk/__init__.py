"""Plasma pharmacokinetics: drug library, covariates, dosing schedules and compartment models.

Entry points for the FEM driver (all in internal units: s, mm^3, mg, mg/mm^3):

* :func:`oncotwin.pk.plasma.plasma_curves` (library parameters, dose events, covariates) ->
  ``{drug: PlasmaCurve}``; ``PlasmaCurve.unbound_concentration(t)`` is the vascular source concentration,
  ``.drug`` holds the tissue-transport parameters (diffusivity, permeability, reflection coefficient,
  decay rate);
* :meth:`oncotwin.pk.plasma.PlasmaCurve.kink_times` and :func:`oncotwin.pk.schedule.kink_times` -> times
  where a step should end.
"""

from oncotwin.pk.compartments import CompartmentModel
from oncotwin.pk.covariates import (
    adjusted_clearance,
    bsa_dubois,
    bsa_mosteller,
    cockcroft_gault,
)
from oncotwin.pk.drugs import (
    LIBRARY,
    DrugParameters,
    UnknownDrugError,
    get_drug,
    known_drugs,
    library_table,
)
from oncotwin.pk.plasma import MG_PER_L_PER_INTERNAL, PlasmaCurve, adjusted_drug, plasma_curves
from oncotwin.pk.schedule import (
    DoseEvent,
    Schedule,
    ScheduleError,
    expand,
    kink_times,
    merge,
    parse_schedule,
)

__all__ = [
    "LIBRARY",
    "MG_PER_L_PER_INTERNAL",
    "CompartmentModel",
    "DoseEvent",
    "DrugParameters",
    "PlasmaCurve",
    "Schedule",
    "ScheduleError",
    "UnknownDrugError",
    "adjusted_clearance",
    "adjusted_drug",
    "bsa_dubois",
    "bsa_mosteller",
    "cockcroft_gault",
    "expand",
    "get_drug",
    "kink_times",
    "known_drugs",
    "library_table",
    "merge",
    "parse_schedule",
    "plasma_curves",
]
