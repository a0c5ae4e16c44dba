"""The tumour's response to its environment and to treatment: growth, oxygen, mass effect, therapy.

The problems come from :mod:`oncotwin.model.tumour_problems`, the treatment effects from
:mod:`oncotwin.model.effects`. Operator splitting across time scales, driven by
:class:`oncotwin.run.simulation.Simulation`:

* drug exposure accumulates a kill exponent ``E = int k(C(t)) dt`` at every transport step;
* at each growth stop: oxygen is solved quasi-steadily for the current cells, the growth problem advances
  (kinetics with that oxygen, invasion with the current stress), chemotherapy removes ``1 - exp(-E)`` of
  the sensitive clone, and the mechanics is solved again for the new density (mass effect) whose von
  Mises stress slows the next invasion step;
* radiotherapy fractions act instantly (linear-quadratic with the oxygen modification factor);
* anti-angiogenic windows rescale the tumour vessels of the fluid, drug and oxygen problems.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.core.log import get_logger
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.effects import drug_effects, fraction_survival, radiotherapy_target
from oncotwin.model.immune_field import ImmuneField
from oncotwin.model.tumour_problems import (
    create_growth_problem,
    create_mechanics_problem,
    create_oxygen_problem,
    initial_density,
)
from oncotwin.problems.regions import set_region_values

log = get_logger("tumour")


class TumourModel:
    """Growth with oxygen, mechanics and treatment effects for one case.

    Args:
        case: the validated case.
        tmesh: the tagged mesh.
        fluid: the fluid problem (or None).
        drugs: drug deliveries by name (may be empty).
    """

    def __init__(self, case: Case, tmesh: TaggedMesh, fluid=None, drugs: dict | None = None):
        self.case, self.tmesh, self.fluid, self.drugs = case, tmesh, fluid, drugs or {}
        phys = case.physics
        self.treatment = case.treatment
        self.growth, self._stress = create_growth_problem(case, tmesh) if phys.growth.enabled else (None, None)
        self.oxygen = create_oxygen_problem(case, tmesh, self._density()) if phys.oxygen.enabled else None
        self.mechanics = create_mechanics_problem(case, tmesh, self.growth) if phys.mechanics.enabled else None
        self.effects = drug_effects(case, self.drugs) if self.growth is not None else {}
        self.immune = ImmuneField(case, tmesh, self.growth) if phys.immune.enabled else None
        n = self.growth.V.dofmap.index_map.size_local + self.growth.V.dofmap.index_map.num_ghosts \
            if self.growth else 0
        self.kill_exponent = np.zeros(n)
        self._drug_nodal = {}
        self._kill_rate_before: dict[str, np.ndarray] = {}
        self.rt_target = radiotherapy_target(tmesh, self.treatment.radiotherapy, self.growth.V) \
            if self.growth is not None else 1.0
        self.rt_fractions_given = 0
        self.rt_dose_given = 0.0
        self.normalised = False
        self.last_oxygen = None
        self._peak_occupancy: np.ndarray | None = None
        self.last_mechanics = None
        self._displacement_load: np.ndarray | None = None  # cells occupying the tissue at the last solve
        self.t_growth = 0.0
        self.seconds: dict[str, float] = defaultdict(float)  # wall time per physics (manifest)
        self.remodel_region = case.viable_tumour_region() if self.growth is not None else None
        self.last_remodel = 0.0
        self.chi = None
        self._blends = None

    @contextmanager
    def _timed(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def _density(self) -> dolfinx.fem.Function:
        """Viable tumour cells (the growth state, or the initial regional densities without growth)."""
        return self.growth.viable if self.growth is not None else initial_density(self.case, self.tmesh)

    # ------------------------------------------------------------------ schedule
    def stop_times(self, t_end: float) -> list[float]:
        """Times the driver must land on: growth steps, radiotherapy fractions, normalisation windows."""
        stops: set[float] = set()
        if self.growth is not None:
            step = self.case.physics.growth.step
            stops.update(k * step for k in range(1, int(math.floor(t_end / step + 1e-9)) + 1))
        rt = self.treatment.radiotherapy
        if rt is not None:
            stops.update(t for t in rt.fraction_times() if t < t_end)
        aa = self.treatment.antiangiogenic
        if aa is not None:
            stops.update(x for window in aa.windows() for x in window if 0 < x < t_end)
        return sorted(t for t in stops if t > 0)

    # ------------------------------------------------------------------ time stepping
    def start(self) -> None:
        """State at t = 0: vessels, oxygen, mechanics and a fraction given on day 1."""
        self.update_vessels(0.0)
        for name, effect in self.effects.items():  # the left end of the first step's trapezoid
            self._kill_rate_before[name] = effect.kill_rate(self._nodal_concentration(name))
        self.solve_oxygen()
        self.solve_mechanics()
        self.radiotherapy(0.0)

    def after_transport_step(self, dt: float) -> None:
        """Accumulate the chemotherapy kill exponent of the sensitive clone over a drug step.

        The trapezoid rule in time on the kill rate at the start and the end of the step (the rate at the
        end alone would lag the exposure by a step: 0.73 of a temozolomide course on the shipped steps).
        """
        for name, effect in self.effects.items():
            rate = effect.kill_rate(self._nodal_concentration(name))
            before = self._kill_rate_before.get(name)
            self.kill_exponent += 0.5 * dt * (rate + (rate if before is None else before))
            self._kill_rate_before[name] = rate

    def apply_chemotherapy(self) -> None:
        """The kill accumulated since the last growth step: sensitive tumour cells survive exp(-kill), the
        effectors (with the immune compartment) by their relative sensitivity; then the kill restarts."""
        self.growth.apply_survival(np.exp(-self.kill_exponent), 1.0)
        if self.immune is not None:
            self.immune.expose(self.kill_exponent)
        self.kill_exponent[:] = 0.0

    def _nodal_concentration(self, name: str) -> np.ndarray:
        """Drug concentration [mg/mm^3] at the growth nodes (interpolated when the drug space differs)."""
        c = self.drugs[name].problem.c
        if c.function_space == self.growth.V or c.function_space.element == self.growth.V.element:
            return c.x.array
        target = self._drug_nodal.setdefault(name, dolfinx.fem.Function(self.growth.V))
        target.interpolate(c)
        return target.x.array

    def advance(self, t: float) -> dict[str, float]:
        """Growth (and its coupled problems) from the last growth stop to ``t``; treatment events at ``t``."""
        info = {}
        dt = t - self.t_growth
        if self.growth is not None and dt > 0:
            po2 = self.solve_oxygen()
            with self._timed("growth"):
                step = self.growth.step(dt, po2)
                if self.effects:
                    self.apply_chemotherapy()
            self.t_growth = t
            info = {"growth_iterations": step.iterations, "kinetic_substeps": step.kinetic_substeps,
                    "growth_clipped": step.clipped}
            if self.immune is not None:
                with self._timed("immune"):
                    info.update(self.immune.step(dt))
            if self._mechanics_due(t):
                self.solve_mechanics()
            if self._remodel_due(t):
                self.remodel(t)
        self.update_vessels(t)
        self.radiotherapy(t)
        return info

    def _mechanics_due(self, t: float) -> bool:
        if self.mechanics is None:
            return False
        every = self.case.physics.mechanics.update_every
        if every is None or self.last_mechanics is None:
            return True
        return t - self.last_mechanics >= every * (1 - 1e-9)

    def _remodel_due(self, t: float) -> bool:
        every = self.case.physics.growth.remodel_every
        return self.remodel_region is not None and every is not None and t - self.last_remodel >= every * (1 - 1e-9)

    def tumour_fraction(self) -> np.ndarray:
        """Cell-wise tumour fraction chi in [0, 1] of non-tumour regions (0 in the tumour's own regions).

        chi = mean vertex density of the cell / initial density of the viable tumour region.
        """
        reference = self.case.regions[self.remodel_region].growth.initial_density or 1.0
        dofs = self.growth.V.dofmap.list
        density = self.growth.viable.x.array[dofs].mean(axis=1)
        tdim = self.tmesh.mesh.topology.dim
        imap = self.tmesh.mesh.topology.index_map(tdim)
        tags = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
        tags[self.tmesh.cell_tags.indices] = self.tmesh.cell_tags.values
        host = [self.tmesh.regions[n] for n, r in self.case.regions.items() if not r.is_tumour
                and n in self.tmesh.regions]
        return np.where(np.isin(tags, host), np.clip(density / reference, 0.0, 1.0), 0.0)

    def remodel(self, t: float, chi: np.ndarray | None = None) -> None:
        """Tissue follows the tumour: blend the fluid, drug and oxygen coefficients of invaded cells."""
        with self._timed("remodel"):
            if self._blends is None:
                region = self.remodel_region
                surface = self.case.regions[region].fluid.vessel_surface_density
                self._blends = [p.follow_tumour(region) for p in (self.fluid, self.oxygen) if p is not None]
                self._blends += [d.follow_tumour(region, surface) for d in self.drugs.values()]
            self.chi = self.tumour_fraction() if chi is None else chi
            for blend in self._blends:
                blend.apply(self.chi)
            self.last_remodel = t
            if self.fluid is not None:
                self.fluid.coefficients_changed()
                self.fluid.solve()
                self.fluid.output_fields()  # velocity updated in place for the drugs
            if self.oxygen is not None:
                self.oxygen.coefficients_changed()
            for delivery in self.drugs.values():
                delivery.problem.coefficients_changed()

    def solve_oxygen(self) -> np.ndarray | None:
        """Quasi-steady oxygen for the current cells; returns nodal pO2 (None without oxygen)."""
        if self.oxygen is None:
            return None
        with self._timed("oxygen"):
            self._vessels_follow_cells()
            self.oxygen.solve()
        self.last_oxygen = self.oxygen.po2.x.array
        return self.last_oxygen

    def _vessels_follow_cells(self) -> None:
        """Vessel regression sees the highest density of cells so far (viable and doomed): regressed
        co-opted vessels do not come back (a secondarily avascular core, Holash et al. 1999), and
        revascularisation by angiogenesis is not modelled. With volume exclusion a full core loses a few
        per cent of its occupancy to the vacancies that invasion leaves at the rim; vessels that followed
        it back would reoxygenate an anoxic core within days.

        Necrotic debris is left out: a core segmented as necrotic is avascular through its region's supply
        (0, Baxter & Jain 1990), and necrosis that forms later forms where the cells had already regressed
        the vessels (the peak keeps them regressed). Counting the debris would regress the vessels of the
        T1c edge where the enhancing rim meets the core: its nodes carry 0.8 viable + 0.2 necrotic (the
        edge placed on the segmented surface), a full occupancy that made the perfused rim, which is what
        contrast enhancement shows, anoxic at t = 0 (BENCHMARKS.md, issue 17, session 7)."""
        if self.oxygen.occupancy is not None and self.growth is not None:
            occupied = self.growth.occupied() - self.growth.necrotic.x.array
            if self._peak_occupancy is None:
                self._peak_occupancy = occupied.copy()
            np.maximum(self._peak_occupancy, occupied, out=self._peak_occupancy)
            self.oxygen.set_occupancy(self._peak_occupancy)

    def solve_mechanics(self) -> None:
        """Displacement and stress for the current density; the stress slows the next invasion step."""
        if self.mechanics is None:
            return
        with self._timed("mechanics"):
            self.mechanics.solve()
            self.last_mechanics = self.t_growth
            self._displacement_load = self.growth.occupied()
            self._stress.x.array[:] = self.mechanics.von_mises_at_vertices().x.array
            self.growth.stress_changed()

    def prepare_outputs(self) -> None:
        """Before metrics and fields are read: the displacement of the current cells. Between the stress
        updates of ``update_every`` the displacement is solved again for the outputs only; the stress that
        slows invasion keeps its schedule, so the output times do not change the trajectory."""
        if self.mechanics is None or self._displacement_load is None:
            return
        # a treatment moves cells between compartments without changing what occupies the tissue (to rounding)
        stale = bool(np.any(np.abs(self._displacement_load - self.growth.occupied()) > 1e-12))
        if self.tmesh.comm.allreduce(stale, op=MPI.LOR):
            with self._timed("mechanics"):
                self.mechanics.solve()
            self._displacement_load = self.growth.occupied()

    def radiotherapy(self, t: float) -> None:
        """Apply the fractions scheduled at ``t`` (each once)."""
        rt = self.treatment.radiotherapy
        if rt is None or self.growth is None:
            return
        times = rt.fraction_times()
        while self.rt_fractions_given < len(times) and times[self.rt_fractions_given] <= t + 1e-6:
            self.growth.apply_survival(fraction_survival(rt, self.rt_target, self.last_oxygen))
            if self.immune is not None:
                self.immune.irradiate(self.rt_target)
            self.rt_fractions_given += 1
            self.rt_dose_given += rt.dose_per_fraction

    def update_vessels(self, t: float) -> None:
        """Open or close an anti-angiogenic normalisation window at ``t``."""
        aa = self.treatment.antiangiogenic
        if aa is None or aa.active(t) == self.normalised:
            return
        self.normalised = aa.active(t)
        tumour = list(self.tmesh.tumour_regions)
        permeability = aa.permeability_scale if self.normalised else 1.0
        perfusion = aa.perfusion_scale if self.normalised else 1.0
        log.info("anti-angiogenic: normalisation window %s at day %.4g", "opens" if self.normalised else "closes",
                 t / 86400.0)
        if self.fluid is not None:
            self.fluid.set_vascular_scaling({r: permeability for r in tumour})
            self.fluid.solve()
            self.fluid.output_fields()  # velocity updated in place: the drugs see the new flow
        for delivery in self.drugs.values():
            if self.fluid is None and delivery.vascular_scale is not None:
                set_region_values(delivery.vascular_scale, self.tmesh,
                                  {self.tmesh.regions[r]: permeability for r in tumour})
            delivery.problem.coefficients_changed()
        if self.oxygen is not None:
            self.oxygen.set_vascular_scaling({r: perfusion for r in tumour})

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, np.ndarray]:
        """Everything that evolves (fields as local arrays, counters), for checkpoints."""
        out: dict[str, np.ndarray] = {"scalars": np.array([
            self.rt_fractions_given, self.rt_dose_given, self.t_growth,
            -1.0 if self.last_mechanics is None else self.last_mechanics, self.last_remodel])}
        if self.chi is not None:
            out["chi"] = self.chi.copy()
        if self.growth is not None:
            out.update({f"growth.{k}": v for k, v in self.growth.state().items()})
            out["kill_exponent"] = self.kill_exponent.copy()
            out.update({f"kill_rate.{k}": v.copy() for k, v in self._kill_rate_before.items()})
        if self.oxygen is not None:  # Newton's initial guess: the same solution after a restart
            out["po2"] = self.oxygen.po2.x.array.copy()
        if self._peak_occupancy is not None:
            out["peak_occupancy"] = self._peak_occupancy.copy()
        if self.immune is not None:
            out.update({f"immune.{k}": v for k, v in self.immune.state().items()})
        if self.mechanics is not None:  # CG's initial guess and the stress that slows invasion
            out["displacement"] = self.mechanics.displacement.x.array.copy()
            out["stress"] = self._stress.x.array.copy()
            out["mechanics_guess_basis"] = self.mechanics.initial_guess.state()
            if self._displacement_load is not None:
                out["displacement_load"] = self._displacement_load.copy()
        return out

    def restore(self, state: dict[str, np.ndarray], t: float) -> None:
        """Set the state saved at time ``t`` (after :meth:`start`)."""
        fractions, self.rt_dose_given, self.t_growth, last_mechanics, last_remodel = (
            float(v) for v in state["scalars"])
        self.rt_fractions_given = int(fractions)
        self.last_mechanics = None if last_mechanics < 0 else last_mechanics
        if self.growth is not None:
            self.growth.restore({k.removeprefix("growth."): v for k, v in state.items()
                                 if k.startswith("growth.")})
            self.kill_exponent[:] = state["kill_exponent"]
            self._kill_rate_before.update({k.removeprefix("kill_rate."): v.copy() for k, v in state.items()
                                           if k.startswith("kill_rate.")})
        if self.oxygen is not None:
            self.oxygen.po2.x.array[:] = state["po2"]
            self.last_oxygen = self.oxygen.po2.x.array
        if "peak_occupancy" in state:  # absent in checkpoints of earlier versions
            self._peak_occupancy = state["peak_occupancy"].copy()
        if self.immune is not None:
            self.immune.restore({k.removeprefix("immune."): v for k, v in state.items() if k.startswith("immune.")})
        if self.mechanics is not None:
            self.mechanics.displacement.x.array[:] = state["displacement"]
            self._stress.x.array[:] = state["stress"]
            if "mechanics_guess_basis" in state:  # absent in checkpoints of earlier versions
                self.mechanics.initial_guess.restore(state["mechanics_guess_basis"])
            # absent in checkpoints of earlier versions, whose outputs followed a solve at every growth step
            self._displacement_load = state.get("displacement_load", self.growth.occupied()).copy()
            self.mechanics.von_mises()  # the output field follows the restored displacement
            self.growth.stress_changed()
        if "chi" in state:  # the tissue as remodelled then (and the flow through it)
            self.remodel(last_remodel, state["chi"])
        self.last_remodel = last_remodel
        self.update_vessels(t)

    # ------------------------------------------------------------------ outputs
    def output_fields(self) -> list[dolfinx.fem.Function]:
        """Cell densities, oxygen, displacement and stress."""
        fields = []
        if self.growth is not None:
            fields += self.growth.output_fields()
        if self.oxygen is not None:
            fields.append(self.oxygen.po2)
        if self.mechanics is not None:
            fields += self.mechanics.output_fields()
        if self.immune is not None:
            fields += self.immune.output_fields()
        return fields

    def metrics(self) -> dict[str, float]:
        """Tumour burden, oxygenation, mass effect and treatment delivered so far."""
        out: dict[str, float] = {}
        if self.growth is not None:
            threshold = self.case.physics.oxygen.hypoxic_threshold
            out.update(self.growth.metrics(self.last_oxygen, threshold))
        if self.oxygen is not None:
            # the oxygen problem's own volumes refer to the segmented tumour regions
            out.update({k if k.startswith(("po2", "oxygen")) else f"oxygen_{k}": v
                        for k, v in self.oxygen.metrics().items()})
        if self.mechanics is not None:
            out.update(self.mechanics.metrics())
        if self.immune is not None:
            out.update(self.immune.metrics(self.t_growth, out["tumour_cells"]))
        if self.treatment.radiotherapy is not None:
            out["rt_fractions_given"] = self.rt_fractions_given
            out["rt_dose_given_Gy"] = self.rt_dose_given
        if self.treatment.antiangiogenic is not None:
            out["vessels_normalised"] = float(self.normalised)
        if self.fluid is not None and (self.treatment.antiangiogenic is not None or self.chi is not None):
            out.update(self.fluid.metrics())  # the pressure follows the vessels and the remodelled tissue
        return out
