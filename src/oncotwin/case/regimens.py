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
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.load import (
    _to_case_error,
    read_case_data,
    read_yaml_mapping,
)
from oncotwin.case.objectives import (
    DEFAULT_FOLLOW_UP_DAYS,
    Constraint,
    FollowUp,
    Objective,
    OutcomeOptions,
)
from oncotwin.case.quantity import Quantity
from oncotwin.case.schema import Case
from oncotwin.case.transport import needs_transport
from oncotwin.core.errors import CaseError
from oncotwin.core.hashing import file_sha256
from oncotwin.outcomes.neutropenia import FRIBERG
from oncotwin.outcomes.survival import INDICATIONS, SurvivalNote, survival_model
from oncotwin.pk.drugs import UnknownDrugError, lookup
from oncotwin.pk.limits import cumulative_limit

CONTROL = "control"
DAY = 86400.0
# RANO measurable disease: at least 10 mm in two perpendicular diameters (Wen et al. 2010). As a volume:
# the sphere of 10 mm diameter (the third axis taken equal to the other two), pi/6 * (10 mm)^3.
MIN_MEASURABLE_VOLUME_MM3 = math.pi / 6.0 * 10.0**3


class ResponseThresholds(StrictModel):
    """Volumetric response categories in the spirit of RECIST/RANO.

    Relative to the baseline volume: complete response (CR) at or below ``complete`` of it, partial
    response (PR) at a change of ``partial`` or less (-65 % in volume ~ -30 % in diameter, RECIST);
    progression (PD) when the volume exceeds its running minimum (nadir) by ``progression`` (+40 %, as in
    volumetric RANO criteria); stable disease (SD) otherwise. Progression is measured from
    max(nadir, ``min_measurable_volume``) and needs a measurable volume (RANO: >= 10 mm in two perpendicular
    diameters, the sphere of 10 mm diameter = 524 mm^3), so the regrowth of a vanished tumour is progression
    only once it is measurable again.

    ``volume`` is the readout the categories use. ``auto`` (default) takes the enhancing (T1c) readout when
    the case has it: RANO measures the enhancing tumour and excludes necrosis (Wen et al. 2010); otherwise
    the total tumour volume.
    """

    volume: Literal["auto", "tumour_volume_mm3", "viable_volume_mm3", "enhancing_volume_mm3",
                    "flair_volume_mm3"] = "auto"
    complete: Annotated[float, Field(ge=0, lt=1)] = 0.01
    partial: Annotated[float, Field(gt=-1, lt=0)] = -0.65
    progression: Annotated[float, Field(gt=0)] = 0.40
    min_measurable_volume: Quantity("mm^3", example="524 mm^3", positive=True) = MIN_MEASURABLE_VOLUME_MM3


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
    outcomes: OutcomeOptions = OutcomeOptions()
    follow_up: FollowUp = DEFAULT_FOLLOW_UP_DAYS * DAY

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
    check_ranking(spec, regimens, shown, lines, str(case_path), case_lines)
    volume = response_volume(spec.response, regimens[0].case, shown, lines)
    spec = spec.model_copy(update={"response": spec.response.model_copy(update={"volume": volume})})
    return regimens[0].case, case_sha, spec, regimens, file_sha256(path)


def response_volume(response: ResponseThresholds, case: Case, shown: str, lines: dict) -> str:
    """The metrics column the response categories use (``auto`` resolved against the case's readouts).

    Raises:
        CaseError: a readout the case does not compute.
    """
    readouts = case.physics.growth.readouts
    if response.volume == "auto":
        return "enhancing_volume_mm3" if "enhancing" in readouts else "tumour_volume_mm3"
    name = response.volume.removesuffix("_volume_mm3")
    if name in ("enhancing", "flair") and name not in readouts:
        raise CaseError(shown, "response.volume", response.volume,
                        f"the case computes no '{name}' readout: add it to physics.growth.readouts, or use "
                        "tumour_volume_mm3", line=lines.get(("response", "volume")))
    return response.volume


def check_ranking(spec: RegimenFile, regimens: list[Regimen], shown: str, lines: dict, case_file: str,
                  case_lines: dict) -> None:
    """Checks that need every regimen: constraints that can be evaluated, and a horizon that covers them.

    Raises:
        CaseError: one line naming the file, the key, the value and what is allowed.
    """
    for i, constraint in enumerate(spec.objective.constraints):
        problem = constraint_problem(constraint, regimens)
        if problem is not None:
            key, value, allowed = problem
            raise CaseError(shown, f"objective.constraints.{i}.{key}", value, allowed,
                            line=lines.get(("objective", "constraints", i, key)))
    ntcp_problem = _undosed_ntcp(spec, regimens)
    if ntcp_problem is not None:
        i, region, allowed = ntcp_problem
        raise CaseError(shown, f"outcomes.ntcp.{i}.region", region, allowed,
                        line=lines.get(("outcomes", "ntcp", i, "region")))
    if spec.objective.maximise == "median_os" and (_survival(spec) is None or isinstance(_survival(spec), SurvivalNote)):
        with_model = ", ".join(k for k, v in INDICATIONS.items() if not isinstance(v, SurvivalNote))
        raise CaseError(shown, "objective.maximise", "median_os", "needs 'outcomes.indication' naming an indication "
                        f"with a survival model ({with_model})", line=lines.get(("objective", "maximise")))
    end = regimens[0].case.time.end if regimens[0].case.time is not None else 0.0
    for regimen in regimens:
        last = last_treatment(regimen.case.treatment)
        if last is not None and end < last + spec.follow_up:
            raise CaseError(case_file, "time.end", f"{end / DAY:g} day",
                            f"regimen '{regimen.name}' of {shown} is treated until day {last / DAY:g} and needs "
                            f"{spec.follow_up / DAY:g} day of follow-up: set time.end >= "
                            f"{math.ceil((last + spec.follow_up) / DAY):g} day (or lower 'follow_up' in {shown})",
                            line=case_lines.get(("time", "end")))


def _undosed_ntcp(spec: RegimenFile, regimens: list[Regimen]) -> tuple[int, str, str] | None:
    """(index, region, what is allowed) of the first ``outcomes.ntcp`` region that no regimen irradiates."""
    dosed = {region for r in regimens for region in dosed_regions(r.case)}
    for i, pair in enumerate(spec.outcomes.ntcp):
        if pair["region"] not in dosed:
            return i, pair["region"], (f"receives no radiotherapy dose in any regimen, so its NTCP is not defined; "
                                       f"regions with dose: {', '.join(sorted(dosed)) or 'none'}")
    return None


def _survival(spec: RegimenFile):
    return survival_model(spec.outcomes.indication) if spec.outcomes.indication else None


def constraint_problem(constraint: Constraint, regimens: list[Regimen]) -> tuple[str, object, str] | None:
    """(key, value, what is allowed) when the constraint cannot be evaluated on these regimens."""
    drugs = {d for r in regimens for d in r.case.treatment.drug_names()}
    if constraint.drug is not None and constraint.drug not in drugs:
        return "drug", constraint.drug, f"no regimen gives this drug; drugs: {', '.join(sorted(drugs)) or 'none'}"
    if constraint.metric.endswith("_neutropenia") and constraint.drug.lower() not in FRIBERG:
        return "drug", constraint.drug, (f"has no published myelosuppression (Friberg) parameters; drugs with them: "
                                         f"{', '.join(sorted(FRIBERG))}")
    if constraint.metric in ("normal_auc", "normal_cmax"):
        problem = _tissue_exposure_problem(constraint.drug, regimens)
        if problem:
            return "drug", constraint.drug, problem
    if constraint.metric == "cumulative_dose" and constraint.max is None and cumulative_limit(constraint.drug) is None:
        return "max", None, f"{constraint.drug} has no lifetime limit in the drug library; give 'max' in mg/m^2"
    if constraint.metric == "ntcp":
        dosed = {region for r in regimens for region in dosed_regions(r.case)}
        if constraint.region not in dosed:
            return "region", constraint.region, (f"receives no radiotherapy dose in any regimen; regions with dose: "
                                                 f"{', '.join(sorted(dosed)) or 'none'}")
    return None


def _tissue_exposure_problem(drug: str, regimens: list[Regimen]) -> str | None:
    """Why the normal-tissue exposure of ``drug`` is not computed in a regimen that gives it, else None (a
    regimen that gives drugs always has drug transport on: :func:`_regimen_case_data`)."""
    for r in regimens:
        if drug not in r.case.treatment.drug_names():
            continue
        if not needs_transport(r.case, drug):
            return (f"is a checkpoint inhibitor that acts through its PD-1 occupancy only, so regimen {r.name!r} "
                    "computes no tissue concentration (hence no normal-tissue AUC or Cmax); set "
                    "physics.drug.antibody_transport: true to compute it")
    return None


def dosed_regions(case: Case) -> list[str]:
    """Regions that receive the prescribed radiotherapy dose: the target regions, else every region (the
    tumour model irradiates the whole domain without target regions)."""
    rt = case.treatment.radiotherapy
    if rt is None:
        return []
    return list(rt.target_regions) if rt.target_regions else list(case.geometry.region_names())


def last_treatment(treatment) -> float | None:
    """End of the last administration, fraction or anti-angiogenic dose [s]; ``None`` without treatment."""
    times = [e.end for e in treatment.events()]
    if treatment.radiotherapy is not None:
        times += treatment.radiotherapy.fraction_times()
    if treatment.antiangiogenic is not None:
        times += [start for start, _ in treatment.antiangiogenic.windows()]
    return max(times) if times else None


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
