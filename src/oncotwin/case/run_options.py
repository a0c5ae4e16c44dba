"""Case-file sections that control a run: ``time`` (stepping), ``solver`` (PETSc options) and ``output``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.quantity import Duration


MAX_OUTPUTS = 1000  # default bound on the number of outputs (each writes every field of the mesh)


class TimeOptions(StrictModel):
    """Time stepping of the transient physics.

    Steps restart at ``min_step`` after every dose event (start and end of each infusion or bolus)
    and double up to ``max_step``; outputs are written every ``output_every`` and at the end, at most
    ``max_outputs`` of them (a guard against e.g. ``output_every: "1 s"``, which fills the disk).
    """

    end: Duration
    max_step: Duration = 6 * 3600.0
    min_step: Duration = 300.0
    output_every: Duration = 86400.0
    max_outputs: Annotated[int, Field(ge=1)] = MAX_OUTPUTS

    @model_validator(mode="after")
    def _steps(self) -> TimeOptions:
        if self.min_step > self.max_step:
            raise FieldProblem("min_step", f"{self.min_step:g} s", f"must not exceed max_step ({self.max_step:g} s)")
        if self.max_step > self.end:
            raise FieldProblem("max_step", f"{self.max_step:g} s", f"must not exceed end ({self.end:g} s)")
        outputs = self.end / self.output_every
        if outputs > self.max_outputs:
            raise FieldProblem("output_every", f"{self.output_every:g} s",
                               f"gives about {outputs:.3g} outputs over end ({self.end:g} s), more than "
                               f"time.max_outputs ({self.max_outputs}); raise time.output_every or "
                               "time.max_outputs")
        return self

    @model_serializer(mode="wrap")
    def _without_default_max_outputs(self, handler: SerializerFunctionWrapHandler) -> dict:
        # the dump (validate output, case hash) of a case without the key stays what it was before the key
        data = handler(self)
        if isinstance(data, dict) and data.get("max_outputs") == MAX_OUTPUTS:
            data.pop("max_outputs")
        return data


PetscValue = str | int | float | bool


class Output(StrictModel):
    """What a run writes besides metrics and the manifest."""

    fields: bool = True
    figures: bool = True
