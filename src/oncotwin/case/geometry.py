"""Case-file section ``geometry``: an idealized sphere, a segmented label map, a DICOM series with its
RTSTRUCT, or the MNI152 atlas."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.paths import resolve_folder, resolve_path
from oncotwin.case.quantity import Length, LengthOrZero
from oncotwin.core.errors import InputDataError
from oncotwin.imaging.dicom_series import read_series
from oncotwin.imaging.rtstruct import check_roi_names, read_structure_set

# Label conventions of the BraTS challenges, as documented presets (never assumed).
LABEL_PRESETS: dict[str, dict[str, list[int]]] = {
    # BraTS 2012-2016: 1 necrosis, 2 edema, 3 non-enhancing tumour, 4 enhancing tumour.
    "brats2013": {"necrotic": [1], "edema": [2], "non_enhancing": [3], "enhancing": [4]},
    # BraTS 2017-2022: 1 necrotic / non-enhancing core, 2 edema, 4 enhancing tumour.
    "brats2017": {"necrotic": [1], "edema": [2], "enhancing": [4]},
    # BraTS 2023+: 1 necrotic core, 2 edema, 3 enhancing tumour.
    "brats2023": {"necrotic": [1], "edema": [2], "enhancing": [3]},
}


INT32_MAX = 2**31 - 1


def _label_value(value: Any) -> Any:
    """A label as an int: refuse floats with a fraction, booleans and values outside int32, as written."""
    written = value
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value.lower() for c in ".ein") else int(value)
        except ValueError:
            return written  # not a number: pydantic's int check reports it
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"label {written!r} must be an integer")
    if isinstance(value, float):
        value = int(value)
    if isinstance(value, int) and not 0 < value <= INT32_MAX:
        raise ValueError(f"label {written!r} must be in 1..{INT32_MAX} (0 is background)")
    return value


Label = Annotated[int, BeforeValidator(_label_value)]


class SphereGeometry(StrictModel):
    """Idealized geometry: a spherical tumour (optional necrotic core) inside a sphere of host tissue.

    Regions: ``tumour`` (viable rim), ``necrotic`` (when ``necrotic_radius`` > 0) and ``host``.
    Boundaries: ``outer``, ``tumour_boundary`` and ``necrotic_boundary`` (when there is a core).
    Without ``host_radius`` the tumour is tissue-isolated (as in Baxter & Jain's isolated tumour): no
    host region, and the outer boundary is ``tumour_boundary``.
    """

    kind: Literal["sphere"]
    tumour_radius: Length
    host_radius: Length | None = None
    necrotic_radius: LengthOrZero = 0.0

    @model_validator(mode="after")
    def _radii_in_order(self) -> SphereGeometry:
        host = self.host_radius if self.host_radius is not None else float("inf")
        if not self.necrotic_radius < self.tumour_radius < host:
            raise FieldProblem(
                "tumour_radius", f"{self.tumour_radius:g} mm",
                "radii must satisfy necrotic_radius < tumour_radius < host_radius, got "
                f"{self.necrotic_radius:g} mm, {self.tumour_radius:g} mm, {host:g} mm",
            )
        return self

    def region_names(self) -> list[str]:
        """Region names in tag order."""
        names = ["tumour"] + (["necrotic"] if self.necrotic_radius > 0 else [])
        return names + (["host"] if self.host_radius is not None else [])


class AtlasRegistration(StrictModel):
    """``geometry.atlas``: register the MNI152 atlas to ``geometry.image`` for grey, white and CSF regions.

    The host tissue is split into the regions ``grey``, ``white`` and ``csf`` by the argmax of the warped
    atlas maps (:mod:`oncotwin.imaging.registration`; the lesion is excluded from the similarity metric,
    and inside it the registered healthy anatomy is kept). ``min_dice`` is the quality check: the Dice of
    the warped atlas brain mask with ``tissue_mask`` must reach it.

    ``csf_from_image``: ``dark`` (T1, T1c, FLAIR) or ``bright`` (T2) replaces the atlas CSF outside the
    lesion by the CSF class of a Gaussian mixture of ``geometry.image``'s intensities
    (:mod:`oncotwin.imaging.csf`: the patient's own ventricles and sulci); ``off`` (default) keeps the atlas's.
    """

    min_dice: Annotated[float, Field(ge=0, le=1)] = 0.9
    deformable: bool = True
    grid_spacing: Length = 40.0
    csf_from_image: Literal["off", "dark", "bright"] = "off"


ATLAS_TISSUES = ("grey", "white", "csf")


class SegmentationGeometry(StrictModel):
    """A label map (NIfTI or NRRD) whose label values map to named regions.

    The host tissue is the ``tissue_mask`` (non-zero voxels) minus the labelled regions, split by
    ``tissue_maps`` (probability maps, argmax) or by the registered MNI152 atlas (``atlas``) when given;
    without a mask the host is a margin of ``mesh.margin`` around the labelled regions. ``image``
    (optional: the MRI or CT intensities) is the background of the figures, and the fixed image of the
    atlas registration.

    ``extent``: ``crop`` (default) meshes the brain within ``mesh.margin`` of the lesion (the fixed outer
    boundary is the crop edge); ``whole_brain`` meshes the whole ``tissue_mask`` (the outer boundary is the
    brain surface, i.e. the skull), with the size field still fine at the tumour and graded to
    ``size_far`` away from it.
    """

    kind: Literal["segmentation"]
    labels: Path
    tissue_mask: Path | None = None
    image: Path | None = None
    tissue_maps: dict[str, Path] | None = None
    label_preset: Literal["brats2013", "brats2017", "brats2023"] | None = None
    regions: dict[str, list[Label]] | None = None
    host_region: str = "host"
    extent: Literal["crop", "whole_brain"] = "crop"
    atlas: AtlasRegistration | None = None

    @field_validator("labels", "tissue_mask", "image", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)

    @field_validator("tissue_maps", mode="before")
    @classmethod
    def _paths(cls, value: Any, info: ValidationInfo) -> dict[str, Path] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise ValueError("expected a mapping of tissue name to probability-map file")
        return {str(k): resolve_path(v, info) for k, v in value.items()}

    @field_validator("regions")
    @classmethod
    def _labels_valid(cls, value: dict[str, list[int]] | None) -> dict[str, list[int]] | None:
        if value is None:
            return None
        seen: dict[int, str] = {}
        for name, labels in value.items():
            if not labels:
                raise ValueError(f"region '{name}' has no label values")
            for label in labels:
                if label <= 0:
                    raise ValueError(f"region '{name}': label {label} must be > 0 (0 is background)")
                if label in seen:
                    raise ValueError(f"label {label} is claimed by both '{seen[label]}' and '{name}'")
                seen[label] = name
        return value

    @model_validator(mode="after")
    def _one_label_source(self) -> SegmentationGeometry:
        if (self.regions is None) == (self.label_preset is None):
            raise FieldProblem("regions", self.regions,
                               "give exactly one of 'regions' (name: [label values]) or 'label_preset' "
                               f"(one of {', '.join(LABEL_PRESETS)})")
        if self.extent == "whole_brain" and self.tissue_mask is None:
            raise FieldProblem("extent", self.extent, "'whole_brain' needs geometry.tissue_mask (the brain mask)")
        if self.atlas is not None:
            if self.tissue_maps is not None:
                raise FieldProblem("atlas", "given", "give either 'atlas' (registered MNI152 maps) or "
                                   "'tissue_maps', not both")
            for key in ("image", "tissue_mask"):
                if getattr(self, key) is None:
                    raise FieldProblem("atlas", "given", f"the atlas registration needs geometry.{key}")
        return self

    def label_map(self) -> dict[str, list[int]]:
        """Region name -> label values (explicit or from the preset)."""
        return dict(self.regions) if self.regions is not None else dict(LABEL_PRESETS[self.label_preset])

    def host_names(self) -> list[str]:
        """Host-tissue region names (probability-map classes, atlas tissues, or the single host region)."""
        if self.atlas is not None:
            return list(ATLAS_TISSUES)
        return list(self.tissue_maps) if self.tissue_maps else [self.host_region]

    def region_names(self) -> list[str]:
        """Region names in tag order: labelled regions, then host tissue."""
        return list(self.label_map()) + self.host_names()


def _without_key(exc: InputDataError, key: str) -> str:
    """A reader's message without its key (the case error names the key once)."""
    return str(exc).replace(f": key '{key}':", ":", 1)


class DicomGeometry(StrictModel):
    """A CT or MR DICOM series (``series``: its folder) and the RTSTRUCT drawn on it; ROI names map to regions.

    Example::

        geometry:
          kind: dicom
          series: lung1_001_dicom/image
          rtstruct: lung1_001_dicom/mask_rtstruct/1-1.dcm
          regions: {tumour: [GTV-1]}
          tissue_rois: [Lung-Left, Lung-Right]
          host_region: lung

    The label map is built on the series grid (:mod:`oncotwin.imaging.rtstruct`): region ``n`` of
    ``regions`` gets label ``n`` (1-based); where ROIs overlap the region listed first keeps the voxel.
    The union of ``tissue_rois`` (and the regions) is the tissue mask; without it the host is a margin of
    ``mesh.margin`` around the labelled regions, as for a segmentation. The references (RTSTRUCT drawn on
    this series) and the ROI names are checked when the case is read.
    """

    kind: Literal["dicom"]
    series: Path
    rtstruct: Path
    regions: dict[str, list[str]]
    tissue_rois: list[str] | None = None
    host_region: str = "host"

    @field_validator("series", mode="before")
    @classmethod
    def _folder(cls, value: Any, info: ValidationInfo) -> Path:
        return resolve_folder(value, info)

    @field_validator("rtstruct", mode="before")
    @classmethod
    def _file(cls, value: Any, info: ValidationInfo) -> Path:
        return resolve_path(value, info)

    @field_validator("regions")
    @classmethod
    def _rois_valid(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("expected a mapping of region name to ROI names, e.g. {tumour: [GTV-1]}")
        seen: dict[str, str] = {}
        for name, rois in value.items():
            if not rois:
                raise ValueError(f"region '{name}' has no ROI names")
            for roi in rois:
                if roi in seen:
                    raise ValueError(f"ROI '{roi}' is claimed by both '{seen[roi]}' and '{name}'")
                seen[roi] = name
        return value

    @model_validator(mode="after")
    def _references(self) -> DicomGeometry:
        try:
            series = read_series(self.series, "geometry.series")
        except InputDataError as exc:
            raise FieldProblem("series", str(self.series), _without_key(exc, "geometry.series")) from None
        wanted = {roi: f"geometry.regions.{name}" for name, rois in self.regions.items() for roi in rois}
        wanted.update({roi: "geometry.tissue_rois" for roi in self.tissue_rois or [] if roi not in wanted})
        try:
            check_roi_names(read_structure_set(self.rtstruct, series, "geometry.rtstruct"), wanted)
        except InputDataError as exc:
            found = re.search(r": key '(geometry\.[^']+)':", str(exc))
            key = found.group(1) if found else "geometry.rtstruct"
            value = {"geometry.tissue_rois": self.tissue_rois,
                     **{f"geometry.regions.{n}": rois for n, rois in self.regions.items()}}.get(key, str(self.rtstruct))
            raise FieldProblem(key.removeprefix("geometry."), value, _without_key(exc, key)) from None
        if self.host_region in self.regions:
            raise FieldProblem("host_region", self.host_region, "the host region must not be one of the ROI regions")
        return self

    def label_map(self) -> dict[str, list[int]]:
        """Region name -> label value of the label map built from the ROIs (1-based, in order)."""
        return {name: [i + 1] for i, name in enumerate(self.regions)}

    def host_names(self) -> list[str]:
        """The host-tissue region name."""
        return [self.host_region]

    def region_names(self) -> list[str]:
        """Region names in tag order: ROI regions, then the host tissue."""
        return list(self.regions) + [self.host_region]


class SyntheticTumour(StrictModel):
    """A synthetic spherical tumour placed at a world coordinate (mm, RAS as in the atlas)."""

    centre: tuple[float, float, float]
    radius: Length
    necrotic_radius: LengthOrZero = 0.0
    edema_radius: LengthOrZero = 0.0

    @model_validator(mode="after")
    def _radii(self) -> SyntheticTumour:
        if self.necrotic_radius >= self.radius:
            raise FieldProblem("necrotic_radius", f"{self.necrotic_radius:g} mm", "must be smaller than radius")
        if self.edema_radius and self.edema_radius <= self.radius:
            raise FieldProblem("edema_radius", f"{self.edema_radius:g} mm",
                               "must be larger than radius (or 0 for no edema)")
        return self


class AtlasGeometry(StrictModel):
    """Real MNI152 (2009) brain anatomy shipped with nilearn, plus a synthetic tumour.

    Regions: ``necrotic`` (if any), ``tumour``, ``edema`` (if any), ``grey``, ``white``.
    """

    kind: Literal["mni152"]
    tumour: SyntheticTumour
    resolution: Literal[1, 2] = 2

    def region_names(self) -> list[str]:
        """Region names in tag order."""
        names = ["necrotic"] if self.tumour.necrotic_radius > 0 else []
        names.append("tumour")
        names += ["edema"] if self.tumour.edema_radius > 0 else []
        return names + ["grey", "white"]


Geometry = Annotated[SphereGeometry | SegmentationGeometry | DicomGeometry | AtlasGeometry,
                     Field(discriminator="kind")]
