"""MNI152 atlas geometry with a synthetic tumour (nilearn templates ship offline)."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.errors import InputDataError
from oncotwin.mesh.atlas import atlas_tag_volume, build_atlas_mesh
from oncotwin.mesh.quality import tet_quality

from .helpers import make_case, run_gmsh, sections, tet_volumes

REGIONS = {"necrotic": {"kind": "necrotic"}, "tumour": {"kind": "tumour"}, "edema": {"kind": "edema"},
           "grey": {"kind": "normal"}, "white": {"kind": "normal"}}


def _case(centre=(30.0, -20.0, 20.0), **mesh):
    return make_case({"name": "mni", "regions": REGIONS,
                      "mesh": {"size_tumour": "2 mm", "size_far": "6 mm", "margin": "10 mm"} | mesh,
                      "geometry": {"kind": "mni152", "resolution": 2,
                                   "tumour": {"centre": list(centre), "radius": "12 mm", "necrotic_radius": "5 mm",
                                              "edema_radius": "18 mm"}}})


def test_atlas_mesh_has_every_region():
    case = _case(optimize=False)
    frame, points, tets, tags, facets = run_gmsh(build_atlas_mesh, case)
    volumes = tet_volumes(points, tets)
    assert volumes.min() > 0
    assert set(np.unique(tags)) == set(case.region_tags().values())
    assert facets == {"outer": 1, "tumour_boundary": 2}
    voxel_volume = float(np.prod(frame["spacing"]))
    for tag, count in frame["voxels_per_tag"].items():  # the necrotic core: r = 2.5 voxels
        assert volumes[tags == tag].sum() == pytest.approx(count * voxel_volume, rel=0.05), tag
    report = tet_quality(points, tets, tags)  # flat surface caps repaired (remove_surface_caps): 0.020
    assert report["min_radius_ratio"] > 1e-2, report["min_radius_ratio"]


def test_centre_outside_brain_is_rejected():
    with pytest.raises(InputDataError, match="outside the brain mask"):
        atlas_tag_volume(*sections(_case(centre=(0.0, 0.0, 120.0))))
