"""Case-file section ``treatment.radiotherapy``: fractions, LQ radiobiology and, optionally, the planned dose.

Example::

    radiotherapy:
      dose_per_fraction: "2 Gy"            # the prescription
      schedule: "daily x 30"
      dose: plan/RD.dcm                    # optional: RTDOSE of the plan (total dose; local dose per fraction)
      plan: plan/RP.dcm                    # optional: RTPLAN whose NumberOfFractionsPlanned divides it

Without ``dose`` every node of the target regions receives ``dose_per_fraction`` (the default). With an
RTDOSE file the local dose per fraction is the dose grid, resampled to the mesh nodes with the grid's own
affine (:mod:`oncotwin.imaging.rtdose`), divided by the number of fractions: the RTPLAN's planned count
when ``plan`` is given (it must equal the fractions of ``schedule``), else the fractions of ``schedule``.
A grid of one fraction (``DoseSummationType`` FRACTION) is used as it is. ``dose_per_fraction`` stays the
prescription (the dose reported as given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.paths import resolve_path
from oncotwin.case.quantity import Quantity
from oncotwin.core.errors import InputDataError
from oncotwin.core.units import to_internal
from oncotwin.defaults.tissue import OER_K, OER_MAX, RT_ALPHA, RT_ALPHA_BETA
from oncotwin.imaging.rtdose import DoseGrid, planned_fractions, read_rtdose
from oncotwin.pk.schedule import ScheduleError, parse_schedule


def schedule_times(schedule: str) -> list[float]:
    """Start times [s] of a compact schedule (a :class:`FieldProblem` on ``schedule`` when unreadable)."""
    try:
        return [float(t) for t in parse_schedule(schedule).times()]
    except ScheduleError as exc:
        raise FieldProblem("schedule", schedule, str(exc)) from None


class Radiotherapy(StrictModel):
    """External-beam radiotherapy by the linear-quadratic model with oxygen enhancement.

    Each fraction multiplies the tumour cells in the target regions by
    ``exp(-alpha D' - beta D'^2)`` with ``D' = OMF(pO2) D`` (both clones), ``D`` the local dose of the
    fraction (``dose_per_fraction``, or the RTDOSE grid per fraction).
    """

    dose_per_fraction: Quantity("Gy", example="2 Gy", positive=True)
    schedule: str
    alpha: Quantity("1/Gy", example="0.06 1/Gy", positive=True) = to_internal(RT_ALPHA, "1/Gy")
    alpha_beta: Quantity("Gy", example="10 Gy", positive=True) = to_internal(RT_ALPHA_BETA, "Gy")
    oer_max: Annotated[float, Field(ge=1, le=10)] = OER_MAX
    oer_k: Quantity("mmHg", example="3 mmHg", positive=True) = to_internal(OER_K, "mmHg")
    target_regions: list[str] | None = None
    dose: Path | None = None
    plan: Path | None = None

    @field_validator("schedule")
    @classmethod
    def _readable(cls, value: str) -> str:
        schedule_times(value)
        return value

    @field_validator("dose", "plan", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)

    @model_validator(mode="after")
    def _plan_files(self) -> Radiotherapy:
        if self.plan is not None and self.dose is None:
            raise FieldProblem("plan", str(self.plan), "an RTPLAN divides the RTDOSE grid: give 'dose' too")
        try:
            if self.dose is not None:
                read_rtdose(self.dose, "dose")
            planned = None if self.plan is None else planned_fractions(self.plan, "plan")
        except InputDataError as exc:
            key = "dose" if ": key 'dose':" in str(exc) else "plan"
            raise FieldProblem(key, str(getattr(self, key)), str(exc).replace(f": key '{key}':", ":", 1)) from None
        if planned is not None and planned != len(self.fraction_times()):
            raise FieldProblem("plan", str(self.plan), f"the RTPLAN plans {planned} fractions but the schedule "
                               f"{self.schedule!r} gives {len(self.fraction_times())}")
        return self

    @property
    def beta(self) -> float:
        """beta = alpha / (alpha/beta) [1/Gy^2]."""
        return self.alpha / self.alpha_beta

    def fraction_times(self) -> list[float]:
        """Start times of the fractions [s]."""
        return schedule_times(self.schedule)

    @property
    def total_dose(self) -> float:
        """Prescribed dose of the whole course [Gy]."""
        return self.dose_per_fraction * len(self.fraction_times())

    def dose_grid(self) -> DoseGrid | None:
        """The RTDOSE grid scaled to one fraction (Gy per fraction), or ``None`` for a uniform dose."""
        if self.dose is None:
            return None
        grid = read_rtdose(self.dose, "treatment.radiotherapy.dose")
        if grid.per_fraction:
            return grid
        fractions = len(self.fraction_times())  # equal to the RTPLAN's count when a plan is given
        return DoseGrid(grid.dose / fractions, grid.affine, grid.path, per_fraction=True)
