"""Case-file section ``treatment.patient.profile``: the tumour's molecular and immune profile.

Example::

    treatment:
      patient:
        profile:
          mgmt_methylated: false
          idh_mutant: false
          hpv_positive: true
          egfr_mutant: false
          alk_rearranged: false
          tmb: "12 mut/Mb"
          pdl1_tps: "60 %"
          cd8_density: "800 cells/mm^2"
          rsi: 0.35                      # radiosensitivity index (surviving fraction at 2 Gy), in (0, 1)
          rules: [my_rules.yaml]         # optional, after the shipped rules (relative to the case file)

Every marker is optional. The rule table (:mod:`oncotwin.case.profile_rules`) maps the profile to
parameter priors; :meth:`Profile.priors` applies it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.paths import resolve_path
from oncotwin.case.profile_rules import FiredRule, Rule, apply_rules, read_rules, shipped_rules_path
from oncotwin.core.units import UnitError, to_internal

_NUMBER = r"(?P<x>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_TMB = re.compile(rf"^\s*{_NUMBER}\s*mut\s*/\s*Mb\s*$")
_PERCENT = re.compile(rf"^\s*{_NUMBER}\s*%\s*$")


def _tmb(value: Any) -> float:
    match = _TMB.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError("expected a tumour mutational burden like '12 mut/Mb'")
    number = float(match["x"])
    if not (math.isfinite(number) and 0 <= number <= 10_000):
        raise ValueError("the tumour mutational burden must be between 0 and 10000 mut/Mb")
    return number


def _tps(value: Any) -> float:
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError("expected a PD-L1 tumour proportion score like '50 %'")
    number = float(match["x"])
    if not 0 <= number <= 100:
        raise ValueError("a tumour proportion score is a percentage of tumour cells: between 0 and 100 %")
    return number


def _cd8(value: Any) -> float:
    if not isinstance(value, str):
        raise ValueError("expected a CD8+ density like '300 cells/mm^2'")
    try:
        number = to_internal(re.sub(r"\bcells?\b", "", value).strip() or value, "1/mm^2", example="300 cells/mm^2")
    except UnitError as exc:
        raise ValueError(str(exc).replace("1/mm^2", "cells/mm^2")) from None
    if not (math.isfinite(number) and 0 <= number <= 1e6):
        raise ValueError("a CD8+ density must be between 0 and 1e6 cells/mm^2")
    return number


Tmb = Annotated[float, BeforeValidator(_tmb)]
Tps = Annotated[float, BeforeValidator(_tps)]
Cd8 = Annotated[float, BeforeValidator(_cd8)]


class Profile(StrictModel):
    """Molecular and immune markers of the tumour (every one optional) and extra rule files."""

    mgmt_methylated: bool | None = None
    idh_mutant: bool | None = None
    hpv_positive: bool | None = None
    egfr_mutant: bool | None = None
    alk_rearranged: bool | None = None
    tmb: Tmb | None = None
    pdl1_tps: Tps | None = None
    cd8_density: Cd8 | None = None
    rsi: Annotated[float, Field(gt=0, lt=1)] | None = None
    rules: list[Path] = []

    @field_validator("rules", mode="before")
    @classmethod
    def _rule_files(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list):
            raise ValueError("expected a list of rule files (relative to the case file)")
        return [resolve_path(v, info) for v in value]

    @model_validator(mode="after")
    def _rules_apply(self) -> Profile:
        try:
            self.priors()
        except ValueError as exc:
            raise FieldProblem("rules", [str(p) for p in self.rules], str(exc)) from None
        return self

    def markers(self) -> dict[str, Any]:
        """The markers that are given, by name (numbers in mut/Mb, %, cells/mm^2)."""
        return {k: v for k, v in self.model_dump().items() if k != "rules" and v is not None}

    def rule_list(self) -> list[Rule]:
        """Shipped rules, then the case's rule files in order (each validated; errors name the file)."""
        rules = list(read_rules(shipped_rules_path()))
        for path in self.rules:
            rules.extend(read_rules(path))
        return rules

    def priors(self) -> tuple[dict[str, float], list[FiredRule]]:
        """Priors of every target parameter (internal units) and the rules that fired, in order."""
        return apply_rules(self.markers(), self.rule_list())
