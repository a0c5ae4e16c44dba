"""Profile rules: data that map a tumour's molecular and immune profile to parameter priors.

A rule file (the shipped one is ``oncotwin/data/profile_rules.yaml``; a case adds its own with
``treatment.patient.profile.rules``) is validated like a case file: unknown keys, markers or target
parameters are one-line errors naming the file, the key, the value and what is allowed. Example::

    kind: profile_rules
    rules:
      - name: mgmt_unmethylated_temozolomide
        when: {mgmt_methylated: false}           # every condition must hold
        target: temozolomide_effect              # a key of oncotwin.defaults.immune.TARGETS
        factor: 0.21                             # multiplies the prior (or: value: "0.3 1/Gy", or: derive: ...)
        effect_size: "median survival gain with temozolomide 0.9 vs 6.4 months"
        source: "[HE05] Hegi et al., N Engl J Med 2005;352:997"

Conditions: a boolean marker equals ``true``/``false``; a numeric marker is compared with
``">= 10"``, ``"> 10"``, ``"<= 10"`` or ``"< 10"`` (in the marker's unit: mut/Mb, %, cells/mm^2) or just
``given``. ``derive`` computes the prior from a marker: ``gard_alpha`` (alpha from RSI, Scott et al. 2017)
or ``tps_fraction`` (TPS / 100). Rules apply in file order (shipped file first); a factor multiplies the
current prior, a value or derived prior replaces it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from oncotwin.case.base import StrictModel
from oncotwin.core.errors import CaseError
from oncotwin.core.safe_yaml import read_yaml
from oncotwin.core.units import UnitError, to_internal
from oncotwin.defaults.immune import GARD_BETA, GARD_DOSE_PER_FRACTION, TARGET_BOUNDS, TARGET_UNITS, TARGETS

BOOLEAN_MARKERS = ("mgmt_methylated", "idh_mutant", "hpv_positive", "egfr_mutant", "alk_rearranged")
NUMERIC_MARKERS = {"tmb": "mut/Mb", "pdl1_tps": "%", "cd8_density": "cells/mm^2", "rsi": ""}
MARKERS = BOOLEAN_MARKERS + tuple(NUMERIC_MARKERS)
DERIVATIONS = {"gard_alpha": ("rsi", "radiosensitivity"), "tps_fraction": ("pdl1_tps", "pdl1_suppression")}
_COMPARISON = re.compile(r"^\s*(?P<op>>=|<=|>|<)\s*(?P<x>[-+0-9.eE]+)\s*$")


class Rule(StrictModel):
    """One rule: conditions on markers, a target prior and its effect, with the published effect size."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    when: dict[str, bool | str]
    target: str
    factor: float | None = Field(default=None, ge=0, le=100)
    value: str | float | None = None
    derive: Literal["gard_alpha", "tps_fraction"] | None = None
    effect_size: str = Field(min_length=3)
    source: str = Field(min_length=3)

    @field_validator("when")
    @classmethod
    def _markers(cls, value: dict[str, bool | str]) -> dict[str, bool | str]:
        if not value:
            raise ValueError("a rule needs at least one condition")
        for marker, condition in value.items():
            if marker not in MARKERS:
                raise ValueError(f"unknown marker {marker!r}; allowed: {', '.join(MARKERS)}")
            if marker in BOOLEAN_MARKERS and not isinstance(condition, bool):
                raise ValueError(f"{marker} is true or false, got {condition!r}")
            if marker in NUMERIC_MARKERS and not (condition == "given" or (isinstance(condition, str)
                                                                           and _COMPARISON.match(condition))):
                raise ValueError(f"{marker}: expected 'given' or a comparison like '>= 10', got {condition!r}")
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if value not in TARGETS:
            raise ValueError(f"unknown target parameter {value!r}; allowed: {', '.join(TARGETS)}")
        return value

    @model_validator(mode="after")
    def _one_effect(self) -> Rule:
        given = [k for k in ("factor", "value", "derive") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a rule has exactly one of factor, value or derive (got {', '.join(given) or 'none'})")
        if self.derive is not None and DERIVATIONS[self.derive][1] != self.target:
            raise ValueError(f"derive {self.derive} gives {DERIVATIONS[self.derive][1]}, not {self.target}")
        if self.value is not None:
            self.value_internal()
        return self

    def value_internal(self) -> float:
        unit = TARGET_UNITS[self.target] or "dimensionless"
        try:
            return to_internal(self.value, unit, example=str(TARGETS[self.target]))
        except UnitError as exc:
            raise ValueError(f"value {exc}") from None

    def fires(self, markers: dict[str, Any]) -> bool:
        """Whether every condition holds for the given markers (a missing marker fails its condition)."""
        return all(_holds(markers.get(marker), condition) for marker, condition in self.when.items())


class RuleFile(StrictModel):
    """A rule file: ``kind: profile_rules`` and its rules (names unique)."""

    kind: Literal["profile_rules"]
    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _unique(cls, value: list[Rule]) -> list[Rule]:
        names = [r.name for r in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"rule {repeated[0]!r} is defined more than once")
        return value


def _holds(marker: Any, condition: bool | str) -> bool:
    if marker is None:
        return False
    if isinstance(condition, bool):
        return marker is condition
    if condition == "given":
        return True
    match = _COMPARISON.match(condition)
    x = float(match["x"])
    return {">=": marker >= x, "<=": marker <= x, ">": marker > x, "<": marker < x}[match["op"]]


def shipped_rules_path() -> Path:
    """The rule file shipped with oncotwin."""
    return Path(str(resources.files("oncotwin") / "data" / "profile_rules.yaml"))


def read_rules(path: str | Path) -> list[Rule]:
    """Rules of a rule file, validated (one-line :class:`CaseError` naming the file on any problem)."""
    data, lines = read_yaml(path, "rule file")
    try:
        return RuleFile.model_validate(data).rules
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            model = Rule if len(loc) >= 3 and loc[0] == "rules" else RuleFile
            message = f"unknown key (allowed: {', '.join(model.model_fields)})"
            value = loc[-1]
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input") if error["type"] != "missing" else "<missing>"
            if error["type"] == "missing":
                message = "this key is required"
        key = ".".join(str(p) for p in loc) or "<document>"
        line = next((lines[loc[:d]] for d in range(len(loc), 0, -1) if loc[:d] in lines), None)
        raise CaseError(str(path), key, value, message, line=line) from None


@dataclass(frozen=True)
class FiredRule:
    """A rule that applied, with the prior before and after it (internal units)."""

    rule: Rule
    before: float
    after: float


def apply_rules(markers: dict[str, Any], rules: list[Rule]) -> tuple[dict[str, float], list[FiredRule]]:
    """Priors of every target after the rules that fire for ``markers`` (internal units), and those rules.

    Raises:
        ValueError: a derived or scaled prior falls outside its target's bounds (names the rule).
    """
    priors = {name: _default(name) for name in TARGETS}
    fired = []
    for rule in rules:
        if not rule.fires(markers):
            continue
        before = priors[rule.target]
        if rule.factor is not None:
            after = before * rule.factor
        elif rule.value is not None:
            after = rule.value_internal()
        else:
            after = derived(rule.derive, markers[DERIVATIONS[rule.derive][0]])
        low, high = TARGET_BOUNDS[rule.target]
        if not low <= after <= high:
            raise ValueError(f"rule {rule.name} gives {rule.target} = {after:.4g}, outside [{low:g}, {high:g}]")
        priors[rule.target] = after
        fired.append(FiredRule(rule, before, after))
    return priors, fired


def derived(kind: str, marker: float) -> float:
    """A prior computed from a marker: GARD alpha from RSI [1/Gy], or the TPS as a fraction."""
    if kind == "gard_alpha":
        # RSI is the surviving fraction at 2 Gy: RSI = exp(-n d (alpha + beta d)), n = 1 (Scott 2017)
        return math.log(marker) / (-GARD_DOSE_PER_FRACTION) - GARD_BETA * GARD_DOSE_PER_FRACTION
    return marker / 100.0


def _default(name: str) -> float:
    unit = TARGET_UNITS[name]
    return to_internal(TARGETS[name], unit) if unit else float(TARGETS[name])
