"""The ranking of a regimen file: objective, constraints, outcome options and the follow-up it needs.

Constraints (``objective.constraints``), each an upper limit ``max``:

================================  ==========================  ===============================================
metric                            needs                       ``max``
================================  ==========================  ===============================================
``normal_auc`` / ``normal_cmax``  ``drug``                    mg*h/L / mg/L in normal tissue (toxicity proxy)
``p_grade3_neutropenia``          ``drug`` (Friberg params)   probability of CTCAE grade >= 3 (0-1)
``p_grade4_neutropenia``          ``drug`` (Friberg params)   probability of CTCAE grade 4 (0-1)
``ntcp``                          ``region``, ``organ``       LKB NTCP of the region (0-1)
``cumulative_dose``               ``drug``                    mg/m^2 over the course; default: library limit
================================  ==========================  ===============================================
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.quantity import Quantity
from oncotwin.outcomes.ntcp import UnknownOrganError, organ_parameters
from oncotwin.outcomes.survival import UnknownIndicationError, survival_model

OBJECTIVES = {
    "final_tumour_volume": "final tumour volume",
    "min_tumour_volume": "smallest tumour volume",
    "final_tumour_cells": "final tumour cell count",
    "final_viable_volume": "final viable tumour volume",
}
MAXIMISE = {"median_os": "median overall survival", "tcp": "tumour control probability"}
DRUG_METRICS = ("normal_auc", "normal_cmax", "p_grade3_neutropenia", "p_grade4_neutropenia", "cumulative_dose")
_UNITS = {"normal_auc": ("mg*h/L", "400 mg*h/L"), "normal_cmax": ("mg/L", "5 mg/L"),
          "cumulative_dose": ("mg/m^2", "450 mg/m^2")}
_LABEL = {"normal_auc": "normal-tissue {drug} AUC", "normal_cmax": "normal-tissue {drug} Cmax",
          "p_grade3_neutropenia": "P(grade >= 3 neutropenia, {drug})",
          "p_grade4_neutropenia": "P(grade 4 neutropenia, {drug})", "ntcp": "NTCP of {region} ({organ})",
          "cumulative_dose": "cumulative {drug} dose"}
_SHOWN_UNIT = {"normal_auc": " mg h/L", "normal_cmax": " mg/L", "cumulative_dose": " mg/m^2"}

DEFAULT_FOLLOW_UP_DAYS = 28.0
"""Follow-up after the last treatment a horizon must cover: RECIST 1.1 (Eisenhauer EA et al., Eur J Cancer
2009;45:228) and RANO (Wen PY et al., J Clin Oncol 2010;28:1963) confirm a response by a repeat assessment
at least 4 weeks after it is first seen, so a ranking needs 4 weeks beyond the end of every course."""


class Constraint(StrictModel):
    """An upper limit on one outcome of a regimen (see the module table)."""

    metric: Literal["normal_auc", "normal_cmax", "p_grade3_neutropenia", "p_grade4_neutropenia", "ntcp",
                    "cumulative_dose"]
    drug: str | None = None
    region: str | None = None
    organ: str | None = None
    max: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("max") is None:
            return data
        metric = data.get("metric")
        if metric in _UNITS:
            unit, example = _UNITS[metric]
            validator = Quantity(unit, example=example, positive=True)
        else:
            validator = Annotated[float, Field(gt=0, le=1)]
        try:
            return dict(data, max=TypeAdapter(validator).validate_python(data["max"]))
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            if metric not in _UNITS:
                message = "a probability in (0, 1] is expected"
            raise FieldProblem("max", data["max"], message) from None

    @model_validator(mode="after")
    def _needs(self) -> Constraint:
        if self.metric in DRUG_METRICS and not self.drug:
            raise FieldProblem("drug", None, f"the {self.metric} constraint needs a 'drug'")
        if self.metric == "ntcp":
            if not self.region or not self.organ:
                raise FieldProblem("region" if not self.region else "organ", None,
                                   "the ntcp constraint needs a 'region' (a region of the case) and an 'organ'")
            try:
                organ_parameters(self.organ)
            except UnknownOrganError as exc:
                raise FieldProblem("organ", self.organ, str(exc).split("; ", 1)[1]) from None
        if self.max is None and self.metric != "cumulative_dose":
            raise FieldProblem("max", None, f"the {self.metric} constraint needs a 'max'")
        return self

    def describe(self, limit: float | None = None) -> str:
        """The constraint in words (``limit`` replaces a missing ``max``)."""
        value = self.max if self.max is not None else limit
        return (f"{_LABEL[self.metric].format(drug=self.drug, region=self.region, organ=self.organ)} <= "
                f"{value:g}{_SHOWN_UNIT.get(self.metric, '')}")


class Objective(StrictModel):
    """Which regimen wins: the best value of ``minimise`` (or ``maximise``) among those within every constraint."""

    minimise: Literal[tuple(OBJECTIVES)] | None = None
    maximise: Literal[tuple(MAXIMISE)] | None = None
    constraints: list[Constraint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one(self) -> Objective:
        if self.minimise is not None and self.maximise is not None:
            raise FieldProblem("maximise", self.maximise, "give either 'minimise' or 'maximise', not both")
        if self.minimise is None and self.maximise is None:
            object.__setattr__(self, "minimise", "final_tumour_volume")
        return self

    def describe(self, limits: dict[int, float] | None = None) -> str:
        """The objective in words."""
        text = (f"largest {MAXIMISE[self.maximise]}" if self.maximise else
                f"smallest {OBJECTIVES[self.minimise].removeprefix('smallest ')}")
        words = [c.describe((limits or {}).get(i)) for i, c in enumerate(self.constraints)]
        return text + (" subject to " + " and ".join(words) if words else "")


class NeutropeniaOptions(StrictModel):
    """Monte Carlo of the Friberg model (population size and seed: the same numbers on every run)."""

    patients: Annotated[int, Field(ge=10, le=100_000)] = 500
    seed: int = 2002


class OutcomeOptions(StrictModel):
    """Clinical outcomes computed for every regimen.

    ``indication`` names the survival model (:data:`oncotwin.outcomes.survival.INDICATIONS`); one without
    a model gives a note instead of a number. ``ntcp`` lists (region, organ) pairs to report.
    """

    indication: str | None = None
    ecog: Annotated[int, Field(ge=0, le=4)] = 0
    neutropenia: NeutropeniaOptions = NeutropeniaOptions()
    ntcp: list[dict[Literal["region", "organ"], str]] = Field(default_factory=list)
    clonogen_fraction: Annotated[float, Field(gt=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _known(self) -> OutcomeOptions:
        if self.indication is not None:
            try:
                survival_model(self.indication)
            except UnknownIndicationError as exc:
                raise FieldProblem("indication", self.indication, str(exc).split("; ", 1)[1]) from None
        for i, pair in enumerate(self.ntcp):
            if set(pair) != {"region", "organ"}:
                raise FieldProblem(f"ntcp.{i}", pair, "each entry needs 'region' and 'organ'")
            try:
                organ_parameters(pair["organ"])
            except UnknownOrganError as exc:
                raise FieldProblem(f"ntcp.{i}.organ", pair["organ"], str(exc).split("; ", 1)[1]) from None
        return self


FollowUp = Quantity("s", example="28 day", nonnegative=True)
