"""The order-of-magnitude cell count checked before gmsh starts."""

from __future__ import annotations

import math

import pytest

from oncotwin.case.geometry import SphereGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.core.errors import InputDataError
from oncotwin.mesh.estimate import CELLS_PER_SIZE_CUBED, ball_radius, check_mesh_size, radial_cells
from oncotwin.mesh.job import MeshJob, MeshRegions


def _job(host: str, size: str) -> MeshJob:
    geometry = SphereGeometry(kind="sphere", tumour_radius="5 mm", host_radius=host)
    options = MeshOptions(size_tumour=size, size_far=size)
    regions = MeshRegions(tags={"tumour": 1, "host": 2}, tumour=("tumour",), lesion=("tumour",),
                          boundaries=("outer", "tumour_boundary"))
    return MeshJob(name="t", geometry=geometry, options=options, regions=regions)


def test_uniform_size_gives_volume_over_size_cubed():
    options = MeshOptions(size_tumour="2 mm", size_far="2 mm")
    expected = CELLS_PER_SIZE_CUBED * 4 / 3 * math.pi * 30.0**3 / 2.0**3
    assert radial_cells(10.0, 30.0, options) == pytest.approx(expected, rel=1e-4)


def test_grading_lies_between_the_uniform_bounds():
    options = MeshOptions(size_tumour="1 mm", size_far="4 mm", grading_distance="10 mm")
    fine = radial_cells(10.0, 40.0, MeshOptions(size_tumour="1 mm", size_far="1 mm"))
    coarse = radial_cells(10.0, 40.0, MeshOptions(size_tumour="4 mm", size_far="4 mm"))
    assert coarse < radial_cells(10.0, 40.0, options) < fine


def test_ball_radius_inverts_the_ball_volume():
    assert ball_radius(4 / 3 * math.pi * 7.0**3) == pytest.approx(7.0)


def test_check_mesh_size_refuses_beyond_the_limit_and_names_the_keys():
    assert check_mesh_size(_job("20 mm", "2 mm")) < 1e5
    with pytest.raises(InputDataError, match=r"mesh\.size_tumour.*mesh\.size_far"):
        check_mesh_size(_job("900 mm", "1 mm"))
