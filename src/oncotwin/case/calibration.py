"""The case file's ``calibration`` section: which parameters to fit, their priors and bounds, the misfit.

Example::

    calibration:
      parameters:                          # any of oncotwin.case.calibratable.PARAMETERS
        proliferation_rate: {prior: "0.05 1/day", prior_log_sd: 0.7, bounds: ["0.002 1/day", "0.5 1/day"]}
        invasion_diffusivity: {prior: "0.13 mm^2/day", prior_log_sd: 1.0}
        radiosensitivity: {prior: "0.03 1/Gy", prior_log_sd: 0.7, initial: "0.05 1/Gy"}
        clearance_half_time: {}            # the sourced default prior (10 days, Lim et al. 2008)
      prior: cohort/prior.yaml             # optional: a population prior (replaces the entries above)
      misfit: {volume_sd: 0.1, shape_discordance: 0.2}
      optimiser: {max_iterations: 12, tolerance: 1e-3, fd_step: 0.01}
      surrogate: off                       # on | off | auto: a Gaussian-process emulator of the readouts
      surrogate_design: 12                 # full runs of its space-filling design (>= parameters + 1)
      multilevel: {coarse_factor: 2}       # start on a coarser mesh (sizes x 2), finish on the case's; or off

Parameters are fitted in log space: the prior is log-normal with median ``prior`` and standard deviation
``prior_log_sd`` of the natural logarithm (the regularisation), the search stays within ``bounds``
(default: prior / 100 to prior x 100) and starts at ``initial`` (default: the prior median). A
parameter without ``prior`` takes its sourced default prior when it has one (``radiosensitivity``:
0.19 /Gy, log sd 0.3, the head-and-neck clinical range; ``clearance_half_time``: 10 days, log sd 0.7).

``surrogate`` (:mod:`oncotwin.calibration.surrogate`): ``on`` searches the MAP on a Gaussian-process
emulator of the readout volumes and shape terms, trained from a Latin-hypercube design of full runs and
refined where a full-model check fails, then finishes with the full model; ``off`` uses the full model
only; ``auto`` is ``on`` when every calibrated parameter and observation is one the emulator represents.
The emulator represents :data:`SURROGATE_PARAMETERS` (those its accuracy test covers) and segmentation
observations (not scalar series).
For ``oncotwin forecast`` the same switch emulates the members' volume series per regimen, used only where
its full-model checks are within the bands' Monte Carlo error (:mod:`oncotwin.calibration.forecast_surrogate`;
``auto``: when its design and checks need fewer full runs than the samples).

``multilevel`` (:mod:`oncotwin.calibration.multilevel`): ``{coarse_factor: f}`` first calibrates on a mesh of
the same patient whose element sizes (``size_tumour``, ``size_far``, ``size_rim``) are the case's times ``f``
(> 1), then starts the calibration on the case's mesh from that MAP; ``off`` (the default) calibrates on
the case's mesh only.

``prior: FILE`` (relative to the case file) reads a prior file (:mod:`oncotwin.case.prior_file`, e.g. the
``prior.yaml`` of ``oncotwin calibrate --cohort``): its entries win over the case's own prior, prior_log_sd
and bounds; the case's ``initial`` is kept. The ``--prior`` option of the commands wins over this key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.covariates import with_covariates
from oncotwin.case.paths import resolve_path
from oncotwin.case.prior_file import convert_entry, merge_prior, read_prior_file
from oncotwin.core.errors import CaseError

# What the surrogate represents: the growth and treatment rates its accuracy test covers (the mechanical
# couplings reach the readouts through the mechanics solve, which that test does not cover).
SURROGATE_PARAMETERS = ("proliferation_rate", "invasion_diffusivity", "radiosensitivity", "clearance_half_time",
                        "drug_kill_rate")


class CovariateEffect(StrictModel):
    """A population prior's covariate model of one parameter (:mod:`oncotwin.case.covariates`).

    Attributes:
        name: the covariate (a key of :data:`oncotwin.case.covariates.COVARIATES`).
        reference: covariate value at which ``prior`` is the median (internal units).
        exponent: power of ``covariate / reference`` that multiplies the median.
        exponent_sd: standard error of the exponent.
        correlation: correlation of the exponent's and the log median's estimates.
        between_patient_log_sd: the population's between-patient log sd.
        mean_log_sd: standard error of the log median at the reference.
    """

    name: str
    reference: Annotated[float, Field(gt=0)]
    exponent: float
    exponent_sd: Annotated[float, Field(ge=0, le=10)]
    correlation: Annotated[float, Field(ge=-1, le=1)] = 0.0
    between_patient_log_sd: Annotated[float, Field(ge=0, le=10)]
    mean_log_sd: Annotated[float, Field(ge=0, le=10)]


class CalibratedParameter(StrictModel):
    """Prior, bounds and starting value of one calibrated parameter (internal units).

    With a ``covariate`` (from a population prior), ``prior`` and ``prior_log_sd`` are the patient's own
    once ``covariate_value`` is set (:func:`oncotwin.case.covariates.with_covariates`, at load).
    """

    prior: float
    prior_log_sd: Annotated[float, Field(gt=0, le=10)] = 1.0
    bounds: tuple[float, float] | None = None
    initial: float | None = None
    covariate: CovariateEffect | None = None
    covariate_value: float | None = None

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


class Multilevel(StrictModel):
    """Start the calibration on a coarser mesh of the same patient (element sizes times ``coarse_factor``)."""

    coarse_factor: float = 2.0


class Calibration(StrictModel):
    """Which parameters a calibration fits, with priors and bounds, and how the misfit is weighted."""

    parameters: dict[str, CalibratedParameter]
    misfit: Misfit = Misfit()
    optimiser: Optimiser = Optimiser()
    prior: Path | None = None
    surrogate: Literal["on", "off", "auto"] = "off"
    surrogate_design: Annotated[int, Field(ge=2, le=1000)] | None = None
    multilevel: Multilevel | None = None

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("surrogate"), bool):  # YAML 1.1 reads on/off as booleans
            data = dict(data, surrogate="on" if data["surrogate"] else "off")
        if isinstance(data, dict) and data.get("multilevel") in ("off", False, None):
            data = dict(data, multilevel=None)
        elif isinstance(data, dict) and data.get("multilevel") in ("on", True):
            data = dict(data, multilevel={})
        return data

    @model_validator(mode="after")
    def _surrogate(self) -> Calibration:
        if self.surrogate == "on":
            bad = [n for n in self.parameters if n not in SURROGATE_PARAMETERS]
            if bad:
                raise FieldProblem("surrogate", "on", f"the surrogate cannot represent {', '.join(bad)}; it "
                                   f"represents {', '.join(SURROGATE_PARAMETERS)} (use surrogate: off or auto)")
        if self.surrogate_design is not None and self.surrogate_design < len(self.parameters) + 1:
            raise FieldProblem("surrogate_design", self.surrogate_design, f"at least the number of parameters plus "
                               f"one ({len(self.parameters) + 1}) full runs are needed to fit the surrogate")
        factor = self.multilevel.coarse_factor if self.multilevel else 2.0
        if not 1.0 < factor <= 8.0:
            raise FieldProblem("multilevel.coarse_factor", factor, "must be > 1 and <= 8 (the coarse mesh's "
                               "element sizes are the case's times this factor)")
        return self

    def surrogate_on(self, scalar_observations: int = 0) -> bool:
        """Whether the search uses the surrogate (``auto``: when it represents every parameter and there
        are no scalar series)."""
        if self.surrogate == "auto":
            return all(n in SURROGATE_PARAMETERS for n in self.parameters) and scalar_observations == 0
        return self.surrogate == "on"

    @property
    def design_size(self) -> int:
        """Full runs of the surrogate's initial design (default: 10 per parameter, the rule of Loeppky, Sacks
        and Welch 2009, Technometrics 51:366, for Gaussian-process designs; with 4 per parameter plus 2 the
        held-back volume error of the twin lesion in tests/calibration/test_surrogate.py was 1.0-4.5 % from one
        mesh or readout change to the next, with 10 per parameter 0.8 %)."""
        return self.surrogate_design or 10 * len(self.parameters)

    @model_validator(mode="before")
    @classmethod
    def _quantities(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        prior_file = None
        if data.get("prior") is not None:
            try:
                prior_file = resolve_path(data["prior"], info)
            except ValueError as exc:
                raise FieldProblem("prior", data["prior"], str(exc)) from None
        own = data.get("parameters", {} if prior_file else None)
        if not isinstance(own, dict):
            return data
        if not own and prior_file is None:
            raise FieldProblem("parameters", {}, f"name at least one parameter: {', '.join(PARAMETERS)}")
        converted = {}
        for name, spec in own.items():
            if name not in PARAMETERS:
                raise FieldProblem(f"parameters.{name}", name, f"not a calibratable parameter; allowed: "
                                   f"{', '.join(PARAMETERS)}")
            if not isinstance(spec, dict):
                raise FieldProblem(f"parameters.{name}", spec, "expected a mapping with 'prior' (and optionally "
                                   "prior_log_sd, bounds, initial)")
            converted[name] = convert_entry(name, spec, PARAMETERS[name])
        if prior_file is not None:  # a CaseError of the prior file itself names that file
            converted = merge_prior(converted, read_prior_file(prior_file), str(prior_file))
        return dict(data, parameters=converted, prior=prior_file)


def with_prior(case, path: str | Path):
    """A copy of ``case`` whose calibration takes the prior file's entries (the ``--prior`` option).

    Applied on top of the validated case (after its own ``calibration.prior``, if any); a case without a
    calibration section gets one with the prior file's parameters.

    Raises:
        CaseError: a bad prior file, or the case's ``initial`` outside the prior's bounds.
    """
    path = Path(path).resolve()
    entries = read_prior_file(path)
    spec = case.calibration or Calibration.model_construct(parameters={}, misfit=Misfit(), optimiser=Optimiser())
    own = {n: p.model_dump() for n, p in spec.parameters.items()}
    try:
        merged = merge_prior(own, entries, str(path))
    except FieldProblem as exc:
        raise CaseError(str(path), f"calibration.{exc.key}", exc.value, str(exc)) from None
    for name in entries:
        problem = PARAMETERS[name].requires(case)
        if problem:
            raise CaseError(str(path), f"parameters.{name}", name, f"{PARAMETERS[name].description}: {problem} "
                            "(in the case this prior is applied to)")
    parameters = {n: CalibratedParameter(**p) for n, p in merged.items()}
    calibration = Calibration.model_construct(**{**dict(spec), "parameters": parameters, "prior": path})
    return with_covariates(case.model_copy(update={"calibration": calibration}), str(path))
