"""The effector T-cell field of a run, coupled to the tumour growth through a kill term.

Per growth step (operator splitting, after the growth step): the effectors move (extravasation scaled by
the vessel density, random motility, death: :class:`oncotwin.problems.immune.TCellProblem`), then react
with the tumour cells at the nodes (Kuznetsov et al. 1994: stimulated proliferation, inactivation, and
the kill, suppressed by PD-1/PD-L1 and lifted by the PD-1 occupancy of the checkpoint inhibitors); the
tumour cells the effectors kill become doomed cells of the growth problem (cleared by its kinetics). The
tumour's own growth stays in the growth problem. Radiotherapy kills effectors with the lymphocyte
radiosensitivity of ``physics.immune``; cytotoxic chemotherapy kills them with the log survival of the tumour
cells at the same node times ``chemotherapy_sensitivity`` (de Pillis et al. 2009: K_L / K_T).

Density form of the Kuznetsov kinetics (a modelling choice): the published whole-organ cell counts are
divided by the reference volume ``V = 1 / (b K)`` at which their carrying capacity ``1/b`` is the growth
problem's ``K`` cells/mm^3 (tumour density 1), so s/V, g/V, m V and n V act on densities. The relative
vessel density is a region's vessel surface density over the tumour value of Baxter & Jain 1989.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, PETSc, dolfinx
from oncotwin.core.units import to_internal
from oncotwin.defaults.tissue import FLUID_DEFAULTS
from oncotwin.kinetics.immune import ImmuneKinetics
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.immune import immune_kinetics, occupancy_curve
from oncotwin.physics.immune import TCellTransport
from oncotwin.pk.antibodies import antibody
from oncotwin.problems.growth import GrowthProblem
from oncotwin.problems.immune import TCellProblem
from oncotwin.problems.regions import dg0_space, region_field

REFERENCE_VESSELS = to_internal(FLUID_DEFAULTS["tumour"]["vessel_surface_density"], "1/mm")
"""1/mm: vessel surface density of relative vessel density 1 (tumour value of Baxter & Jain 1989)."""


def density_kinetics(kinetics: ImmuneKinetics, carrying_capacity: float) -> ImmuneKinetics:
    """The kinetics on densities [cells/mm^3] (module docstring): V = 1 / (b K) mm^3."""
    volume = 1.0 / (kinetics.inverse_capacity * carrying_capacity)
    return replace(kinetics, recruitment=kinetics.recruitment / volume,
                   stimulation_half=kinetics.stimulation_half / volume,
                   inactivation=kinetics.inactivation * volume, kill=kinetics.kill * volume,
                   inverse_capacity=1.0 / carrying_capacity)


def blockade_occupancy(case: Case) -> Callable[[float], float]:
    """PD-1 occupancy over time [s] from the plasma PK of the case's checkpoint inhibitors (the largest
    when there are several: they bind the same receptor); zero without one."""
    curves = []
    for name in case.treatment.drug_names():
        model = antibody(name)
        if model is not None:
            curves.append(occupancy_curve(model.for_weight(case.treatment.patient.weight_kg),
                                          case.treatment.events(name)))
    if not curves:
        return lambda _t: 0.0
    return lambda t: max(curve(t) for curve in curves)


class ImmuneField:
    """The T-cell field of a case on the growth problem's mesh, and its kill of the tumour cells.

    Args:
        case: the validated case (``physics.immune`` enabled).
        tmesh: the tagged mesh.
        growth: the growth problem whose viable cells the effectors kill.
    """

    def __init__(self, case: Case, tmesh: TaggedMesh, growth: GrowthProblem):
        immune = case.physics.immune
        profile = case.treatment.patient.profile
        priors = profile.priors()[0] if profile is not None else None
        self.growth, self.capacity = growth, growth.carrying_capacity
        self.kinetics = density_kinetics(immune_kinetics(priors), self.capacity)
        self.radiosensitivity = immune.radiosensitivity
        self.chemotherapy_sensitivity = immune.chemotherapy_sensitivity
        self.occupancy = blockade_occupancy(case)
        vessels = region_field(dg0_space(tmesh), tmesh, {
            tmesh.regions[n]: r.fluid.vessel_surface_density / REFERENCE_VESSELS
            for n, r in case.regions.items() if n in tmesh.regions}, "relative_vessel_density")
        recruitment = dolfinx.fem.Constant(tmesh.mesh, PETSc.ScalarType(self.kinetics.recruitment))
        self.problem = TCellProblem(tmesh.mesh, lambda V: TCellTransport(immune.diffusivity, immune.death,
                                                                         recruitment * vessels),
                                    petsc_options=case.solver.get("immune"))
        if self.problem.e.x.array.shape != growth.viable.x.array.shape:
            raise RuntimeError("immune: the effector and growth P1 layouts differ")
        self.problem.settle()
        self.substeps = 0

    def step(self, dt: float) -> dict[str, float]:
        """Transport over ``dt``, then the nodal interaction; the kill moves viable cells to doomed."""
        info = self.problem.step(dt)
        tumour = self.growth.viable.x.array * self.capacity
        before = tumour.copy()
        self.substeps = self.problem.react(tumour, self.kinetics, dt, self.occupancy)
        survival = np.divide(tumour, before, out=np.ones_like(before), where=before > 0)
        self.growth.apply_survival(survival, survival)
        return {"immune_iterations": info.iterations, "immune_substeps": self.substeps}

    def irradiate(self, dose: np.ndarray | float) -> None:
        """A radiotherapy fraction of nodal ``dose`` [Gy]: effectors survive exp(-alpha D)."""
        self.problem.scale(np.exp(-self.radiosensitivity * np.asarray(dose, dtype=float)))

    def expose(self, kill_exponent: np.ndarray) -> None:
        """Cytotoxic drugs over a step whose tumour cells survive exp(-kill_exponent) at the nodes: the
        effectors survive exp(-chemotherapy_sensitivity * kill_exponent)."""
        self.problem.scale(np.exp(-self.chemotherapy_sensitivity * np.asarray(kill_exponent, dtype=float)))

    def output_fields(self) -> list[dolfinx.fem.Function]:
        """The effector (T-cell) density map [cells/mm^3]."""
        return [self.problem.e]

    def metrics(self, t: float, tumour_cells: float) -> dict[str, float]:
        """Occupancy, effector counts (all, in the tumour), the immune/tumour ratio and the monitors."""
        growth, e = self.growth, self.problem.e.x.array
        n = growth.n_owned
        mask = growth.tumour_mask()[:n]
        inside = growth.comm.allreduce(float(np.dot(growth.mass[:n][mask], e[:n][mask])), op=MPI.SUM)
        doomed = growth.comm.allreduce(float(np.dot(growth.mass[:n], growth.doomed.x.array[:n])), op=MPI.SUM)
        return {"pd1_occupancy": float(self.occupancy(t)), "effector_cells": self.problem.total(),
                "effector_cells_in_tumour": inside,
                "immune_tumour_ratio": inside / tumour_cells if tumour_cells > 0 else 0.0,
                "lesion_cells": tumour_cells + doomed * self.capacity + inside,
                "effector_density_min": self.problem.minimum(),
                "effector_balance_error": self.problem.balance.error}

    def state(self) -> dict[str, np.ndarray]:
        return self.problem.state()

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.problem.restore(state)

