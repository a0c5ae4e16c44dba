"""The tumour's problems built from a case: growth (with its kinetics), oxygen and mechanics."""

from __future__ import annotations

from oncotwin.case.schema import Case
from oncotwin.core.fenics import dolfinx
from oncotwin.kinetics.response import CloneKinetics
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.model.tissues import growth_tissues, host_regions, mechanics_tissues, oxygen_tissues
from oncotwin.physics.oxygen import VesselRegression
from oncotwin.problems.growth import GrowthProblem
from oncotwin.problems.initial_cells import ImagingEdges
from oncotwin.problems.mechanics import MechanicsProblem
from oncotwin.problems.oxygen import OxygenProblem
from oncotwin.problems.regions import dg0_space, region_field


def clone_kinetics(case: Case) -> CloneKinetics:
    """Proliferation, mutation and necrosis rates with the oxygen thresholds of the case."""
    g, o = case.physics.growth, case.physics.oxygen
    return CloneKinetics(g.proliferation_rate, g.resistant_rate, g.mutation_fraction, g.necrosis_rate,
                         o.hypoxic_threshold, o.necrotic_threshold, clearance_rate=g.clearance_rate,
                         necrotic_clearance_rate=g.necrotic_clearance_rate)


def readouts(case: Case) -> dict[str, float]:
    """The imaging readouts of the case besides the total tumour: name -> threshold."""
    g = case.physics.growth
    return {name: {"enhancing": g.enhancing_threshold, "flair": g.flair_threshold}[name] for name in g.readouts}


def imaging_edges(case: Case) -> ImagingEdges:
    """Where the baseline segmentation's surfaces are seen: the lesion's outer surface at the FLAIR
    threshold when that readout is modelled (else the detection threshold), the T1c edge inside it."""
    g = case.physics.growth
    outer = g.flair_threshold if "flair" in g.readouts else g.detection_threshold
    return ImagingEdges(outer, g.enhancing_threshold if "enhancing" in g.readouts else None)


def create_growth_problem(case: Case, tmesh: TaggedMesh) -> tuple[GrowthProblem, dolfinx.fem.Function | None]:
    """The growth problem at t = 0 and the P1 von Mises stress that slows its invasion (None without
    mechanics; the caller fills it from the mechanics solution)."""
    g = case.physics.growth
    tissue = growth_tissues(case)
    kinetics = clone_kinetics(case)
    stress = None
    if case.physics.mechanics.enabled:
        V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
        stress = dolfinx.fem.Function(V, name="von_mises_p1")
    problem = GrowthProblem(tmesh, tissue, kinetics, g.initial_resistant_fraction, stress=stress,
                            stress_coupling=case.physics.mechanics.stress_coupling,
                            detection_threshold=g.detection_threshold, carrying_capacity=g.carrying_capacity,
                            petsc_options=case.solver.get("growth"), tissue_motion=g.tissue_motion,
                            motion_petsc_options=case.solver.get("motion"), edges=imaging_edges(case),
                            readouts=readouts(case))
    return problem, stress


def initial_density(case: Case, tmesh: TaggedMesh) -> dolfinx.fem.Function:
    """The regions' initial viable densities as a DG0 field (the tumour cells when growth is off)."""
    return region_field(dg0_space(tmesh), tmesh,
                        {tmesh.regions[n]: r.growth.initial_density for n, r in case.regions.items()
                         if n in tmesh.regions}, "tumour_cells")


def create_oxygen_problem(case: Case, tmesh: TaggedMesh, density) -> OxygenProblem:
    """Quasi-steady oxygen consumed by the tumour cells ``density`` (a P1 or DG0 field), with the vessels
    regressing as the tumour fills the tissue when the case says so (the model sets the occupancy)."""
    o = case.physics.oxygen
    r = o.vessel_regression
    regression = VesselRegression(r.onset_density, r.residual_fraction) if r.enabled else None
    return OxygenProblem(tmesh, oxygen_tissues(case), density, o.tumour_consumption,
                         hypoxic_threshold=o.hypoxic_threshold, necrotic_threshold=o.necrotic_threshold,
                         boundary_conditions={bc.boundary: bc.po2 for bc in o.boundary_conditions},
                         petsc_options=case.solver.get("oxygen"), vessel_regression=regression)


def create_mechanics_problem(case: Case, tmesh: TaggedMesh, growth: GrowthProblem) -> MechanicsProblem:
    """Mass effect of the tumour of ``growth``: its eigenstrain follows the change of viable, doomed and
    necrotic cells since the baseline, beta (N - N0). The baseline image is the reference configuration
    (already deformed by the tumour it shows): zero displacement and stress at t = 0."""
    m = case.physics.mechanics
    baseline = dolfinx.fem.Function(growth.V, name="baseline_cells")
    baseline.x.array[:] = growth.occupied()
    density = growth.viable + growth.doomed + growth.necrotic - baseline
    return MechanicsProblem(tmesh, mechanics_tissues(case), density, list(m.fixed_boundaries), degree=m.degree,
                            petsc_options=case.solver.get("mechanics"), host_regions=host_regions(case))
