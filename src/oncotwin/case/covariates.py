"""Patient covariates of a population prior, and a new patient's prior from them (computed once, at load).

A population prior (:mod:`oncotwin.case.prior_file`, written by ``oncotwin calibrate --cohort`` with
``covariates`` in its cohort file) may give a parameter a covariate: its median for a patient with
covariate value ``c`` is ``prior (c / reference)^exponent`` (the power model of population
pharmacometrics, Mould & Upton 2013, CPT Pharmacometrics Syst. Pharmacol. 2:e38), and its log sd is the
predictive sd of the population model at ``z = log(c / reference)``:
``sqrt(between^2 + mean_sd^2 + 2 z rho mean_sd exponent_sd + z^2 exponent_sd^2)``
(:mod:`oncotwin.calibration.population`).

Covariates (:data:`COVARIATES`):

* ``baseline_tumour_volume``: the segmented volume of the case's tumour regions (viable and necrotic,
  edema excluded) at t = 0: label voxels times the voxel volume, or the tumour sphere. On the HNTS-MRG
  head-and-neck pairs the relative mid-RT response falls with it (log mid/pre against log pre,
  r = -0.83 over 15 patients: issue 17; BENCHMARKS.md "HNTS-MRG with a baseline-volume covariate").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.imaging.images import read_label_map


@dataclass(frozen=True)
class Covariate:
    """A patient covariate: what it is, its units, and how it is computed from a validated case."""

    description: str
    unit: str
    internal_unit: str
    compute: Callable[[object], float]


def _baseline_tumour_volume(case) -> float:
    """Segmented tumour volume at t = 0 [mm^3] (raises ``ValueError`` for a geometry it cannot measure)."""
    geometry = case.geometry
    if geometry.kind == "sphere":
        return 4.0 / 3.0 * math.pi * geometry.tumour_radius ** 3
    if geometry.kind != "segmentation":
        raise ValueError(f"geometry.kind {geometry.kind}: the baseline tumour volume is measured on a "
                         "segmentation or a sphere")
    labels = geometry.label_map()
    tumour = [value for name in case.tumour_regions() for value in labels.get(name, [])]
    image = read_label_map(geometry.labels, "geometry.labels")
    return float(np.count_nonzero(np.isin(image.array, tumour)) * image.voxel_volume)


COVARIATES: dict[str, Covariate] = {
    "baseline_tumour_volume": Covariate("segmented tumour volume at baseline (viable and necrotic regions)",
                                        "cm^3", "mm^3", _baseline_tumour_volume),
}


def covariate_value(case, name: str) -> float:
    """The covariate ``name`` of ``case`` in internal units.

    Raises:
        ValueError: an unknown covariate, or a case it cannot be computed for (the message says why).
        InputDataError: the label image cannot be read.
    """
    if name not in COVARIATES:
        raise ValueError(f"unknown covariate {name!r}; allowed: {', '.join(COVARIATES)}")
    value = COVARIATES[name].compute(case)
    if not value > 0:
        raise ValueError(f"{name} is {value:g} {COVARIATES[name].internal_unit}: a power model needs a value > 0")
    return value


def individual_prior(parameter, value: float) -> tuple[float, float]:
    """The median and log sd of a covariate parameter at covariate ``value`` (internal units)."""
    effect = parameter.covariate
    z = math.log(value / effect.reference)
    median = parameter.prior * math.exp(effect.exponent * z)
    median = min(max(median, parameter.lower), parameter.upper)
    variance = (effect.between_patient_log_sd ** 2 + effect.mean_log_sd ** 2
                + 2.0 * z * effect.correlation * effect.mean_log_sd * effect.exponent_sd
                + (z * effect.exponent_sd) ** 2)
    return median, math.sqrt(max(variance, 1e-12))


def with_covariates(case, source: str):
    """``case`` with every covariate prior of its calibration evaluated at the patient's covariates.

    A parameter whose ``covariate`` is not yet applied gets its individual median and log sd
    (:func:`individual_prior`) and records ``covariate_value``; applying it twice changes nothing.

    Raises:
        CaseError: one line naming ``source`` (the prior or case file), the key, the value and why the
            covariate cannot be computed for this case.
    """
    spec = case.calibration
    if spec is None or not any(p.covariate is not None and p.covariate_value is None
                               for p in spec.parameters.values()):
        return case
    parameters, values = dict(spec.parameters), {}
    for name, parameter in spec.parameters.items():
        effect = parameter.covariate
        if effect is None or parameter.covariate_value is not None:
            continue
        try:
            if effect.name not in values:
                values[effect.name] = covariate_value(case, effect.name)
        except (ValueError, InputDataError) as exc:
            raise CaseError(source, f"parameters.{name}.covariate.name", effect.name, str(exc)) from None
        median, log_sd = individual_prior(parameter, values[effect.name])
        parameters[name] = parameter.model_copy(update={"prior": median, "prior_log_sd": log_sd,
                                                        "covariate_value": values[effect.name]})
    return case.model_copy(update={"calibration": spec.model_copy(update={"parameters": parameters})})
