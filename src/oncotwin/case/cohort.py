"""Cohort files for ``oncotwin calibrate --cohort``: earlier patients, each a case with its observations.

Example::

    description: head-and-neck patients treated 2019-2021   # optional
    patients:                                              # at least two
      - case: p01/case.yaml                                # relative to this file
        observations: p01/observations.yaml
      - label: second                                      # optional name in the outputs
        case: p02/case.yaml
        observations: p02/observations.yaml

Every case names the same parameters in its ``calibration`` section (the population prior is fitted for
them; checked when the cases are read). ``covariates`` (optional) gives a parameter a patient covariate
of the population model (:mod:`oncotwin.calibration.population`, :mod:`oncotwin.case.covariates`)::

    covariates:
      clearance_half_time: baseline_tumour_volume   # median x (V0 / reference)^exponent

Outputs name the patients by ``label`` (default ``patient_<k>``, in file order), never by anything from
the case files, so that no patient identifier reaches them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from oncotwin.case.base import StrictModel
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.covariates import COVARIATES
from oncotwin.case.load import _to_case_error, read_yaml_mapping
from oncotwin.case.paths import resolve_path
from oncotwin.core.errors import CaseError

LABEL = r"^[A-Za-z0-9_.-]{1,64}$"


class CohortPatient(StrictModel):
    """One earlier patient: the case file and its observation file."""

    case: Path
    observations: Path
    label: Annotated[str, Field(pattern=LABEL)] | None = None

    @field_validator("case", "observations", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path:
        return resolve_path(value, info)


class CohortFile(StrictModel):
    """A cohort file."""

    description: str = ""
    patients: Annotated[list[CohortPatient], Field(min_length=2)]
    covariates: dict[str, str] = {}


class Cohort(StrictModel):
    """A validated cohort: its file, and the patients with their labels."""

    file: Path
    description: str
    labels: list[str]
    cases: list[Path]
    observations: list[Path]
    covariates: dict[str, str] = {}


def read_cohort(path: str | Path) -> Cohort:
    """Read and check a cohort file (on one rank; the cases themselves are read by the caller).

    Raises:
        CaseError: one line naming the file, the key, the value and what is allowed (a missing file, fewer
            than two patients, an unknown key, a repeated label or patient).
    """
    path = Path(path)
    shown = str(path)
    data, lines = read_yaml_mapping(path, "a cohort file is a YAML mapping with 'patients' (a list of case and "
                                    "observations files)", kind="cohort file")
    try:
        spec = CohortFile.model_validate(data, context={"base_dir": str(path.parent.resolve())})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "too_short":
            raise CaseError(shown, "patients", f"{len(data.get('patients') or [])} patient(s)", "a population "
                            "fit needs at least two patients", line=lines.get(("patients",))) from None
        raise _to_case_error(exc, shown, data, lines) from None
    labels = [p.label or f"patient_{k + 1}" for k, p in enumerate(spec.patients)]
    seen_labels: set[str] = set()
    seen: set[tuple[Path, Path]] = set()
    for k, (label, patient) in enumerate(zip(labels, spec.patients, strict=True)):
        if label in seen_labels:
            raise CaseError(shown, f"patients.{k}.label", label, "labels must be unique",
                            line=lines.get(("patients", k, "label")) or lines.get(("patients", k)))
        pair = (patient.case, patient.observations)
        if pair in seen:
            raise CaseError(shown, f"patients.{k}", str(patient.observations.name), "this case and observation file "
                            "are already in the cohort (a patient counted twice)", line=lines.get(("patients", k)))
        seen_labels.add(label)
        seen.add(pair)
    for parameter, covariate in spec.covariates.items():
        line = lines.get(("covariates", parameter)) or lines.get(("covariates",))
        if parameter not in PARAMETERS:
            raise CaseError(shown, f"covariates.{parameter}", parameter, "not a calibratable parameter; allowed: "
                            f"{', '.join(PARAMETERS)}", line=line)
        if covariate not in COVARIATES:
            raise CaseError(shown, f"covariates.{parameter}", covariate, f"unknown covariate; allowed: "
                            f"{', '.join(COVARIATES)}", line=line)
    return Cohort(file=path.resolve(), description=spec.description, labels=labels,
                  cases=[p.case for p in spec.patients], observations=[p.observations for p in spec.patients],
                  covariates=dict(spec.covariates))
