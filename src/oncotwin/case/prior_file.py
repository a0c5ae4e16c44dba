"""Prior files: log-normal priors of calibratable parameters, e.g. a population prior of a cohort.

``oncotwin calibrate --cohort`` writes one (``prior.yaml``); a case uses it with ``calibration.prior:
FILE`` (relative to the case file) or the ``--prior FILE`` option of ``calibrate``, ``run`` and
``forecast``. Example::

    kind: population_prior
    parameters:
      radiosensitivity:
        prior: "0.21 1/Gy"             # median of the new patient's parameter
        prior_log_sd: 0.31             # sd of its natural log (between-patient spread and uncertainty)
        bounds: ["0.01 1/Gy", "2 1/Gy"]
        between_patient_log_sd: 0.25   # optional, for the record: the population spread alone
        mean_log_sd: 0.12              # optional, for the record: the uncertainty of the population median
      clearance_half_time:
        prior: "9 day"                 # the median at the covariate's reference value
        prior_log_sd: 0.35             # ... and its log sd there
        bounds: ["1 day", "60 day"]
        between_patient_log_sd: 0.3    # required with a covariate
        mean_log_sd: 0.15              # required with a covariate
        covariate: {name: baseline_tumour_volume, reference: "13 cm^3", exponent: -0.8,
                    exponent_sd: 0.3, correlation: 0.1}

A prior file's entries replace the case's own ``prior``, ``prior_log_sd`` and ``bounds`` of the same
parameter; the case's ``initial`` is kept (it must lie within the prior's bounds); parameters that only
the prior file names are added to the calibration. A ``covariate`` makes the median the patient's own:
``prior (value / reference)^exponent``, with the log sd of the population model at that value
(:mod:`oncotwin.case.covariates`, applied when the case is loaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oncotwin.case.base import FieldProblem
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.covariates import COVARIATES
from oncotwin.core.errors import CaseError
from oncotwin.core.safe_yaml import read_yaml
from oncotwin.core.units import UnitError, to_internal

KIND = "population_prior"
TOP_KEYS = ("kind", "oncotwin", "method", "patients", "parameters")
ENTRY_KEYS = ("prior", "prior_log_sd", "bounds", "between_patient_log_sd", "mean_log_sd", "covariate")
RECORD_KEYS = ("between_patient_log_sd", "mean_log_sd")
COVARIATE_KEYS = ("name", "reference", "exponent", "exponent_sd", "correlation")


def convert_covariate(name: str, spec: dict, raw: Any) -> dict:
    """A ``covariate`` entry of parameter ``name`` in internal units (with the population sds it needs).

    Raises:
        FieldProblem: naming the key below ``parameters``.
    """
    key = f"parameters.{name}.covariate"
    if not isinstance(raw, dict):
        raise FieldProblem(key, raw, f"expected a mapping with {', '.join(COVARIATE_KEYS)}")
    for k in raw:
        if k not in COVARIATE_KEYS:
            raise FieldProblem(f"{key}.{k}", k, f"unknown key (allowed: {', '.join(COVARIATE_KEYS)})")
    for k in COVARIATE_KEYS[:4]:
        if k not in raw:
            raise FieldProblem(f"{key}.{k}", "<missing>", f"a covariate gives {', '.join(COVARIATE_KEYS[:4])}")
    if raw["name"] not in COVARIATES:
        raise FieldProblem(f"{key}.name", raw["name"], f"unknown covariate; allowed: {', '.join(COVARIATES)}")
    covariate = COVARIATES[raw["name"]]
    try:
        reference = to_internal(raw["reference"], covariate.internal_unit, example=f"13 {covariate.unit}")
    except UnitError as exc:
        raise FieldProblem(f"{key}.reference", raw["reference"], str(exc)) from None
    if not reference > 0:
        raise FieldProblem(f"{key}.reference", raw["reference"], "must be > 0")
    numbers = {}
    for k, low, high in (("exponent", -10, 10), ("exponent_sd", 0, 10), ("correlation", -1, 1)):
        value = raw.get(k, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise FieldProblem(f"{key}.{k}", value, f"expected a number in [{low}, {high}]")
        numbers[k] = float(value)
    for k in RECORD_KEYS:
        if k not in spec:
            raise FieldProblem(f"parameters.{name}.{k}", "<missing>", "a parameter with a covariate needs "
                               "between_patient_log_sd and mean_log_sd (its predictive sd depends on both)")
    return {"name": raw["name"], "reference": reference, **numbers,
            **{k: float(spec[k]) for k in RECORD_KEYS}}


def convert_entry(name: str, spec: dict, kind) -> dict:
    """Quantities of one parameter's spec to internal units (errors name the key below ``parameters``).

    A missing ``prior`` takes the parameter's sourced default prior (:mod:`oncotwin.case.calibratable`),
    with its ``prior_log_sd`` unless the spec gives one.
    """

    def value(key: str, raw: Any) -> float:
        try:
            number = to_internal(raw, kind.internal_unit, example=kind.example)
        except UnitError as exc:
            raise FieldProblem(f"parameters.{name}.{key}", raw, str(exc)) from None
        if not number > 0:
            raise FieldProblem(f"parameters.{name}.{key}", raw, f"must be > 0 (e.g. '{kind.example}')")
        return number

    out = dict(spec)
    if spec.get("covariate") is not None:
        out["covariate"] = convert_covariate(name, spec, spec["covariate"])
        for key in RECORD_KEYS:
            out.pop(key)
    if "prior" not in spec:
        if kind.prior is None:
            raise FieldProblem(f"parameters.{name}.prior", "<missing>", f"the prior median is required, e.g. "
                               f"'{kind.example}'")
        out["prior"] = kind.prior.value
        out.setdefault("prior_log_sd", kind.prior_log_sd)
    out["prior"] = value("prior", out["prior"])
    if spec.get("initial") is not None:
        out["initial"] = value("initial", spec["initial"])
    if spec.get("bounds") is not None:
        bounds = spec["bounds"]
        if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
            raise FieldProblem(f"parameters.{name}.bounds", bounds, "expected [lower, upper] quantities")
        lower, upper = value("bounds.0", bounds[0]), value("bounds.1", bounds[1])
        if not lower < upper:
            raise FieldProblem(f"parameters.{name}.bounds", bounds, "the lower bound must be below the upper")
        out["bounds"] = (lower, upper)
    low = out["bounds"][0] if out.get("bounds") else out["prior"] / 100
    high = out["bounds"][1] if out.get("bounds") else out["prior"] * 100
    for key in ("prior", "initial"):
        if out.get(key) is not None and not low <= out[key] <= high:
            raise FieldProblem(f"parameters.{name}.{key}", spec.get(key, out[key]), "must lie within the bounds")
    return out


def _entry(name: Any, spec: Any) -> dict:
    """One validated prior-file entry in internal units (prior, prior_log_sd, bounds)."""
    if name not in PARAMETERS:
        raise FieldProblem(f"parameters.{name}", name, f"not a calibratable parameter; allowed: "
                           f"{', '.join(PARAMETERS)}")
    if not isinstance(spec, dict):
        raise FieldProblem(f"parameters.{name}", spec, "expected a mapping with prior, prior_log_sd and bounds")
    for key in spec:
        if key not in ENTRY_KEYS:
            raise FieldProblem(f"parameters.{name}.{key}", key, f"unknown key (allowed: {', '.join(ENTRY_KEYS)})")
    for key in ("prior", "prior_log_sd", "bounds"):
        if key not in spec:
            raise FieldProblem(f"parameters.{name}.{key}", "<missing>", "a prior file gives prior, prior_log_sd "
                               "and bounds for every parameter")
    for key in ("prior_log_sd", *RECORD_KEYS):
        raw = spec.get(key)
        low = 0.0 if key in RECORD_KEYS else 1e-300
        if key in spec and (isinstance(raw, bool) or not isinstance(raw, (int, float)) or not low <= raw <= 10):
            raise FieldProblem(f"parameters.{name}.{key}", raw, "expected a number of log units in "
                               f"{'[0' if key in RECORD_KEYS else '(0'}, 10]")
    converted = convert_entry(name, {k: spec[k] for k in ("prior", "bounds")}, PARAMETERS[name])
    entry = {"prior": converted["prior"], "prior_log_sd": float(spec["prior_log_sd"]), "bounds": converted["bounds"]}
    if "covariate" in spec:
        entry["covariate"] = convert_covariate(name, spec, spec["covariate"])
    return entry


def read_prior_file(path: str | Path) -> dict[str, dict]:
    """The entries of a prior file in internal units: parameter -> {prior, prior_log_sd, bounds}.

    Raises:
        CaseError: one line naming the prior file, the key, the value and what is allowed.
    """
    path = Path(path)
    data, lines = read_yaml(path, "prior file")
    if not isinstance(data, dict):
        raise CaseError(str(path), "<document>", type(data).__name__, f"a prior file is a YAML mapping with "
                        f"'kind: {KIND}' and 'parameters'")

    def fail(key: str, value: Any, message: str) -> CaseError:
        loc = tuple(key.split("."))
        line = next((lines[loc[:d]] for d in range(len(loc), 0, -1) if loc[:d] in lines), None)
        return CaseError(str(path), key, value, message, line=line)

    for key in data:
        if key not in TOP_KEYS:
            raise fail(str(key), key, f"unknown key (allowed: {', '.join(TOP_KEYS)})")
    if data.get("kind") != KIND:
        raise fail("kind", data.get("kind", "<missing>"), f"expected '{KIND}' (a file written by oncotwin "
                   "calibrate --cohort, or one like it)")
    parameters = data.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise fail("parameters", parameters, "expected a mapping of at least one calibratable parameter: "
                   f"{', '.join(PARAMETERS)}")
    out = {}
    for name, spec in parameters.items():
        try:
            out[name] = _entry(name, spec)
        except FieldProblem as exc:
            raise fail(exc.key, exc.value, str(exc)) from None
    return out


def merge_prior(own: dict[str, dict], prior: dict[str, dict], source: str) -> dict[str, dict]:
    """A calibration's parameter entries (internal units) with a prior file's entries on top.

    The prior file's prior, prior_log_sd and bounds replace the case's; the case's ``initial`` is kept.

    Raises:
        FieldProblem: a kept ``initial`` outside the prior file's bounds.
    """
    merged = dict(own)
    for name, entry in prior.items():
        initial = (own.get(name) or {}).get("initial")
        if initial is not None and not entry["bounds"][0] <= initial <= entry["bounds"][1]:
            kind = PARAMETERS[name]
            raise FieldProblem(f"parameters.{name}.initial", kind.text(initial), f"must lie within the bounds of "
                               f"the prior file {source} ({kind.text(entry['bounds'][0])} to "
                               f"{kind.text(entry['bounds'][1])})")
        merged[name] = {**entry, "initial": initial}
    return merged
