"""What one mesh is built from: a case's geometry and mesh sections and its region and boundary tags.

The mesh builders take these pieces rather than the whole case; :func:`mesh_job` is the one place that
reads them off a validated case.
"""

from __future__ import annotations

from dataclasses import dataclass

from oncotwin.case.geometry import AtlasGeometry, DicomGeometry, SegmentationGeometry, SphereGeometry
from oncotwin.case.mesh_options import MeshOptions
from oncotwin.case.schema import Case

LESION_KINDS = ("tumour", "necrotic", "edema")


@dataclass(frozen=True)
class MeshRegions:
    """Cell and facet tags of a mesh, by name.

    Attributes:
        tags: region name -> cell tag (1-based, geometry order).
        tumour: the regions that make up the tumour.
        lesion: the regions of kind tumour, necrotic or edema (the meshed domain of an image lies
            within ``mesh.margin`` of them).
        boundaries: facet group names in tag order (tag = position + 1).
    """

    tags: dict[str, int]
    tumour: tuple[str, ...]
    lesion: tuple[str, ...]
    boundaries: tuple[str, ...]

    def tumour_tags(self) -> list[int]:
        """Cell tags of the tumour regions."""
        return [self.tags[n] for n in self.tumour]

    def lesion_tags(self) -> list[int]:
        """Cell tags of the lesion regions."""
        return [self.tags[n] for n in self.lesion]

    def boundary_tags(self) -> dict[str, int]:
        """Facet tag of every boundary name."""
        return {name: i + 1 for i, name in enumerate(self.boundaries)}


@dataclass(frozen=True)
class MeshJob:
    """Everything one mesh depends on.

    Attributes:
        name: the case name (gmsh model name and prefix of error messages).
        geometry: the geometry section of the case.
        options: the mesh section of the case.
        regions: region and boundary tags.
    """

    name: str
    geometry: SphereGeometry | SegmentationGeometry | DicomGeometry | AtlasGeometry
    options: MeshOptions
    regions: MeshRegions


def mesh_regions(case: Case) -> MeshRegions:
    """Region and boundary tags of a case."""
    names = case.geometry.region_names()
    return MeshRegions(tags=case.region_tags(), tumour=tuple(case.tumour_regions()),
                       lesion=tuple(n for n in names if case.regions[n].kind in LESION_KINDS),
                       boundaries=tuple(case.boundary_names()))


def mesh_job(case: Case) -> MeshJob:
    """The mesh job of a validated case."""
    return MeshJob(name=case.name, geometry=case.geometry, options=case.mesh, regions=mesh_regions(case))
