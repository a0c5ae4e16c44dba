"""Which drugs of a case get a tissue transport problem (read by the model and by regimen validation)."""

from __future__ import annotations

from oncotwin.case.schema import Case
from oncotwin.pk.antibodies import antibody


def needs_transport(case: Case, name: str) -> bool:
    """Whether drug ``name`` of the case gets a tissue transport problem.

    Every drug does except a checkpoint inhibitor whose only effect is its PD-1 occupancy. The occupancy
    is a function of the plasma concentration (:func:`oncotwin.model.immune_field.blockade_occupancy`):
    the population PK of Ahamadi et al. 2017 (pembrolizumab) and Zhang et al. 2019 (nivolumab) are plasma
    models, and the occupancy EC50 of Elassaiss-Schaap et al. 2017 is an ex vivo blood assay, so a tissue
    concentration would be computed and never read. An IgG's cell Peclet number is above 1 on patient
    meshes (SUPG on), and each new step size after a dose reassembles the stabilised matrix (16 s per
    assembly on the 246,825 cells of LUNG1-001): that cost buys nothing. The antibody is transported when
    the case reads its tissue concentration (an entry in ``physics.growth.drug_effect``) or asks for its
    exposure maps (``physics.drug.antibody_transport: true``).
    """
    if antibody(name) is None:
        return True
    return case.physics.drug.antibody_transport or name in case.physics.growth.drug_effect
