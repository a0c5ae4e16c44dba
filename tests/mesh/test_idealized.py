"""Idealized concentric spheres: tagged volumes, tags and quality (the analytic verification meshes)."""

from __future__ import annotations

import json
import math

import pytest
from mpi4py import MPI

from oncotwin.case.schema import Case
from oncotwin.mesh.cache import ensure_mesh, mesh_inputs_hash
from oncotwin.mesh.distribute import read_tagged_mesh


def sphere_case(**geometry) -> Case:
    return Case.model_validate({
        "name": "spheres",
        "geometry": {"kind": "sphere", **geometry},
        "mesh": {"size_tumour": "0.6 mm", "size_rim": "0.3 mm", "size_far": "2.5 mm", "grading_distance": "3 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "necrotic": {"kind": "necrotic"}, "host": {"kind": "normal"}},
    })


def ball(r: float) -> float:
    return 4.0 / 3.0 * math.pi * r**3


@pytest.mark.mpi
def test_tagged_volumes_within_one_percent(comm, shared_tmp):
    case = sphere_case(tumour_radius="5 mm", necrotic_radius="2 mm", host_radius="20 mm")
    folder, reused = ensure_mesh(comm, case, shared_tmp / "meshes")
    assert not reused
    quality = json.loads((folder / "quality.json").read_text())
    expected = {"necrotic": ball(2), "tumour": ball(5) - ball(2), "host": ball(20) - ball(5)}
    for name, volume in expected.items():
        assert quality["regions"][name]["volume_mm3"] == pytest.approx(volume, rel=0.01), name
    assert quality["inverted"] == 0 and quality["min_radius_ratio"] > 0.05
    assert 0 < quality["min_dihedral_deg"] and quality["max_dihedral_deg"] < 180

    tm = read_tagged_mesh(comm, folder)  # distributed with its tags
    assert tm.regions == {"tumour": 1, "necrotic": 2, "host": 3}
    assert tm.boundaries == {"outer": 1, "tumour_boundary": 2, "necrotic_boundary": 3}
    cells = comm.allreduce(tm.cell_tags.find(2).size if comm.size == 1 else
                           int((tm.cell_tags.find(2) < tm.mesh.topology.index_map(3).size_local).sum()),
                           op=MPI.SUM)
    assert cells == quality["regions"]["necrotic"]["cells"]

    again, reused = ensure_mesh(comm, case, shared_tmp / "meshes")
    assert reused and again == folder


def test_cache_key_follows_inputs():
    a = sphere_case(tumour_radius="5 mm", necrotic_radius="2 mm", host_radius="20 mm")
    b = sphere_case(tumour_radius="5 mm", necrotic_radius="2 mm", host_radius="21 mm")
    assert mesh_inputs_hash(a) != mesh_inputs_hash(b)
    assert mesh_inputs_hash(a) == mesh_inputs_hash(sphere_case(tumour_radius="0.5 cm", necrotic_radius="2 mm",
                                                              host_radius="2 cm"))
