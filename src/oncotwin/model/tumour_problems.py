"""The tumour's problems built from a case: growth (with its kinetics), oxygen and mechanics."""

from __future__ import annotations

import math

import numpy as np

from oncotwin.case.cellularity import CellularityMap
from oncotwin.case.schema import Case
from oncotwin.core.errors import InputDataError
from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.imaging.cellularity import cellularity_from_adc
from oncotwin.imaging.front_profile import edge_distances, front_profile, infiltration_length
from oncotwin.imaging.images import read_image, read_label_map
from oncotwin.io.raster import sample_image_at_nodes
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
    return {name: readout_threshold(case, name) for name in case.physics.growth.readouts}


def readout_threshold(case: Case, readout: str) -> float:
    """Threshold of a readout: ``total`` at the detection threshold, ``enhancing`` and ``flair`` at theirs."""
    g = case.physics.growth
    return {"total": g.detection_threshold, "enhancing": g.enhancing_threshold, "flair": g.flair_threshold}[readout]


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
                            readouts=readouts(case), volume_exclusion=g.volume_exclusion)
    if g.cellularity is not None:
        density_from_adc(problem, g.cellularity, case.cellularity_regions())
    if g.initial_profile.kind == "travelling_wave":
        travelling_wave_baseline(problem, case)
    return problem, stress


def travelling_wave_baseline(problem: GrowthProblem, case: Case) -> float:
    """Baseline viable and necrotic densities of the travelling-wave profile (:mod:`oncotwin.imaging.front_profile`):
    distances to the enhancing, necrotic and lesion surfaces on the label grid (cropped around the lesion),
    interpolated at the nodes. Their sign is the node's side of the mesh's region surfaces, and nodes on a
    surface take distance 0: the readouts' level sets then pass through the meshed surfaces (whose volumes
    are the segmented ones) instead of a fraction of a cell off them, which the profile's shallow slope
    inside the enhancing tumour would magnify. Every rank computes the same maps (no communication).

    Returns:
        The tail's decay length lambda [mm].
    """
    g = case.physics.growth
    labels = read_label_map(case.geometry.labels, "geometry.labels")
    label_map = case.geometry.label_map()
    hosts = set(case.geometry.host_names())

    def values(names) -> list[int]:
        return [v for n in names for v in label_map.get(n, [])]

    names = {"lesion": [n for n in label_map if n not in hosts], "enhancing": case.enhancing_regions()}
    names["necrotic"] = [n for n in names["lesion"] if case.regions[n].kind == "necrotic"]
    lesion, necrotic, enhancing = (values(names[k]) for k in ("lesion", "necrotic", "enhancing"))
    edges = imaging_edges(case)
    inner, outer = g.enhancing_threshold, edges.outer
    spacing = np.linalg.norm(labels.affine[:3, :3], axis=0)
    length = g.initial_profile.infiltration_length or infiltration_length(
        int(np.isin(labels.array, enhancing + necrotic).sum()), int(np.isin(labels.array, lesion).sum()),
        labels.voxel_volume, inner, outer)
    if length is None:
        d_lesion = case.regions[case.enhancing_regions()[0]].growth.diffusivity
        length = math.sqrt(d_lesion / g.proliferation_rate)
    array, affine = _crop(labels.array, labels.affine, np.isin(labels.array, lesion),
                          int(np.ceil((10.0 * length + 5.0) / spacing.min())))
    maps = edge_distances(array, spacing, enhancing, necrotic, lesion)
    signed = []
    for key in ("enhancing", "necrotic", "lesion"):
        distance = np.abs(sample_image_at_nodes(problem.V, getattr(maps, key), affine, order=1, outside=1e6))
        share = problem.share(names[key])
        signed.append(np.where(share >= 1.0 - 1e-9, np.maximum(distance, 1e-6),
                               np.where(share <= 1e-9, -np.maximum(distance, 1e-6), 0.0)))
    at_nodes = type(maps)(*signed)
    viable, dead = front_profile(at_nodes, length, inner, outer, float(spacing.min()))
    problem.set_baseline(viable, dead)
    return length


def _crop(array: np.ndarray, affine: np.ndarray, mask: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The box of ``mask`` widened by ``pad`` voxels (within the image) and its voxel-to-world affine."""
    where = np.argwhere(mask)
    lo = np.maximum(where.min(axis=0) - pad, 0)
    hi = np.minimum(where.max(axis=0) + pad + 1, array.shape)
    shift = np.eye(4)
    shift[:3, 3] = lo
    return array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], affine @ shift


def density_from_adc(problem: GrowthProblem, cellularity: CellularityMap, regions: list[str]) -> None:
    """Baseline viable density inside ``regions`` from the ADC map (:mod:`oncotwin.imaging.cellularity`);
    ADC_min is the smallest ADC at their interior nodes (the same on any partition).

    Raises:
        InputDataError: an unreadable image, or no ADC below free water's inside the regions.
    """
    key = "physics.growth.cellularity.adc"
    image = read_image(cellularity.adc, key)
    adc = sample_image_at_nodes(problem.V, image.array, image.affine, order=1, outside=np.nan) * cellularity.voxel_unit
    inside = problem.interior_nodes(regions)
    owned = adc[:problem.n_owned][inside[:problem.n_owned]]
    uncovered = problem.comm.allreduce(int(np.count_nonzero(~np.isfinite(owned))), op=MPI.SUM)
    if uncovered:
        raise InputDataError(f"{cellularity.adc}: {key}: the ADC image does not cover {uncovered} nodes of the "
                             f"tumour regions {', '.join(regions)}; it must cover them")
    adc_min = problem.comm.allreduce(float(np.min(owned)) if owned.size else np.inf, op=MPI.MIN)
    if not adc_min < cellularity.free_water_adc:
        raise InputDataError(f"{cellularity.adc}: {key}: smallest ADC in {', '.join(regions)} is {adc_min:g} mm^2/s, "
                             f"not below free water's {cellularity.free_water_adc:g} mm^2/s: check "
                             "physics.growth.cellularity.voxel_unit")
    problem.set_baseline_viable(cellularity_from_adc(adc, adc_min, cellularity.free_water_adc), inside)


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
