"""Mesh jobs: the geometry, mesh options and region/boundary tags read off a case."""

from __future__ import annotations

from oncotwin.mesh.job import MeshRegions, mesh_job, mesh_regions

from .helpers import make_case


def _sphere_case():
    return make_case({"name": "balls", "geometry": {"kind": "sphere", "tumour_radius": "5 mm",
                                                    "necrotic_radius": "2 mm", "host_radius": "20 mm"},
                      "regions": {"tumour": {"kind": "tumour"}, "necrotic": {"kind": "necrotic"},
                                  "host": {"kind": "normal"}}})


def test_job_carries_the_case_sections():
    case = _sphere_case()
    job = mesh_job(case)
    assert job.name == "balls" and job.geometry is case.geometry and job.options is case.mesh
    assert job.regions == mesh_regions(case)
    assert job.regions.tags == case.region_tags() == {"tumour": 1, "necrotic": 2, "host": 3}
    assert list(job.regions.tumour) == case.tumour_regions()
    assert list(job.regions.boundaries) == case.boundary_names()
    assert job.regions.boundary_tags() == {"outer": 1, "tumour_boundary": 2, "necrotic_boundary": 3}


def test_lesion_is_tumour_necrotic_and_edema_kinds(tmp_path):
    (tmp_path / "labels.nii.gz").touch()  # validation checks that the file exists; it is not read
    case = make_case({"name": "seg", "geometry": {"kind": "segmentation", "labels": "labels.nii.gz",
                                                  "regions": {"core": [1], "oedema": [2], "cyst": [3]}},
                      "regions": {"core": {"kind": "tumour"}, "oedema": {"kind": "edema"},
                                  "cyst": {"kind": "normal"}, "host": {"kind": "normal"}}}, tmp_path)
    regions = mesh_regions(case)
    assert regions.lesion == ("core", "oedema")
    assert regions.lesion_tags() == [1, 2]
    assert regions.tumour_tags() == [1]


def test_tags_follow_the_names():
    regions = MeshRegions(tags={"a": 2, "b": 1}, tumour=("b",), lesion=("a", "b"), boundaries=("x", "y"))
    assert regions.tumour_tags() == [1] and regions.lesion_tags() == [2, 1]
    assert regions.boundary_tags() == {"x": 1, "y": 2}
