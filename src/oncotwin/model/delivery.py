"""Drug delivery for a case: one tissue transport problem per drug, fed by its plasma PK curve.

Couples the treatment (dose events -> plasma curves, :mod:`oncotwin.pk`) with the steady fluid solution
(filtration, convection, lymphatic drainage) and the region parameters of the case.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncotwin.case.schema import Case
from oncotwin.case.transport import needs_transport
from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.core.log import get_logger
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.tissues import drug_tissues
from oncotwin.pk.antibodies import antibody
from oncotwin.pk.plasma import PlasmaCurve, plasma_curves
from oncotwin.problems.drug import DrugProblem
from oncotwin.problems.fluid import FluidProblem
from oncotwin.problems.regions import (
    Integrals,
    dg0_space,
    measures,
    region_field,
    region_ids,
    region_max,
)

MG_PER_L = 1e6  # 1 mg/mm^3 = 1e6 mg/L
log = get_logger("drug")


def _scalar(value) -> float:
    return float(np.asarray(value, dtype=float).reshape(-1)[0])


class DrugDelivery:
    """One drug: its plasma curve, its tissue transport problem and its outputs (mg/L, mg h/L).

    Args:
        name: drug name.
        curve: plasma concentration over the treatment.
        problem: the tissue transport problem.
        tmesh: the tagged mesh.
        vascular_scale: DG0 multiplier of the vessel surface density (vascular normalisation), shared
            with the fluid problem when there is one.
        vessel_surface: DG0 vessel surface density S/V [1/mm] (shared by all drugs).
    """

    def __init__(self, name: str, curve: PlasmaCurve, problem: DrugProblem, tmesh: TaggedMesh,
                 vascular_scale: dolfinx.fem.Function | None = None,
                 vessel_surface: dolfinx.fem.Function | None = None):
        self.name, self.curve, self.problem, self.tmesh = name, curve, problem, tmesh
        self.vascular_scale, self.vessel_surface = vascular_scale, vessel_surface
        V = problem.V
        self._outputs = {
            "c": dolfinx.fem.Function(V, name=f"{name}_mg_per_L"),
            "auc": dolfinx.fem.Function(V, name=f"{name}_auc_mg_h_per_L"),
            "cmax": dolfinx.fem.Function(V, name=f"{name}_cmax_mg_per_L"),
        }
        self.dx, _, _ = measures(tmesh)
        self.tumour = region_ids(tmesh, tmesh.tumour_regions)
        self.normal = region_ids(tmesh, [r for r in tmesh.regions if r not in tmesh.tumour_regions])
        self._integrals = integral = Integrals(tmesh.comm)
        self.volumes = {label: integral(f"{label}_volume", lambda: 1.0 * self.dx(tags)) if tags else 0.0
                        for label, tags in (("tumour", self.tumour), ("normal", self.normal))}
        self.balance_error_max = 0.0
        self.min_concentration_mg_per_l = 0.0

    @property
    def operators(self) -> int:
        """Number of distinct step sizes (assembled operators) used so far."""
        return self.problem.operator_count

    def output_fields(self) -> list[dolfinx.fem.Function]:
        """Concentration, AUC and Cmax fields (updated by :meth:`metrics`)."""
        return list(self._outputs.values())

    def event_times(self, t_end: float) -> np.ndarray:
        """Dose starts and infusion ends within the horizon."""
        return self.curve.kink_times(t_end)

    def follow_tumour(self, region: str, surface_density: float):
        """Transport coefficients (and the vessel surface density) that follow the invading tumour."""
        blend = self.problem.follow_tumour(region)
        if self.vessel_surface is not None:
            blend.add(self.vessel_surface, surface_density)
        return blend

    def step(self, dt: float):
        """Advance the tissue concentration by ``dt``; returns the solver's SolveInfo."""
        info = self.problem.step(dt)
        self.balance_error_max = max(self.balance_error_max, self.problem.balance.error)
        return info

    def state(self) -> dict[str, np.ndarray]:
        """Local arrays and bookkeeping of the transport state (for checkpoints)."""
        p = self.problem
        b = p.balance
        return {"c": p.c.x.array.copy(), "cmax": p.cmax.x.array.copy(), "auc": p.auc.x.array.copy(),
                "scalars": np.array([p.t, b.initial, b.content, b.gained, b.lost, self.balance_error_max,
                                     self.min_concentration_mg_per_l])}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Set the transport state from :meth:`state` of the same mesh partition."""
        p = self.problem
        p.c.x.array[:], p.cmax.x.array[:], p.auc.x.array[:] = state["c"], state["cmax"], state["auc"]
        (p.t, p.balance.initial, p.balance.content, p.balance.gained, p.balance.lost, self.balance_error_max,
         self.min_concentration_mg_per_l) = (float(v) for v in state["scalars"])

    def metrics(self) -> dict[str, float]:
        """Plasma and tissue exposure metrics at the current time; refreshes the output fields."""
        p, comm, n, integral = self.problem, self.tmesh.comm, self.name, self._integrals
        self._outputs["c"].x.array[:] = MG_PER_L * p.c.x.array
        self._outputs["auc"].x.array[:] = MG_PER_L / 3600.0 * p.auc.x.array
        self._outputs["cmax"].x.array[:] = MG_PER_L * p.cmax.x.array
        self.min_concentration_mg_per_l = min(self.min_concentration_mg_per_l, MG_PER_L * p.minimum())
        out = plasma_metrics(n, self.curve, p.t)
        for label, tags in (("tumour", self.tumour), ("normal", self.normal)):
            if not tags:
                continue
            volume = self.volumes[label]
            c, auc = self._outputs["c"], self._outputs["auc"]
            out[f"{n}_{label}_mean_mg_per_L"] = integral(f"{label}_c", lambda: c * self.dx(tags)) / volume
            out[f"{n}_{label}_max_mg_per_L"] = region_max(comm, c, self.tmesh, tags)
            out[f"{n}_{label}_auc_mean_mg_h_per_L"] = integral(f"{label}_auc", lambda: auc * self.dx(tags)) / volume
            out[f"{n}_{label}_cmax_max_mg_per_L"] = region_max(comm, self._outputs["cmax"], self.tmesh, tags)
        normal_auc = out.get(f"{n}_normal_auc_mean_mg_h_per_L", 0.0)
        if self.tumour and self.normal:
            tumour_auc = out[f"{n}_tumour_auc_mean_mg_h_per_L"]
            out[f"{n}_auc_ratio_tumour_to_normal"] = tumour_auc / normal_auc if normal_auc > 0 else float("nan")
        out[f"{n}_mass_balance_error"] = p.balance.error
        out[f"{n}_min_mg_per_L"] = MG_PER_L * p.minimum()
        return out


@dataclass(frozen=True)
class VesselCoupling:
    """What the drugs take from the steady flow (or its absence): coefficients shared by every drug.

    Attributes:
        velocity: interstitial velocity [mm/s].
        filtration: fluid filtration J_f [1/s].
        lymphatic_rate: lymphatic drainage rate [1/s].
        vascular_scale: DG0 multiplier of the vessels (vascular normalisation), the fluid problem's own when
            there is one: one normalisation state for fluid and drugs.
        surface_density: DG0 vessel surface density S/V [1/mm].
    """

    velocity: ufl.core.expr.Expr
    filtration: ufl.core.expr.Expr
    lymphatic_rate: ufl.core.expr.Expr
    vascular_scale: dolfinx.fem.Function
    surface_density: dolfinx.fem.Function


def vessel_coupling(case: Case, tmesh: TaggedMesh, fluid: FluidProblem | None = None) -> VesselCoupling:
    """Velocity, filtration and lymphatic drainage of the solved ``fluid`` (none without it), and vessels."""
    mesh = tmesh.mesh
    Q0 = dg0_space(tmesh)
    tags = tmesh.regions
    surface_density = region_field(Q0, tmesh, {tags[r]: reg.fluid.vessel_surface_density
                                               for r, reg in case.regions.items() if r in tags}, "S_V")
    if fluid is not None:
        return VesselCoupling(fluid.velocity(), fluid.physics.filtration(fluid.p),
                              fluid.physics.lymphatic_drainage_rate(fluid.p), fluid.vascular_scale,
                              surface_density)
    return VesselCoupling(ufl.as_vector([0.0] * mesh.geometry.dim), dolfinx.fem.Constant(mesh, 0.0),
                          dolfinx.fem.Constant(mesh, 0.0),
                          region_field(Q0, tmesh, {t: 1.0 for t in tags.values()}, "vascular_scale"),
                          surface_density)


def _case_curves(case: Case) -> dict[str, PlasmaCurve]:
    treatment = case.treatment
    return plasma_curves(treatment.library_parameters(), treatment.events(),
                         crcl_ml_per_min=treatment.patient.crcl_ml_per_min,
                         hepatic_factor=treatment.patient.hepatic_factor, bsa_m2=treatment.patient.bsa_m2,
                         weight_kg=treatment.patient.weight_kg)


def plasma_only_curves(case: Case) -> dict[str, PlasmaCurve]:
    """Plasma curves of the checkpoint inhibitors without a tissue problem
    (:func:`~oncotwin.case.transport.needs_transport`, or ``physics.drug`` off): their occupancy acts all the
    same, so their plasma PK is reported."""
    if case.treatment is None:
        return {}
    transport = case.physics.drug.enabled
    return {name: curve for name, curve in _case_curves(case).items()
            if antibody(name) is not None and not (transport and needs_transport(case, name))}


def plasma_metrics(name: str, curve: PlasmaCurve, t: float) -> dict[str, float]:
    """Plasma concentration [mg/L] and AUC [mg h/L] of one drug at ``t`` [s] (the plasma part of the
    metrics of :class:`DrugDelivery`)."""
    return {f"{name}_plasma_mg_per_L": _scalar(curve.concentration_mg_per_l(t)),
            f"{name}_plasma_auc_mg_h_per_L": _scalar(curve.auc_mg_h_per_l(t))}


def create_drug_problems(case: Case, tmesh: TaggedMesh, fluid=None) -> dict[str, DrugDelivery]:
    """Transport problems for the drugs of ``case.treatment`` that need one (coupled to ``fluid`` when
    given); :func:`plasma_only_curves` has the others."""
    curves = {n: c for n, c in _case_curves(case).items() if needs_transport(case, n)}
    for name in plasma_only_curves(case):
        log.info("drug %s: plasma PK only (PD-1 occupancy; no tissue transport, see needs_transport)", name)
    vessels = vessel_coupling(case, tmesh, fluid)
    surface = vessels.vascular_scale * vessels.surface_density
    opts = case.physics.drug
    supg = {"auto": None, "on": True, "off": False}[opts.supg]
    deliveries = {}
    for name, curve in curves.items():
        drug = curve.drug
        problem = DrugProblem(tmesh, drug_tissues(case, drug), vessels.velocity, vessels.filtration, surface,
                              vessels.lymphatic_rate,
                              plasma=lambda t, c=curve: _scalar(c.unbound_concentration(t)), degree=opts.degree,
                              supg=supg, petsc_options=case.solver.get("drug"))
        deliveries[name] = DrugDelivery(name, curve, problem, tmesh, vessels.vascular_scale,
                                        vessels.surface_density)
        log.info("drug %s: %d dose events, %s, SUPG %s", name, len(curve.events),
                 f"{drug.n_compartments}-compartment PK", "on" if problem.supg else "off")
    return deliveries


def write_plasma_csv(path: Path, curves: dict[str, PlasmaCurve], t_end: float, resolution: float) -> None:
    """Plasma concentration and AUC of every drug on a uniform time grid (mg/L, mg h/L)."""
    times = np.arange(0.0, t_end + 0.5 * resolution, resolution)
    columns = {"time_s": times, "time_h": times / 3600.0}
    for name, curve in curves.items():
        columns[f"{name}_mg_per_L"] = curve.concentration_mg_per_l(times)
        columns[f"{name}_auc_mg_h_per_L"] = curve.auc_mg_h_per_l(times)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(columns))
        writer.writerows(np.column_stack(list(columns.values())).tolist())
