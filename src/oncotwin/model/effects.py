"""Treatment effects on the tumour cells from a case: chemotherapy kill rates, radiotherapy survival."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from oncotwin.case.schema import Case
from oncotwin.case.treatment import Radiotherapy
from oncotwin.core.fenics import dolfinx
from oncotwin.kinetics.response import DrugEffect, lq_survival, oxygen_modification
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.problems.regions import region_indicator


def drug_effects(case: Case, drugs: Collection[str]) -> dict[str, DrugEffect]:
    """Emax kill rates of the sensitive clone for the drugs of the case that are delivered (in ``drugs``)."""
    return {name: DrugEffect(e.max_kill_rate, e.ec50, e.hill)
            for name, e in case.physics.growth.drug_effect.items() if name in drugs}


def radiotherapy_target(tmesh: TaggedMesh, rt: Radiotherapy | None,
                        space: dolfinx.fem.FunctionSpace) -> np.ndarray | float:
    """Nodal indicator of the radiotherapy target on the P1 ``space`` (1 everywhere without target regions)."""
    if rt is None or not rt.target_regions:
        return 1.0
    chi = region_indicator(tmesh, rt.target_regions)
    f = dolfinx.fem.Function(space)
    f.interpolate(chi)  # DG0 -> P1 by evaluation at nodes: a node on the target's boundary counts
    return (f.x.array > 0.0).astype(float)


def fraction_survival(rt: Radiotherapy, target: np.ndarray | float, po2: np.ndarray | None) -> np.ndarray | float:
    """Surviving fraction of one fraction at the nodes: linear-quadratic, with the oxygen modification
    factor of the nodal ``po2`` [mmHg] (none when oxygen is not modelled), in the ``target`` only."""
    omf = 1.0 if po2 is None else oxygen_modification(po2, rt.oer_max, rt.oer_k)
    return lq_survival(rt.dose_per_fraction * target, rt.alpha, rt.beta, omf)
