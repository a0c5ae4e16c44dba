"""Case-file section ``mesh``: target element sizes and clean-up of the gmsh mesh."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.quantity import Length, LengthOrZero, MeshSize, Quantity


class MeshOptions(StrictModel):
    """Meshing parameters (gmsh). Sizes are target tetrahedron edge lengths.

    ``size_rim`` (default ``size_tumour``) holds within ``rim_band`` on both sides of the tumour boundary,
    where the interstitial pressure drops in a layer of width 1/sqrt(Lp S/V / K) (a fraction of a mm),
    then sizes grade linearly to ``size_far`` over ``grading_distance``.
    """

    size_tumour: MeshSize = 1.5
    size_far: MeshSize = 6.0
    size_rim: MeshSize | None = None
    rim_band: LengthOrZero = 0.0
    grading_distance: Length = 15.0
    margin: Length = 15.0
    min_component: Quantity("mm^3", example="20 mm^3", nonnegative=True) = 20.0
    smoothing_iterations: Annotated[int, Field(ge=0, le=200)] = 20
    optimize: bool = True

    @model_validator(mode="after")
    def _sizes(self) -> MeshOptions:
        if self.size_tumour > self.size_far:
            raise FieldProblem("size_tumour", f"{self.size_tumour:g} mm",
                               f"must not exceed size_far ({self.size_far:g} mm)")
        return self
