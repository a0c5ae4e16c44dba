"""The case file's ``calibration`` section: which parameters to fit, their priors and bounds, the misfit.

Example::

    calibration:
      parameters:                          # any of oncotwin.case.calibratable.PARAMETERS
        proliferation_rate: {prior: "0.05 1/day", prior_log_sd: 0.7, bounds: ["0.002 1/day", "0.5 1/day"]}
        invasion_diffusivity: {prior: "0.13 mm^2/day", prior_log_sd: 1.0}
        radiosensitivity: {prior: "0.03 1/Gy", prior_log_sd: 0.7, initial: "0.05 1/Gy"}
      misfit: {volume_sd: 0.1, shape_discordance: 0.2}
      optimiser: {max_iterations: 12, tolerance: 1e-3, fd_step: 0.01}

Parameters are fitted in log space: the prior is log-normal with median ``prior`` and standard deviation
``prior_log_sd`` of the natural logarithm (the regularisation), the search stays within ``bounds``
(default: prior / 100 to prior x 100) and starts at ``initial`` (default: the prior median).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.core.units import UnitError, to_internal


class CalibratedParameter(StrictModel):
    """Prior, bounds and starting value of one calibrated parameter (internal units)."""

    prior: float
    prior_log_sd: Annotated[float, Field(gt=0, le=10)] = 1.0
    bounds: tuple[float, float] | None = None
    initial: float | None = None

    @property
    def lower(self) -> float:
        """Lower bound (internal units)."""
        return self.bounds[0] if self.bounds else self.prior / 100.0

    @property
    def upper(self) -> float:
        """Upper bound (internal units)."""
        return self.bounds[1] if self.bounds else self.prior * 100.0

    @property
    def start(self) -> float:
        """Starting value of the search (internal units)."""
        return self.prior if self.initial is None else self.initial


class Misfit(StrictModel):
    """Noise model of the observations (the weights of the least-squares misfit).

    Attributes:
        volume_sd: standard deviation of the log of an observed tumour volume (0.1: 10 %, typical
            inter-observer variability of volumetric segmentation).
        shape_discordance: expected volume of the symmetric difference between two segmentations of the
            same tumour, relative to its volume (the shape term's variance).
        scalar_sd: default standard deviation of the log of a scalar observation (biomarker).
    """

    volume_sd: Annotated[float, Field(gt=0, le=2)] = 0.1
    shape_discordance: Annotated[float, Field(gt=0, le=2)] = 0.2
    scalar_sd: Annotated[float, Field(gt=0, le=5)] = 0.2


class Optimiser(StrictModel):
    """Levenberg-Marquardt on the log-parameters with a finite-difference Jacobian."""

    max_iterations: Annotated[int, Field(ge=1, le=200)] = 15
    tolerance: Annotated[float, Field(gt=0, lt=1)] = 1e-3  # log-parameter step and Phi decrease
    fd_step: Annotated[float, Field(gt=0, le=0.5)] = 0.01


class Calibration(StrictModel):
    """Which parameters a calibration fits, with priors and bounds, and how the misfit is weighted."""

    parameters: dict[str, CalibratedParameter]
    misfit: Misfit = Misfit()
    optimiser: Optimiser = Optimiser()

    @model_validator(mode="before")
    @classmethod
    def _quantities(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
            return data
        if not data["parameters"]:
            raise FieldProblem("parameters", {}, f"name at least one parameter: {', '.join(PARAMETERS)}")
        converted = {}
        for name, spec in data["parameters"].items():
            if name not in PARAMETERS:
                raise FieldProblem(f"parameters.{name}", name, f"not a calibratable parameter; allowed: "
                                   f"{', '.join(PARAMETERS)}")
            if not isinstance(spec, dict):
                raise FieldProblem(f"parameters.{name}", spec, "expected a mapping with 'prior' (and optionally "
                                   "prior_log_sd, bounds, initial)")
            converted[name] = _convert(name, spec, PARAMETERS[name])
        return dict(data, parameters=converted)


def _convert(name: str, spec: dict, kind) -> dict:
    """Quantities of one parameter's spec to internal units (errors name the key)."""

    def value(key: str, raw: Any) -> float:
        try:
            number = to_internal(raw, kind.internal_unit, example=kind.example)
        except UnitError as exc:
            raise FieldProblem(f"parameters.{name}.{key}", raw, str(exc)) from None
        if not number > 0:
            raise FieldProblem(f"parameters.{name}.{key}", raw, f"must be > 0 (e.g. '{kind.example}')")
        return number

    out = dict(spec)
    if "prior" not in spec:
        raise FieldProblem(f"parameters.{name}.prior", "<missing>", f"the prior median is required, e.g. "
                           f"'{kind.example}'")
    out["prior"] = value("prior", spec["prior"])
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
            raise FieldProblem(f"parameters.{name}.{key}", spec[key], "must lie within the bounds")
    return out
