"""Case-file section ``treatment``: patient covariates and drug administrations, read and validated.

Example::

    treatment:
      patient: {height: "170 cm", weight: "70 kg", age: 60, sex: female, serum_creatinine: "0.9 mg/dL"}
      drugs:
        - {drug: temozolomide, dose: "75 mg/m^2", route: oral, schedule: "daily x 42"}
        - drug: doxorubicin
          dose: "60 mg/m^2"
          route: infusion
          duration: "30 min"
          schedule: "day 1 every 21 days x 6"        # or: start: "0 day", every: "21 day", count: 6
          parameters: {clearance: "50 L/h"}          # optional overrides of the drug library (DrugOverrides)

Times are relative to the start of the treatment (t = 0 = day 1). The compact schedule grammar is
documented in :mod:`oncotwin.pk.schedule`. Doses are flat (``"100 mg"``), per body surface
(``"75 mg/m^2"``, needs height and weight) or per body weight (``"5 mg/kg"``, needs weight).

The plasma curves that the dose events and drug parameters give are computed by :mod:`oncotwin.pk.plasma`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
import pint
from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.drug_overrides import DrugOverrides
from oncotwin.case.fhir import FhirError, bundle_covariates, missing_hint, source_of
from oncotwin.case.paths import resolve_path
from oncotwin.case.profile import Profile
from oncotwin.case.quantity import Quantity
from oncotwin.case.radiotherapy import Radiotherapy, schedule_times
from oncotwin.core.units import UnitError, convert, registry, to_internal
from oncotwin.pk.antibodies import label_basis_problem
from oncotwin.pk.covariates import (
    BSA_FORMULAS,
    CREATININE_G_PER_MOL,
    RENAL_THRESHOLD,
    cockcroft_gault,
)
from oncotwin.pk.drugs import (
    DrugParameters,
    UnknownDrugError,
    concentration_to_internal,
    get_drug,
    lookup,
    with_overrides,
)
from oncotwin.pk.schedule import (
    DAY,
    HOUR,
    MAX_DOSES,
    DoseEvent,
    Schedule,
    ScheduleError,
    expand,
    first_overlap,
    merge,
    parse_schedule,
)

_DOSE_HINT = "a dose like '100 mg', '75 mg/m^2' (per body surface) or '5 mg/kg' (per body weight)"


class DoseSpec(NamedTuple):
    """A dose as written: ``value`` in mg (flat), mg/mm^2 (``bsa``) or mg/mg (``weight``)."""

    value: float
    basis: Literal["flat", "bsa", "weight"]
    text: str


def _parse_dose(value: Any) -> Any:
    if isinstance(value, DoseSpec):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected {_DOSE_HINT}")
    if not isinstance(value, str):
        raise ValueError(f"a unit is required: expected {_DOSE_HINT}")
    try:
        quantity = registry().Quantity(value.strip())
    except Exception:  # noqa: BLE001 - pint raises many types for bad text
        raise ValueError(f"cannot read it as a dose; expected {_DOSE_HINT}") from None
    if not isinstance(quantity, pint.Quantity) or quantity.units == registry().dimensionless:
        raise ValueError(f"a unit is required: expected {_DOSE_HINT}")
    for basis, unit in (("flat", "mg"), ("bsa", "mg/mm^2"), ("weight", "mg/mg")):
        if quantity.dimensionality == registry().Quantity(1, unit).dimensionality:
            number = float(quantity.to(unit).magnitude)
            break
    else:
        raise ValueError(f"has dimension {quantity.dimensionality}; expected {_DOSE_HINT}")
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"a dose must be > 0 (a negative or zero dose is not allowed); expected {_DOSE_HINT}")
    return DoseSpec(number, basis, value.strip())


def _mass_concentration(value: Any, grams_per_mol: float, what: str) -> Any:
    """Mass concentration (mg/dL) or molar (umol/L, with the molar mass) -> mg/mm^3."""
    if value is None:
        return None
    try:
        return to_internal(value, "mg/mm^3", example="0.9 mg/dL")
    except UnitError:
        pass
    try:
        molar = to_internal(value, "mol/L", example="80 umol/L")
    except UnitError:
        raise ValueError(f"expected a {what} like '0.9 mg/dL' or '80 umol/L'") from None
    return convert(molar * grams_per_mol, "g/L", "mg/mm^3")


def _parse_serum_creatinine(value: Any) -> Any:
    return _mass_concentration(value, CREATININE_G_PER_MOL, "serum creatinine")


def _parse_bilirubin(value: Any) -> Any:
    return _mass_concentration(value, BILIRUBIN_G_PER_MOL, "total bilirubin")


def _parse_age(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return to_internal(value, "year", example="60 year")
        except UnitError as exc:
            raise ValueError(f"age {exc} (or a number of years)") from None
    return value


Dose = Annotated[DoseSpec, BeforeValidator(_parse_dose)]
BILIRUBIN_G_PER_MOL = 584.66  # C33H36N4O6 (PubChem CID 5280352)
SerumCreatinine = Annotated[float, BeforeValidator(_parse_serum_creatinine), Field(gt=0)]
Bilirubin = Annotated[float, BeforeValidator(_parse_bilirubin), Field(gt=0)]
AgeYears = Annotated[float, BeforeValidator(_parse_age), Field(gt=0, lt=130)]
TimeOffset = Quantity("s", example="0 day")
Duration = Quantity("s", example="1 h", positive=True)


# -------------------------------------------------------------------------------------------- patient
class Patient(StrictModel):
    """Patient covariates; every one is optional, but a dose or clearance model may need some.

    ``hepatic_factor`` multiplies the hepatic (non-renal) clearance: 1 = normal function. ``fhir`` (a FHIR R4
    Bundle, JSON) fills the covariates not given here (:mod:`oncotwin.case.fhir`); ``reference_date`` is the
    date its age and latest Observations refer to. ``bilirubin`` is read and converted but no clearance model
    uses it yet. ``profile`` holds the tumour's molecular and immune markers (:mod:`oncotwin.case.profile`).
    """

    height: Quantity("mm", example="170 cm", positive=True) | None = None
    weight: Quantity("mg", example="70 kg", positive=True) | None = None
    age: AgeYears | None = None
    sex: Literal["female", "male"] | None = None
    serum_creatinine: SerumCreatinine | None = None
    creatinine_clearance: Quantity("mm^3/s", example="90 mL/min", positive=True) | None = None
    bilirubin: Bilirubin | None = None
    hepatic_factor: Annotated[float, Field(ge=0, le=1)] = 1.0
    bsa_formula: Literal["mosteller", "dubois"] = "mosteller"
    fhir: Path | None = None
    reference_date: date | None = None
    profile: Profile | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_fhir(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or data.get("fhir") is None:
            return data
        try:
            path = resolve_path(data["fhir"], info)
        except ValueError as exc:
            raise FieldProblem("fhir", data["fhir"], str(exc)) from None
        reference = cls.model_validate({"reference_date": data.get("reference_date")}).reference_date
        try:
            covariates = bundle_covariates(path, reference)
        except FhirError as exc:
            raise FieldProblem("fhir", data["fhir"], str(exc)) from None
        merged = dict(data, fhir=str(path))
        for key, value in covariates.items():
            if data.get(key) is None:
                merged[key] = value
            elif getattr(cls.model_validate({key: data[key]}), key) != getattr(cls.model_validate({key: value}), key):
                raise FieldProblem(key, data[key], f"conflicts with the FHIR Bundle {path}, which gives {value} "
                                   f"({source_of(key)})")
        return merged

    @property
    def height_cm(self) -> float | None:
        return None if self.height is None else self.height / 10.0

    @property
    def weight_kg(self) -> float | None:
        return None if self.weight is None else self.weight / 1e6

    @property
    def bsa_m2(self) -> float | None:
        """Body surface area (m^2) by ``bsa_formula``, or ``None`` without height and weight."""
        if self.height is None or self.weight is None:
            return None
        return BSA_FORMULAS[self.bsa_formula](self.height_cm, self.weight_kg)

    def missing_for_crcl(self) -> list[str]:
        """Covariates missing to compute a creatinine clearance (empty when it is available)."""
        if self.creatinine_clearance is not None:
            return []
        needed = {"serum_creatinine": self.serum_creatinine, "age": self.age, "weight": self.weight,
                  "sex": self.sex}
        return [name for name, value in needed.items() if value is None]

    @property
    def crcl_ml_per_min(self) -> float | None:
        """Creatinine clearance (mL/min): as given, else Cockcroft-Gault, else ``None``."""
        if self.creatinine_clearance is not None:
            return convert(self.creatinine_clearance, "mm^3/s", "mL/min")
        if self.missing_for_crcl():
            return None
        scr = convert(self.serum_creatinine, "mg/mm^3", "mg/dL")
        return cockcroft_gault(self.age, self.weight_kg, scr, self.sex)


# ------------------------------------------------------------------------------------ administration
class Administration(StrictModel):
    """One drug given on a schedule: dose, route (bolus, infusion or oral) and when.

    The schedule is either the compact ``schedule`` string or ``start``/``every``/``count``; with neither,
    one dose at t = 0. ``parameters`` overrides library values of the drug (quantities with units).
    """

    drug: str
    dose: Dose
    route: Literal["bolus", "infusion", "oral"] | None = None
    duration: Duration | None = None
    schedule: str | None = None
    start: TimeOffset | None = None
    every: Quantity("s", example="21 day", positive=True) | None = None
    count: Annotated[int, Field(ge=1, le=MAX_DOSES)] | None = None
    parameters: DrugOverrides = DrugOverrides()

    @model_validator(mode="before")
    @classmethod
    def _molar_ic50(cls, data: Any) -> Any:
        """A molar ``parameters.ic50`` as a mass concentration, with the drug's molecular weight."""
        parameters = data.get("parameters") if isinstance(data, dict) else None
        if not isinstance(parameters, dict) or parameters.get("ic50") is None:
            return data
        try:
            mass = concentration_to_internal(parameters["ic50"], lookup(data.get("drug")).molecular_weight)
        except (UnknownDrugError, UnitError):  # the field validators report it
            return data
        return {**data, "parameters": {**parameters, "ic50": f"{mass!r} mg/mm^3"}}

    @field_validator("drug")
    @classmethod
    def _known_drug(cls, value: str) -> str:
        try:
            return lookup(value).name
        except UnknownDrugError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _label_basis(self) -> Administration:
        problem = label_basis_problem(self.drug, self.dose.basis)
        if problem:
            raise FieldProblem("dose", self.dose.text, problem)
        return self

    @model_validator(mode="after")
    def _route(self) -> Administration:
        route = self.effective_route
        if route == "infusion" and self.duration is None:
            raise FieldProblem("duration", None, "an infusion needs a duration, e.g. '1 h'")
        if route != "infusion" and self.duration is not None:
            raise FieldProblem("duration", f"{self.duration / HOUR:g} h",
                               f"only an infusion has a duration; this administration is a {route}")
        return self

    @model_validator(mode="after")
    def _parameters(self) -> Administration:
        try:
            drug = self.drug_parameters()
        except ValueError as exc:
            raise FieldProblem("parameters", self.parameters.given(), str(exc)) from None
        if self.effective_route == "oral" and drug.absorption_rate is None:
            raise FieldProblem("route", "oral", f"{self.drug} has no oral absorption rate in the library; give "
                               "parameters.absorption_rate (e.g. '1 1/h') or use 'bolus' or 'infusion'")
        return self

    @model_validator(mode="after")
    def _schedule(self) -> Administration:
        structured = {k: v for k, v in (("start", self.start), ("every", self.every), ("count", self.count))
                      if v is not None}
        if self.schedule is not None and structured:
            raise FieldProblem("schedule", self.schedule,
                               f"give either 'schedule' or {'/'.join(structured)}, not both")
        if self.schedule is not None:
            try:
                parse_schedule(self.schedule)
            except ScheduleError as exc:
                raise FieldProblem("schedule", self.schedule, str(exc)) from None
        if self.start is not None and self.start < 0:
            raise FieldProblem("start", f"{self.start / DAY:g} day",
                               "schedule in the past: start must be >= 0 (t = 0 is day 1 of the treatment)")
        if self.every is not None and self.count is None:
            raise FieldProblem("count", None, "'every' needs 'count' (the number of doses)")
        if (self.count or 1) > 1 and self.every is None:
            raise FieldProblem("every", None, "'count' > 1 needs 'every' (the dosing interval, e.g. '21 day')")
        interval = self.min_interval()
        if self.duration is not None and interval is not None and self.duration > interval:
            raise FieldProblem("duration", f"{self.duration / HOUR:g} h",
                               f"infusion longer than the dosing interval ({interval / HOUR:g} h)")
        return self

    @property
    def effective_route(self) -> str:
        """``route``, or ``infusion`` when a duration is given, else ``bolus``."""
        return self.route or ("infusion" if self.duration is not None else "bolus")

    def schedule_spec(self) -> Schedule:
        """Dose start times (see :class:`oncotwin.pk.schedule.Schedule`)."""
        if self.schedule is not None:
            return parse_schedule(self.schedule)
        offset = self.start or 0.0
        return Schedule(offsets=(offset,), period=self.every, count=self.count or 1)

    def min_interval(self) -> float | None:
        """Shortest time between two consecutive starts, s (``None`` for a single dose)."""
        times = self.schedule_spec().times()
        return float(np.diff(times).min()) if len(times) > 1 else None

    def drug_parameters(self) -> DrugParameters:
        """Library parameters with this administration's overrides (no covariate adjustment)."""
        return with_overrides(get_drug(self.drug), self.parameters.given())

    def amount_mg(self, patient: Patient) -> float:
        """Amount per dose, mg.

        Raises:
            ValueError: the covariates the dose basis needs are missing.
        """
        value, basis, _ = self.dose
        if basis == "flat":
            return value
        if basis == "bsa":
            if patient.bsa_m2 is None:
                raise ValueError("a dose per body surface needs patient.height and patient.weight")
            return value * patient.bsa_m2 * 1e6  # mg/mm^2 * mm^2
        if patient.weight is None:
            raise ValueError("a dose per body weight needs patient.weight")
        return value * patient.weight

    def events(self, patient: Patient) -> list[DoseEvent]:
        """Dose events of this administration."""
        return expand(self.schedule_spec(), self.amount_mg(patient), self.duration or 0.0, drug=self.drug,
                      route=self.effective_route)


# ------------------------------------------------------------------------------ radiotherapy, vessels
class Antiangiogenic(StrictModel):
    """Anti-angiogenic therapy as a vascular normalisation window after each dose (Jain 2005).

    While a window is open, the tumour regions' vascular filtration (fluid), vascular permeability-surface
    product (drugs) and oxygen supply are multiplied by the given scales.
    """

    schedule: str
    effect_duration: Duration = 14 * DAY
    permeability_scale: Annotated[float, Field(gt=0, le=1)] = 0.5
    perfusion_scale: Annotated[float, Field(gt=0, le=10)] = 1.0

    @field_validator("schedule")
    @classmethod
    def _readable(cls, value: str) -> str:
        schedule_times(value)
        return value

    def windows(self) -> list[tuple[float, float]]:
        """Merged (start, end) intervals of normalisation [s]."""
        merged: list[list[float]] = []
        for t in schedule_times(self.schedule):
            if merged and t <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], t + self.effect_duration)
            else:
                merged.append([t, t + self.effect_duration])
        return [(a, b) for a, b in merged]

    def active(self, t: float) -> bool:
        """Whether normalisation is in effect at time ``t`` (windows are closed on the left)."""
        return any(a <= t < b for a, b in self.windows())


# ----------------------------------------------------------------------------------------- treatment
class Treatment(StrictModel):
    """Treatment of a case: patient covariates, drug administrations, radiotherapy and anti-angiogenics."""

    patient: Patient = Patient()
    drugs: list[Administration] = []
    radiotherapy: Radiotherapy | None = None
    antiangiogenic: Antiangiogenic | None = None

    @model_validator(mode="after")
    def _covariates_available(self) -> Treatment:
        for i, adm in enumerate(self.drugs):
            try:
                adm.amount_mg(self.patient)
            except ValueError as exc:
                absent = [c for c in ("height", "weight") if getattr(self.patient, c) is None]
                raise FieldProblem(f"drugs.{i}.dose", adm.dose.text, str(exc) + self._fhir_hint(absent)) from None
            missing = self.patient.missing_for_crcl()
            renal = adm.drug_parameters().fraction_renal
            if renal >= RENAL_THRESHOLD and missing:
                raise FieldProblem(
                    f"drugs.{i}.drug", adm.drug,
                    f"{adm.drug} is renally cleared ({renal:.0%}) and its clearance model needs the creatinine "
                    "clearance: give patient.creatinine_clearance, or patient.serum_creatinine with age, weight "
                    f"and sex (missing: {', '.join(missing)}){self._fhir_hint(missing)}")
        return self

    def _fhir_hint(self, missing: list[str]) -> str:
        return "" if self.patient.fhir is None else missing_hint(self.patient.fhir, missing)

    @model_validator(mode="after")
    def _consistent_per_drug(self) -> Treatment:
        first: dict[str, int] = {}
        for i, adm in enumerate(self.drugs):
            j = first.setdefault(adm.drug, i)
            if adm.parameters.given() != self.drugs[j].parameters.given():
                raise FieldProblem(f"drugs.{i}.parameters", adm.parameters.given(),
                                   f"differs from the parameters of drugs.{j} ({adm.drug}); one drug has one "
                                   "parameter set")
        return self

    @model_validator(mode="after")
    def _dose_budget(self) -> Treatment:
        total: dict[str, int] = {}
        for i, adm in enumerate(self.drugs):
            total[adm.drug] = total.get(adm.drug, 0) + len(adm.schedule_spec().times())
            if total[adm.drug] > MAX_DOSES:
                key = "schedule" if adm.schedule is not None else "count"
                raise FieldProblem(f"drugs.{i}.{key}", getattr(adm, key),
                                   f"{total[adm.drug]} doses of {adm.drug} in all; at most {MAX_DOSES} are allowed")
        return self

    @model_validator(mode="after")
    def _no_overlap(self) -> Treatment:
        owner: dict[int, int] = {}
        events = []
        for i, adm in enumerate(self.drugs):
            for event in adm.events(self.patient):
                owner[id(event)] = i
                events.append(event)
        pair = first_overlap(events)
        if pair is not None:
            prev, nxt = pair
            i = owner[id(nxt)]
            key = "schedule" if self.drugs[i].schedule is not None else "start"
            raise FieldProblem(
                f"drugs.{i}.{key}", getattr(self.drugs[i], key),
                f"overlapping administrations of {nxt.drug}: a dose starts at {nxt.time / DAY:g} day while the "
                f"{prev.route} started at {prev.time / DAY:g} day (until {prev.end / DAY:g} day) still runs")
        return self

    def drug_names(self) -> list[str]:
        """Drugs of the treatment, in order of first appearance."""
        return list(dict.fromkeys(adm.drug for adm in self.drugs))

    def library_parameters(self) -> dict[str, DrugParameters]:
        """Library parameters of each drug with this treatment's overrides (no covariate adjustment)."""
        return {name: next(a for a in self.drugs if a.drug == name).drug_parameters() for name in self.drug_names()}

    def events(self, drug: str | None = None) -> list[DoseEvent]:
        """Dose events of all drugs (or of one), sorted in time."""
        return merge(*(a.events(self.patient) for a in self.drugs if drug is None or a.drug == drug))
