"""Regimen files for ``oncotwin compare``: named treatments run on one patient case.

Example::

    regimens:
      - name: stupp
        description: radiotherapy 30 x 2 Gy with concomitant temozolomide
        treatment:                       # the case file's treatment section (patient from the case)
          drugs: [{drug: temozolomide, dose: "75 mg/m^2", route: oral, schedule: "daily x 42"}]
          radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 1-5 every 7 days x 6"}
      - name: rt_alone
        treatment: {radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 1-5 every 7 days x 6"}}
    objective:
      minimise: final_tumour_volume      # or min_tumour_volume, final_tumour_cells, final_viable_volume
      constraints:                       # normal-tissue exposure limits (toxicity proxy)
        - {metric: normal_auc, drug: temozolomide, max: "400 mg*h/L"}
    response: {volume: tumour_volume_mm3, complete: 0.01, partial: -0.65, progression: 0.40}

Every regimen becomes a complete case (the patient case with that treatment) validated exactly like a
case file, so every problem is reported before any simulation starts, with the regimen file's key. The
untreated control (``control``) is always added.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.load import (
    _to_case_error,
    read_case_data,
    read_yaml_mapping,
)
from oncotwin.case.quantity import Quantity
from oncotwin.case.schema import Case
from oncotwin.core.errors import CaseError
from oncotwin.core.hashing import file_sha256
from oncotwin.pk.drugs import UnknownDrugError, lookup

CONTROL = "control"
OBJECTIVES = {
    "final_tumour_volume": "final tumour volume",
    "min_tumour_volume": "smallest tumour volume",
    "final_tumour_cells": "final tumour cell count",
    "final_viable_volume": "final viable tumour volume",
}


class Constraint(StrictModel):
    """An upper limit of a normal-tissue exposure of one drug (toxicity proxy)."""

    metric: Literal["normal_auc", "normal_cmax"]
    drug: str
    max: float

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        if isinstance(data, dict) and "max" in data:
            unit = "mg*h/L" if data.get("metric") == "normal_auc" else "mg/L"
            example = "400 mg*h/L" if unit == "mg*h/L" else "5 mg/L"
            validator = Quantity(unit, example=example, positive=True)
            from pydantic import TypeAdapter

            try:
                data = dict(data, max=TypeAdapter(validator).validate_python(data["max"]))
            except ValidationError as exc:
                raise FieldProblem("max", data["max"], exc.errors()[0]["msg"].removeprefix("Value error, ")) \
                    from None
        return data


class Objective(StrictModel):
    """Which regimen wins: the smallest value of ``minimise`` among those within every constraint."""

    minimise: Literal[tuple(OBJECTIVES)] = "final_tumour_volume"
    constraints: list[Constraint] = []

    def describe(self) -> str:
        """The objective in words."""
        text = f"smallest {OBJECTIVES[self.minimise].removeprefix('smallest ')}"
        limits = [f"normal-tissue {c.drug} {'AUC' if c.metric == 'normal_auc' else 'Cmax'} <= {c.max:g} "
                  f"{'mg h/L' if c.metric == 'normal_auc' else 'mg/L'}" for c in self.constraints]
        return text + (" subject to " + " and ".join(limits) if limits else "")


class ResponseThresholds(StrictModel):
    """Volumetric response categories in the spirit of RECIST/RANO.

    Relative to the baseline volume: complete response (CR) at or below ``complete`` of it, partial
    response (PR) at a change of ``partial`` or less (-65 % in volume ~ -30 % in diameter, RECIST);
    progression (PD) when the volume exceeds its running minimum (nadir) by ``progression`` (+40 %, as in
    volumetric RANO criteria); stable disease (SD) otherwise.
    """

    volume: Literal["tumour_volume_mm3", "viable_volume_mm3"] = "tumour_volume_mm3"
    complete: Annotated[float, Field(ge=0, lt=1)] = 0.01
    partial: Annotated[float, Field(gt=-1, lt=0)] = -0.65
    progression: Annotated[float, Field(gt=0)] = 0.40


class RegimenSpec(StrictModel):
    """One named regimen: a treatment section (raw; validated as part of its case)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    description: str = ""
    treatment: dict[str, Any] = {}
    drug_effect: dict[str, Any] = {}


class RegimenFile(StrictModel):
    """A regimen file."""

    regimens: Annotated[list[RegimenSpec], Field(min_length=1)]
    objective: Objective = Objective()
    response: ResponseThresholds = ResponseThresholds()

    @model_validator(mode="after")
    def _unique(self) -> RegimenFile:
        seen: dict[str, int] = {}
        for i, regimen in enumerate(self.regimens):
            if regimen.name in seen:
                raise FieldProblem(f"regimens.{i}.name", regimen.name,
                                   f"duplicate regimen name (also regimens.{seen[regimen.name]}); names must be "
                                   "unique")
            if regimen.name == CONTROL and regimen.treatment:
                raise FieldProblem(f"regimens.{i}.name", regimen.name,
                                   f"'{CONTROL}' is the untreated control, added automatically; choose another name")
            seen[regimen.name] = i
        return self


class Regimen(StrictModel):
    """A validated regimen: its name, description and complete case."""

    name: str
    description: str
    case: Case


def read_regimens(case_path: str | Path, regimens_path: str | Path) -> tuple[Case, str, RegimenFile,
                                                                             list[Regimen], str]:
    """Validate the patient case and every regimen built on it (no simulation).

    The case file's own treatment (other than the patient) is replaced by each regimen's, and drug
    transport runs exactly for the regimens that give drugs.

    Returns:
        The control case, the case file's hash, the regimen file, the regimens (control first) and the
        regimen file's hash.

    Raises:
        CaseError: naming the regimen file, the key, the value and what is allowed.
    """
    case_data, case_sha, case_dir = read_case_data(case_path)  # merged with the case's base chain, if any
    _, case_lines = read_yaml_mapping(Path(case_path), "a case file is a YAML mapping of keys")
    path = Path(regimens_path)
    shown = str(path)
    data, lines = read_yaml_mapping(path, "a regimen file is a YAML mapping with 'regimens' (and optionally "
                                    "'objective', 'response')", kind="regimen file")
    try:
        spec = RegimenFile.model_validate(data)
    except ValidationError as exc:
        raise _to_case_error(exc, shown, data, lines) from None
    specs = [RegimenSpec(name=CONTROL, description="untreated control")]
    specs += [r for r in spec.regimens if r.name != CONTROL]
    base_dir = str(case_dir)
    regimens = []
    for spec_item in specs:
        index = next((i for i, r in enumerate(spec.regimens) if r.name == spec_item.name), None)
        prefix = (f"regimens.{index}",) if index is not None else ()
        regimen_data = _regimen_case_data(case_data, spec_item)
        try:
            regimen_case = Case.model_validate(regimen_data, context={"base_dir": base_dir})
        except ValidationError as exc:
            error = _to_case_error(exc, str(case_path), regimen_data, case_lines)
            raise _in_regimen(error, shown, prefix, spec_item.name, lines) from None
        regimens.append(Regimen(name=spec_item.name, description=spec_item.description, case=regimen_case))
    drugs = {d for r in regimens for d in r.case.treatment.drug_names()}
    for i, constraint in enumerate(spec.objective.constraints):
        if constraint.drug not in drugs:
            raise CaseError(shown, f"objective.constraints.{i}.drug", constraint.drug,
                            f"no regimen gives this drug; drugs: {', '.join(sorted(drugs)) or 'none'}",
                            line=lines.get(("objective", "constraints", i, "drug")))
    return regimens[0].case, case_sha, spec, regimens, file_sha256(path)


def _regimen_case_data(case_data: dict, regimen: RegimenSpec) -> dict:
    """The case file's data with the regimen's treatment (and the case's patient unless it gives one)."""
    data = copy.deepcopy(case_data)
    treatment = copy.deepcopy(regimen.treatment)
    patient = (case_data.get("treatment") or {}).get("patient")
    if patient is not None and "patient" not in treatment:
        treatment["patient"] = patient
    data["treatment"] = treatment
    physics = data.setdefault("physics", {}) or {}
    data["physics"] = physics
    # drug transport runs exactly when the regimen gives drugs (with the case's drug options)
    drugs = {str(d.get("drug")) for d in treatment.get("drugs", []) if isinstance(d, dict)}
    drug_options = physics.get("drug") if isinstance(physics.get("drug"), dict) else {}
    physics["drug"] = dict(drug_options, enabled=bool(drugs))
    growth = physics.get("growth")
    if isinstance(growth, dict):
        effects = {**(growth.get("drug_effect") or {}), **regimen.drug_effect}
        growth = dict(growth, drug_effect={k: v for k, v in effects.items() if k in _library_names(drugs)})
        physics["growth"] = growth
    return data


def _library_names(drugs: set[str]) -> set[str]:
    """Names as given and as the drug library spells them (aliases)."""
    names = set(drugs)
    for d in drugs:
        try:
            names.add(lookup(d).name)
        except UnknownDrugError:
            pass
    return names


def _in_regimen(error: CaseError, shown: str, prefix: tuple, name: str, lines: dict) -> CaseError:
    """Re-address a case error to the regimen file (treatment keys) or name the regimen (others)."""
    key = error.key
    if prefix and key.startswith("treatment"):
        full = ".".join(prefix) + "." + key
        loc = tuple(int(p) if p.isdigit() else p for p in full.split("."))
        line = next((lines[loc[:d]] for d in range(len(loc), 0, -1) if loc[:d] in lines), None)
        return CaseError(shown, full, error.value, error.allowed, line=line)
    return CaseError(error.file, error.key, error.value, f"{error.allowed} (with regimen '{name}')",
                     line=error.line)
