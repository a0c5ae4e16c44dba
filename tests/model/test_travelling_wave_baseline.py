"""The travelling-wave baseline: each readout's level set at t = 0 is its segmented surface (issue 17)."""

from __future__ import annotations

import math

import numpy as np
import pytest

R_NECROTIC, R_ENHANCING, R_LESION = 5.0, 9.0, 14.0  # mm, on a 1 mm grid
LABELS = {"necrotic": 1, "enhancing": 2, "edema": 3}


def two_edge_lesion(folder):
    """A spherical glioma-like lesion (necrotic core, enhancing rim, edema) as a NIfTI label map."""
    import nibabel as nib

    x, y, z = np.indices((44, 44, 44), dtype=float) - 21.7  # off the voxel centres: no tie on a surface
    r = np.sqrt(x**2 + y**2 + z**2)
    labels = np.select([r <= R_NECROTIC, r <= R_ENHANCING, r <= R_LESION],
                       [LABELS["necrotic"], LABELS["enhancing"], LABELS["edema"]], 0).astype(np.uint8)
    path = folder / "lesion.nii.gz"
    nib.save(nib.Nifti1Image(labels, np.eye(4)), str(path))
    return path, labels


def case_for(path, profile: str | None = "travelling_wave"):
    """The lesion's case with enhancing and FLAIR readouts and the given baseline profile (None: regions)."""
    from oncotwin.case.schema import Case

    growth = {"enabled": True, "readouts": ["enhancing", "flair"], "detection_threshold": 0.16}
    if profile is not None:
        growth["initial_profile"] = {"kind": profile}
    return Case.model_validate({
        "name": "two_edges",
        "geometry": {"kind": "segmentation", "labels": str(path), "host_region": "host",
                     "regions": {name: [value] for name, value in LABELS.items()}},
        "mesh": {"size_tumour": "1 mm", "size_far": "3 mm", "margin": "5 mm"},
        "regions": {"necrotic": {"kind": "necrotic"}, "enhancing": {"kind": "tumour"},
                    "edema": {"kind": "edema"}, "host": {"kind": "normal"}},
        "physics": {"growth": growth},
        "time": {"end": "1 day"}})


def test_the_edema_carries_the_exponential_tail_of_the_front():
    """Closed form on a lesion of uniform edema thickness: between the T1c edge (0.8) and the FLAIR edge
    (0.16) the density is 0.8 exp(-(r - r_core) / lambda), and lambda = sqrt(D / rho) follows from the two
    sphere-equivalent radii as (r_lesion - r_core) / ln 5 (Harpold et al. 2007)."""
    from oncotwin.imaging.front_profile import EdgeDistances, front_profile, infiltration_length

    r = np.linspace(0.0, 25.0, 2501)
    lam = infiltration_length(round(4e6 * math.pi / 3 * R_ENHANCING**3), round(4e6 * math.pi / 3 * R_LESION**3),
                              1e-6)
    assert lam == pytest.approx((R_LESION - R_ENHANCING) / math.log(5), rel=1e-6)
    d = EdgeDistances(np.minimum(R_ENHANCING - r, r - R_NECROTIC), R_NECROTIC - r, R_LESION - r)  # rim, core
    viable, necrotic = front_profile(d, lam, 0.8, 0.16, 1.0)
    edema = (r > R_ENHANCING) & (r < R_LESION)
    assert np.allclose(viable[edema], 0.8 * np.exp(-(r[edema] - R_ENHANCING) / lam), rtol=1e-12)
    beyond = r > R_LESION
    assert np.allclose(viable[beyond], 0.16 * np.exp(-(r[beyond] - R_LESION) / lam), rtol=1e-12)
    # the log-slope of the tail is -1/lambda everywhere outside the enhancing edge
    slope = np.gradient(np.log(viable), r)[r > R_ENHANCING + 0.1]
    assert np.allclose(slope, -1.0 / lam, rtol=1e-3)
    rim = (r > R_NECROTIC) & (r < R_ENHANCING)
    assert np.all(viable[rim] > 0.8) and np.all(viable[rim] < 1.0) and np.all(necrotic[rim] == 0)
    core = r < R_NECROTIC - 3
    assert np.all(viable[core] + necrotic[core] == pytest.approx(1.0)) and np.all(necrotic[core] > 0.95)


def test_signed_distance_is_zero_on_the_voxel_faces():
    from oncotwin.imaging.front_profile import signed_distance

    mask = np.zeros((9, 9, 9), bool)
    mask[2:7, 2:7, 2:7] = True
    sd = signed_distance(mask, (2.0, 2.0, 2.0))
    assert sd[4, 4, 4] == pytest.approx(5.0) and sd[2, 4, 4] == pytest.approx(1.0)
    assert sd[1, 4, 4] == pytest.approx(-1.0) and sd[0, 4, 4] == pytest.approx(-3.0)


def assert_readouts_reproduce(comm, growth, labels: np.ndarray) -> None:
    """Enhancing (label 2, T1c 80 %) and FLAIR (labels 1-3, 16 %) readouts at t = 0 within 2 % of their voxels
    (1 mm^3 each, identity affine), and the rasterised readouts' voxel Dice >= 0.95."""
    from oncotwin.core.fenics import dolfinx
    from oncotwin.io.raster import rasterise_density

    metrics = growth.metrics()
    u = dolfinx.fem.Function(growth.V)
    for readout, built_from, threshold in (("enhancing", [2], 0.8), ("flair", [1, 2, 3], 0.16)):
        segmented = np.isin(labels, built_from)
        assert metrics[f"{readout}_volume_mm3"] == pytest.approx(float(segmented.sum()), rel=0.02), readout
        u.x.array[:] = growth.seen(readout)
        grid = rasterise_density(u, labels.shape, np.eye(4))
        if comm.rank == 0:
            seen = grid >= threshold
            dice = 2 * int((seen & segmented).sum()) / (int(seen.sum()) + int(segmented.sum()))
            assert dice >= 0.95, (readout, dice)


@pytest.mark.mpi
def test_readouts_reproduce_a_two_edge_lesion_at_baseline(comm, shared_tmp):
    """Enhancing and FLAIR readouts at t = 0 within 2 % of the segmented volumes, voxel Dice >= 0.95."""
    from oncotwin.mesh.distribute import mesh_in_memory
    from oncotwin.model.tumour_problems import create_growth_problem

    path, labels = two_edge_lesion(shared_tmp) if comm.rank == 0 else (shared_tmp / "lesion.nii.gz", None)
    labels = comm.bcast(labels, root=0)
    case = case_for(path)
    growth, _ = create_growth_problem(case, mesh_in_memory(comm, case))
    assert_readouts_reproduce(comm, growth, labels)
    occupied = growth.occupied()
    assert occupied.max() <= 1.0 + 1e-12 and growth.necrotic.x.array.max() > 0.95
