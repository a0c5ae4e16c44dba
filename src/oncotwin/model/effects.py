"""Treatment effects on the tumour cells from a case: chemotherapy kill rates, radiotherapy survival."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from oncotwin.case.schema import Case
from oncotwin.case.treatment import Radiotherapy
from oncotwin.core.errors import InputDataError
from oncotwin.core.fenics import dolfinx
from oncotwin.core.parallel import check_all
from oncotwin.kinetics.response import DrugEffect, lq_survival, oxygen_modification
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.immune import temozolomide_effect
from oncotwin.problems.regions import region_indicator


def drug_effects(case: Case, drugs: Collection[str]) -> dict[str, DrugEffect]:
    """Emax kill rates of the sensitive clone for the drugs of the case that are delivered (in ``drugs``).

    With ``treatment.patient.profile`` the temozolomide kill is scaled by the profile's
    ``temozolomide_effect`` prior (MGMT status, :mod:`oncotwin.case.profile_rules`).
    """
    profile = case.treatment.patient.profile
    priors = profile.priors()[0] if profile is not None else None
    effects = {name: DrugEffect(e.max_kill_rate, e.ec50, e.hill)
               for name, e in case.physics.growth.drug_effect.items() if name in drugs}
    if "temozolomide" in effects:
        effects["temozolomide"] = temozolomide_effect(effects["temozolomide"], priors)
    return effects


def radiotherapy_target(tmesh: TaggedMesh, rt: Radiotherapy | None,
                        space: dolfinx.fem.FunctionSpace) -> np.ndarray | float:
    """Nodal dose of one fraction [Gy] on the P1 ``space``.

    Uniform (the default): ``dose_per_fraction`` times the nodal indicator of ``target_regions``
    (everywhere without target regions). With an RTDOSE file: the plan's dose per fraction
    (:meth:`~oncotwin.case.radiotherapy.Radiotherapy.dose_grid`) sampled trilinearly at the nodes in
    the grid's own affine, times the target indicator when ``target_regions`` are given; nodes outside the
    grid get 0 Gy, but every tumour node must be covered. 0 without radiotherapy.

    Raises:
        InputDataError: (on every rank) a tumour node lies outside the RTDOSE grid.
    """
    if rt is None:
        return 0.0
    target = 1.0
    if rt.target_regions:
        target = _nodal_indicator(tmesh, rt.target_regions, space)
    grid = rt.dose_grid()
    if grid is None:
        return rt.dose_per_fraction * target
    points = space.tabulate_dof_coordinates()
    dose = grid.sample(points)
    tumour = _nodal_indicator(tmesh, tmesh.tumour_regions, space) > 0.0
    outside = tumour & np.isnan(dose)
    check_all(tmesh.comm, not outside.any(), InputDataError(
        f"{grid.path}: key 'treatment.radiotherapy.dose': the RTDOSE grid does not cover the tumour "
        f"({tmesh.comm.allreduce(int(outside.sum()))} tumour nodes outside it)"))
    return np.nan_to_num(dose, nan=0.0) * target


def _nodal_indicator(tmesh: TaggedMesh, regions, space: dolfinx.fem.FunctionSpace) -> np.ndarray:
    f = dolfinx.fem.Function(space)
    f.interpolate(region_indicator(tmesh, list(regions)))  # DG0 -> P1 at nodes: boundary nodes count
    return (f.x.array > 0.0).astype(float)


def fraction_survival(rt: Radiotherapy, dose: np.ndarray | float, po2: np.ndarray | None) -> np.ndarray | float:
    """Surviving fraction of one fraction at the nodes: linear-quadratic in the nodal ``dose`` of the fraction
    [Gy] (:func:`radiotherapy_target`), with the oxygen modification factor of the nodal ``po2`` [mmHg] (none
    when oxygen is not modelled)."""
    omf = 1.0 if po2 is None else oxygen_modification(po2, rt.oer_max, rt.oer_k)
    return lq_survival(dose, rt.alpha, rt.beta, omf)
