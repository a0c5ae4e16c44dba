"""Calibratable parameters: the names ``calibration.parameters`` accepts, where each lives in a case, its units.

Every parameter is positive and fitted in log space. This registry is case-layer data: the case schema
checks a ``calibration`` section against it, and :mod:`oncotwin.calibration.parameters` uses it to write
values into a case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oncotwin.core.units import convert
from oncotwin.defaults.sources import Default


def value_at(case: Any, path: tuple) -> Any:
    """The value at ``path`` in a (nested) case model; dict keys are allowed on the way."""
    value: Any = case
    for key in path:
        value = value[key] if isinstance(value, dict) else getattr(value, key)
    return value


@dataclass(frozen=True)
class ParameterKind:
    """One calibratable parameter.

    Attributes:
        name: key in ``calibration.parameters``.
        internal_unit: unit of the value inside oncotwin.
        unit: unit in which it is reported and written to case fragments.
        example: a value with units, for messages.
        description: what it is, in words.
        paths: where the value lives in a case (``get`` reads the first; setting it scales them all).
        requires: a case -> error message (None when the parameter applies to the case).
        prior: default prior median (with its source) when a calibration entry gives none.
        prior_log_sd: default prior standard deviation of the log that goes with ``prior``.
    """

    name: str
    internal_unit: str
    unit: str
    example: str
    description: str
    paths: Callable[[Any], list[tuple]]
    requires: Callable[[Any], str | None]
    prior: Default | None = None
    prior_log_sd: float | None = None

    def get(self, case) -> float:
        """The value in ``case`` (internal units)."""
        return float(value_at(case, self.paths(case)[0]))

    def user_value(self, value: float) -> float:
        """``value`` (internal units) in the reporting unit."""
        return convert(value, self.internal_unit, self.unit) if self.unit else value

    def text(self, value: float) -> str:
        """``value`` as a quantity string in the reporting unit (a case-file value)."""
        return f"{self.user_value(value):.6g} {self.unit}".strip()


def _growth_required(case) -> str | None:
    return None if case.physics.growth.enabled else "needs physics.growth"


def _diffusivity_paths(case) -> list[tuple]:
    reference = case.viable_tumour_region() or case.tumour_regions()[0]
    others = [n for n in case.regions if n != reference]
    return [("regions", n, "growth", "diffusivity") for n in [reference, *others]]


def _rt_required(case) -> str | None:
    return _growth_required(case) or (None if case.treatment.radiotherapy is not None
                                      else "needs treatment.radiotherapy")


def _mechanics_required(case) -> str | None:
    return _growth_required(case) or (None if case.physics.mechanics.enabled else "needs physics.mechanics")


RADIOSENSITIVITY_PRIOR = Default("0.19 1/Gy", "clinical range 0.1-0.35 /Gy of head-and-neck squamous cell "
                                 "carcinoma (van Leeuwen et al., Radiat. Oncol. 13:96, 2018 [LQ]): the geometric "
                                 "mean, with log sd 0.3 (95 % 0.1-0.34 /Gy)")
CLEARANCE_PRIOR = Default("10 day", "median doomed-cell clearance half-time T_c of Lim et al., IJROBP 70:126, 2008 "
                                    "(cervix cancer under radiotherapy; Chvetsov, IJROBP 75:595, 2009), with log sd "
                                    "0.7 (95 % 2.5-40 days)")


def _one_drug_effect(case) -> str | None:
    effects = case.physics.growth.drug_effect
    if _growth_required(case):
        return _growth_required(case)
    return None if len(effects) == 1 else (f"needs exactly one physics.growth.drug_effect (found "
                                           f"{len(effects)}: {', '.join(effects) or 'none'})")


PARAMETERS: dict[str, ParameterKind] = {p.name: p for p in (
    ParameterKind("proliferation_rate", "1/s", "1/day", "0.05 1/day",
                  "net proliferation rate of the tumour cells (logistic)",
                  lambda case: [("physics", "growth", "proliferation_rate")], _growth_required),
    ParameterKind("invasion_diffusivity", "mm^2/s", "mm^2/day", "0.13 mm^2/day",
                  "invasion diffusivity of the viable tumour region (every region's value keeps its ratio)",
                  _diffusivity_paths, _growth_required),
    ParameterKind("radiosensitivity", "1/Gy", "1/Gy", "0.2 1/Gy",
                  "linear-quadratic alpha (alpha/beta fixed)",
                  lambda case: [("treatment", "radiotherapy", "alpha")], _rt_required, RADIOSENSITIVITY_PRIOR, 0.3),
    ParameterKind("clearance_half_time", "s", "day", "10 day",
                  "half-time of the clearance of doomed (lethally damaged) cells, T_c",
                  lambda case: [("physics", "growth", "clearance_half_time")], _growth_required, CLEARANCE_PRIOR,
                  0.7),
    ParameterKind("stress_coupling", "1/mmHg", "1/kPa", "0.5 1/kPa",
                  "mechanical coupling: invasion slows as exp(-gamma * von Mises stress)",
                  lambda case: [("physics", "mechanics", "stress_coupling")], _mechanics_required),
    ParameterKind("growth_strain", "", "", "0.1",
                  "mechanical coupling: isotropic growth eigenstrain at full density (mass effect)",
                  lambda case: [("physics", "mechanics", "growth_strain")], _mechanics_required),
    ParameterKind("drug_kill_rate", "1/s", "1/day", "0.1 1/day",
                  "maximum kill rate of the sensitive clone by the case's drug (Emax model)",
                  lambda case: [("physics", "growth", "drug_effect", next(iter(case.physics.growth.drug_effect)),
                                 "max_kill_rate")], _one_drug_effect),
)}
