"""Baseline densities whose imaging edges lie on the segmented surfaces."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.problems.initial_cells import ImagingEdges, dither_signs, place_edges
from tests.mesh.helpers import need_data


def test_edge_nodes_take_the_threshold_of_their_edge():
    # nodes: inside enhancing | enhancing-necrotic | enhancing-edema | edema-host | inside host
    shares = {"enhancing": np.array([1.0, 0.5, 0.5, 0.0, 0.0]), "necrotic": np.array([0.0, 0.5, 0.0, 0.0, 0.0]),
              "edema": np.array([0.0, 0.0, 0.5, 0.5, 0.0]), "host": np.array([0.0, 0.0, 0.0, 0.5, 1.0])}
    densities = {"enhancing": (0.9, 0.0), "necrotic": (0.0, 1.0), "edema": (0.3, 0.0), "host": (0.0, 0.0)}
    viable = sum(shares[n] * densities[n][0] for n in shares)
    necrotic = sum(shares[n] * densities[n][1] for n in shares)
    v, m = place_edges(viable, necrotic, shares, densities, {"host"}, ImagingEdges(0.16, 0.8))
    assert v[0] == 0.9 and v[4] == 0.0  # interiors keep their region's value
    assert v[1] == pytest.approx(0.8, rel=2e-3) and v[2] == pytest.approx(0.8, rel=2e-3)  # T1c edge
    assert v[1] + m[1] <= 1.0  # the necrotic share at the rim is capped by the room left
    assert v[3] + m[3] == pytest.approx(0.16, rel=2e-3)  # FLAIR edge of the lesion against host
    # without the T1c readout the rim nodes keep the average, and the lesion's edge is the outer one
    v, _ = place_edges(viable, necrotic, shares, densities, {"host"}, ImagingEdges(0.2))
    assert v[1] == pytest.approx(0.45) and v[3] == pytest.approx(0.2, rel=2e-3)


def test_dither_is_a_deterministic_function_of_the_coordinates():
    points = np.random.default_rng(1).uniform(-50, 50, (10_000, 3))
    signs = dither_signs(points)
    assert np.all((np.abs(signs) >= 0.5) & (np.abs(signs) <= 1.5))
    assert abs(np.mean(signs > 0) - 0.5) < 0.02  # about half each way
    assert np.array_equal(signs[::-1], dither_signs(points[::-1]))  # independent of the node order


@pytest.mark.data
@pytest.mark.mpi
def test_the_total_readout_reproduces_a_small_real_lesion_at_baseline(comm, shared_tmp):
    """Breast lesion of 143 voxels (0.66 x 0.66 x 2.1 mm): readout within 2 % of the segmentation, Dice >= 0.95."""
    from oncotwin.case.schema import Case
    from oncotwin.core.fenics import dolfinx
    from oncotwin.imaging.images import read_label_map
    from oncotwin.io.raster import rasterise_density
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.tumour_problems import create_growth_problem

    path = need_data("breast1_nrrd") / "breast1_label.nrrd"
    case = Case.model_validate({
        "name": "breast1", "geometry": {"kind": "segmentation", "labels": str(path), "regions": {"tumour": [1]},
                                        "host_region": "host"},
        "mesh": {"size_tumour": "0.5 mm", "size_far": "3 mm", "margin": "6 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
        "physics": {"growth": {"enabled": True}}, "time": {"end": "1 day"}})
    tmesh = mesh_in_memory(comm, case)
    growth, _ = create_growth_problem(case, tmesh)
    labels = read_label_map(path, "labels")
    segmented = float((labels.array == 1).sum() * labels.voxel_volume)
    assert growth.metrics()["tumour_volume_mm3"] == pytest.approx(segmented, rel=0.02)
    u = dolfinx.fem.Function(growth.V)
    u.x.array[:] = growth.occupied()
    grid = rasterise_density(u, labels.array.shape, labels.affine)
    if comm.rank == 0:
        seen, truth = grid >= case.physics.growth.detection_threshold, labels.array == 1
        assert 2 * (seen & truth).sum() / (seen.sum() + truth.sum()) >= 0.95
