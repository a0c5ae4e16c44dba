"""Patient covariates from a FHIR R4 Bundle (JSON), read with the ``fhir.resources`` models (R4B package).

``treatment.patient.fhir: bundle.json`` fills the covariates the case does not give:

* ``Patient.gender`` -> ``sex`` (male or female); ``Patient.birthDate`` -> ``age`` in completed years at
  ``treatment.patient.reference_date`` (the clinical convention of the Cockcroft-Gault age);
* Observations by LOINC code (:data:`LOINC`), ``valueQuantity`` in UCUM units: body height 8302-2, body
  weight 29463-7, serum creatinine 2160-0, total bilirubin 1975-2. Of several Observations of one code the
  latest on or before the reference date counts (``entered-in-error`` and ``cancelled`` ones never do).

Values are handed to the case schema as the quantity strings a case file would hold (``"72 kg"``), so they
convert through the same unit system (:mod:`oncotwin.core.units`) as case entries. A value the case gives
too must agree with the Bundle. Only these covariates are read: names, identifiers and addresses in the
Bundle are never copied.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

LOINC_SYSTEM = "http://loinc.org"
# covariate -> (LOINC code, display name)
LOINC: dict[str, tuple[str, str]] = {
    "height": ("8302-2", "body height"),
    "weight": ("29463-7", "body weight"),
    "serum_creatinine": ("2160-0", "serum creatinine"),
    "bilirubin": ("1975-2", "total bilirubin"),
}
# UCUM codes that pint spells differently (the others, e.g. cm, kg, mg/dL, umol/L, are read as they are)
UCUM_TO_PINT = {"[in_i]": "inch", "[lb_av]": "lb", "[ft_i]": "foot", "[oz_av]": "oz"}
IGNORED_STATUS = ("entered-in-error", "cancelled")


class FhirError(ValueError):
    """A FHIR Bundle problem: names the file, the resource and the code."""


def _day(value: date | datetime | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def read_bundle(path: Path) -> Bundle:
    """Parse and validate a FHIR R4 Bundle JSON file (one-line :class:`FhirError` otherwise)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirError(f"FHIR Bundle {path}: cannot read it as JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirError(f"FHIR Bundle {path}: the document is not a FHIR Bundle (resourceType 'Bundle')")
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FhirError(f"FHIR Bundle {path}: invalid FHIR R4 content at {where}: {first['msg']}") from None


def _resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry or [] if e.resource is not None and e.resource.get_resource_type() == kind]


def _patient_entries(bundle: Bundle, path: Path, reference: date | None) -> dict[str, Any]:
    patients = _resources(bundle, "Patient")
    if len(patients) > 1:
        raise FhirError(f"FHIR Bundle {path}: {len(patients)} Patient resources; one patient per Bundle")
    if not patients:
        return {}
    patient, out = patients[0], {}
    if patient.gender is not None:
        if patient.gender not in ("male", "female"):
            raise FhirError(f"FHIR Bundle {path}: Patient.gender {patient.gender!r}; the clearance models need "
                            "male or female")
        out["sex"] = patient.gender
    if patient.birthDate is not None:
        if reference is None:
            raise FhirError(f"FHIR Bundle {path}: Patient.birthDate needs treatment.patient.reference_date "
                            "(the date the age refers to, e.g. the treatment start)")
        born = patient.birthDate
        years = reference.year - born.year - ((reference.month, reference.day) < (born.month, born.day))
        if years < 0:
            raise FhirError(f"FHIR Bundle {path}: Patient.birthDate {born} is after the reference date {reference}")
        out["age"] = years
    return out


def _observation_value(path: Path, observation, code: str, name: str) -> tuple[date | None, str]:
    quantity = observation.valueQuantity
    if quantity is None or quantity.value is None:
        raise FhirError(f"FHIR Bundle {path}: Observation LOINC {code} ({name}) has no valueQuantity")
    unit = quantity.code or quantity.unit
    if not unit:
        raise FhirError(f"FHIR Bundle {path}: Observation LOINC {code} ({name}) has a value without a unit")
    return _day(observation.effectiveDateTime), f"{quantity.value} {UCUM_TO_PINT.get(unit, unit)}"


def _observations(bundle: Bundle, path: Path, reference: date | None) -> dict[str, str]:
    found: dict[str, list[tuple[date | None, str]]] = {}
    for observation in _resources(bundle, "Observation"):
        if observation.status in IGNORED_STATUS:
            continue
        codes = {c.code for c in (observation.code.coding or []) if c.system == LOINC_SYSTEM}
        for covariate, (code, name) in LOINC.items():
            if code in codes:
                when, value = _observation_value(path, observation, code, name)
                if reference is None or when is None or when <= reference:
                    found.setdefault(covariate, []).append((when, value))
    out = {}
    for covariate, values in found.items():
        latest = max((w for w, _ in values if w is not None), default=None)
        last = {v for w, v in values if w == latest}
        if len(last) > 1:
            code, name = LOINC[covariate]
            when = f" on {latest}" if latest else " (undated)"
            raise FhirError(f"FHIR Bundle {path}: conflicting Observations LOINC {code} ({name}){when}: "
                            f"{', '.join(sorted(last))}")
        out[covariate] = last.pop()
    return out


def bundle_covariates(path: Path, reference: date | None) -> dict[str, Any]:
    """Covariates of a FHIR Bundle as case entries: ``sex``, ``age`` (years) and quantity strings.

    Args:
        path: the Bundle (JSON).
        reference: the date the age and the latest Observations refer to.

    Raises:
        FhirError: unreadable Bundle, several Patients, an unsupported gender, an Observation without a
            quantity or unit, or two different latest values of one code.
    """
    bundle = read_bundle(path)
    return _patient_entries(bundle, path, reference) | _observations(bundle, path, reference)


def source_of(covariate: str) -> str | None:
    """The Bundle resource (and code) a covariate comes from, or ``None`` for one a Bundle does not give."""
    if covariate in LOINC:
        return f"Observation LOINC {LOINC[covariate][0]} ({LOINC[covariate][1]})"
    return {"sex": "Patient.gender", "age": "Patient.birthDate"}.get(covariate)


def missing_hint(path: Path, covariates: list[str]) -> str:
    """Which Bundle resource and code would have given the missing ``covariates``."""
    parts = [source_of(c) for c in covariates if source_of(c)]
    return f"; the FHIR Bundle {path} has no {', no '.join(parts)}" if parts else ""
