"""Case-file section ``physics.growth.cellularity``: the baseline tumour density from an ADC map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo, field_validator

from oncotwin.case.base import StrictModel
from oncotwin.case.paths import resolve_path
from oncotwin.case.quantity import Quantity
from oncotwin.core.units import to_internal
from oncotwin.defaults.tissue import FREE_WATER_ADC


class CellularityMap(StrictModel):
    """Initial viable density inside tumour regions from an ADC image (:mod:`oncotwin.imaging.cellularity`).

    Attributes:
        adc: the ADC image (NIfTI or NRRD) in the segmentation's world coordinates.
        voxel_unit: what one unit of the image's voxel values is, e.g. ``1e-6 mm^2/s`` for maps stored in
            micrometres^2/s (units are explicit: there is no guess from the value range).
        free_water_adc: ADC of zero cellularity (free water at 37 C; Holz, Heil & Sacco 2000).
        regions: regions whose interior takes the map (default: every region of kind tumour). Their
            surfaces keep the imaging edges (:mod:`oncotwin.problems.initial_cells`).
    """

    adc: Path
    voxel_unit: Quantity("mm^2/s", example="1e-6 mm^2/s", positive=True)
    free_water_adc: Quantity("mm^2/s", example="3.0e-3 mm^2/s", positive=True) = to_internal(FREE_WATER_ADC,
                                                                                             "mm^2/s")
    regions: list[str] | None = None

    @field_validator("adc", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path:
        return resolve_path(value, info)
