"""Case-file section ``physics.immune``: the effector T-cell compartment (off by default).

Example::

    physics:
      immune:
        enabled: true
        diffusivity: "0.1 mm^2/day"     # effector random motility (default: modelling choice)
        death: "0.0412 1/day"           # effector death rate d (Kuznetsov et al. 1994)
        radiosensitivity: "0.677 1/Gy"  # effectors surviving a fraction of dose D: exp(-alpha D) (Nakamura 1993)
        chemotherapy_sensitivity: 0.054 # effector log survival / tumour-cell log survival (de Pillis 2009)

The effector recruitment, kill and PD-1/PD-L1 suppression come from the published kinetics
(:data:`oncotwin.defaults.immune.KUZNETSOV`) with the priors of ``treatment.patient.profile``. A checkpoint
inhibitor acts only through this compartment: giving one without it is an error.
"""

from __future__ import annotations

from pydantic import Field

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.quantity import Quantity
from oncotwin.core.units import to_internal
from oncotwin.defaults.immune import TRANSPORT
from oncotwin.pk.antibodies import antibody


class ImmunePhysics(StrictModel):
    """The effector T-cell compartment: transport parameters (internal units)."""

    enabled: bool = True
    diffusivity: Quantity("mm^2/s", example="0.1 mm^2/day", nonnegative=True) = to_internal(
        TRANSPORT["diffusivity"], "mm^2/s")
    death: Quantity("1/s", example="0.0412 1/day", nonnegative=True) = to_internal(TRANSPORT["death"], "1/s")
    radiosensitivity: Quantity("1/Gy", example="0.677 1/Gy", nonnegative=True) = to_internal(
        TRANSPORT["radiosensitivity"], "1/Gy")
    chemotherapy_sensitivity: float = Field(TRANSPORT["chemotherapy_sensitivity"], ge=0.0)


def check_blockade_has_immune_compartment(case) -> None:
    """Refuse a checkpoint inhibitor in ``treatment.drugs`` when ``physics.immune`` is not enabled, and the
    immune compartment without the growth model it acts on.

    Raises:
        FieldProblem: naming the administration of the first checkpoint inhibitor, or ``physics.immune``.
    """
    if case.physics.immune.enabled:
        if not case.physics.growth.enabled:
            raise FieldProblem("physics.immune.enabled", True, "the effectors kill the tumour cells of the growth "
                               "model; enable physics.growth as well (e.g. 'physics: {growth: {}}')")
        return
    for i, adm in enumerate(case.treatment.drugs):
        if antibody(adm.drug) is not None:
            raise FieldProblem(f"treatment.drugs.{i}.drug", adm.drug,
                               f"{adm.drug} is a checkpoint inhibitor: it acts through the immune compartment; "
                               "enable physics.immune (e.g. 'physics: {immune: {enabled: true}}')")
