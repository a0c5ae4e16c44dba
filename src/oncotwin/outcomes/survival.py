"""Overall survival from a tumour-size trajectory: published tumour-growth-inhibition (TGI) -> OS models.

A registry maps an indication to its model. An indication with no published model in the registry gives a
one-line note (:class:`SurvivalNote`), never a number; an unknown indication is an error.

Shipped models: ``breast``, Bruno R et al. CPT Pharmacometrics Syst Pharmacol 2012;1:e19 (log-normal OS on
baseline size and the week-6 change, :data:`BRUNO_2012`), and ``ovarian``, Zecchin C, Gueorguieva I, Enas NH, Friberg LE. Models for change in tumour size, appearance
of new lesions and survival probability in patients with advanced epithelial ovarian cancer. Br J Clin
Pharmacol 2016;82:717, Table 2 (parametric time-to-event model)::

    h(t) = lambda alpha (lambda t)^(alpha - 1) exp(g_SLD0 SLD0 / 70 mm + g_TSR TSR(min(t, 12 weeks))
                                                 + g_NL NewLesion(t) + g_ECOG [ECOG >= 1])
    S(t) = exp(-int_0^t h)

with lambda = 0.036 1/month, alpha = 1.99, g_SLD0 = 0.189, g_TSR = 0.893, g_NL = 1.23, g_ECOG = 0.518 and
TSR(t) = SLD(t) / SLD0 - 1 (tumour-size ratio, held at its week-12 value afterwards).

How the simulation feeds it (stated assumptions, the model's inputs are RECIST sums of diameters):

* the simulated tumour is one target lesion whose longest diameter is that of the sphere of the same
  volume, ``d = (6 V / pi)^(1/3)``;
* new lesions are not simulated: NewLesion = 0 (an optimistic bias);
* ECOG performance status comes from the outcome options (default 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.stats import norm

from oncotwin.core.errors import OncotwinError

DAYS_PER_MONTH = 30.4375
WEEK12_DAY = 84.0


class UnknownIndicationError(OncotwinError):
    """An indication that is not in :data:`INDICATIONS` (the message lists the known ones)."""


@dataclass(frozen=True)
class WeibullTgiModel:
    """A Weibull proportional-hazards OS model on baseline size and the tumour-size ratio (Zecchin 2016 form).

    Attributes:
        lam_per_month: Weibull scale lambda, 1/month.
        alpha: Weibull shape.
        g_sld0: log-hazard per (SLD0 / ``sld_reference_mm``).
        g_tsr: log-hazard per unit tumour-size ratio.
        g_new_lesion: log-hazard of a new lesion.
        g_ecog: log-hazard of ECOG >= 1.
        sld_reference_mm: normalisation of the baseline size.
        tsr_until_day: the TSR is held at its value on this day afterwards.
        source: citation with table.
    """

    lam_per_month: float
    alpha: float
    g_sld0: float
    g_tsr: float
    g_new_lesion: float
    g_ecog: float
    sld_reference_mm: float
    tsr_until_day: float
    source: str

    def linear_predictor(self, sld0_mm: float, tsr: np.ndarray | float, ecog: int = 0,
                         new_lesion: bool = False) -> np.ndarray:
        """The exponent of the hazard ratio."""
        return (self.g_sld0 * sld0_mm / self.sld_reference_mm + self.g_tsr * np.asarray(tsr, dtype=float)
                + self.g_new_lesion * float(new_lesion) + self.g_ecog * float(ecog >= 1))

    def survival(self, days: np.ndarray, sld0_mm: float, tsr_of_day, ecog: int = 0) -> np.ndarray:
        """S(t) at ``days`` (sorted, from 0) for a TSR given as a function of the day.

        The cumulative hazard is integrated by the trapezoidal rule on a 1-day grid up to the TSR freeze
        and exactly afterwards (the hazard ratio is then constant).
        """
        days = np.asarray(days, dtype=float)
        lam = self.lam_per_month / DAYS_PER_MONTH
        grid = np.linspace(0.0, self.tsr_until_day, int(self.tsr_until_day) + 1)
        def baseline(t):  # cumulative baseline hazard
            return (lam * t) ** self.alpha
        ratio = np.exp(self.linear_predictor(sld0_mm, tsr_of_day(grid), ecog))
        increments = np.diff(baseline(grid))
        cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (ratio[1:] + ratio[:-1]) * increments)])
        early = np.interp(np.minimum(days, self.tsr_until_day), grid, cumulative)
        late = ratio[-1] * (baseline(np.maximum(days, self.tsr_until_day)) - baseline(self.tsr_until_day))
        return np.exp(-(early + late))

    def median_constant_tsr(self, sld0_mm: float, tsr: float, ecog: int = 0) -> float:
        """Closed-form median OS (days) when the TSR is constant from day 0: (ln 2 / HR)^(1/alpha) / lambda."""
        hazard_ratio = math.exp(float(self.linear_predictor(sld0_mm, tsr, ecog)))
        return (math.log(2.0) / hazard_ratio) ** (1.0 / self.alpha) / self.lam_per_month * DAYS_PER_MONTH


ZECCHIN_2016 = WeibullTgiModel(
    lam_per_month=0.036, alpha=1.99, g_sld0=0.189, g_tsr=0.893, g_new_lesion=1.23, g_ecog=0.518,
    sld_reference_mm=70.0, tsr_until_day=WEEK12_DAY,
    source="Zecchin et al., Br J Clin Pharmacol 2016;82:717, Table 2 (ovarian cancer; DDMORE DDMODEL00000218)",
)


@dataclass(frozen=True)
class LogNormalTgiModel:
    """A log-normal accelerated-failure-time OS model on baseline size and an early size change (Bruno 2012 form).

    ``log T = intercept + b_sld0 SLD0 + b_change change(assessed_day) + b_ecog ECOG + fixed + sigma eps``, eps
    standard normal, so ``exp(mu)`` is the median and ``S(t) = 1 - Phi((log t - mu) / sigma)`` (t in months).

    Attributes:
        intercept: log-months.
        b_sld0_per_mm: per mm of baseline sum of longest diameters.
        b_change: per unit relative change from baseline in size at ``assessed_day``.
        b_ecog: per unit ECOG score.
        fixed: the sum of the covariate terms held at the reference patient's values (log-months).
        sigma: SD of log survival time.
        assessed_day: day of the size change (later changes do not enter).
        reference: the reference patient's covariates, in words.
        source: citation with table.
    """

    intercept: float
    b_sld0_per_mm: float
    b_change: float
    b_ecog: float
    fixed: float
    sigma: float
    assessed_day: float
    reference: str
    source: str

    def mu(self, sld0_mm: float, change: float, ecog: int = 0) -> float:
        """Location of log survival time (log-months)."""
        return (self.intercept + self.b_sld0_per_mm * sld0_mm + self.b_change * change + self.b_ecog * ecog
                + self.fixed)

    def median_months(self, sld0_mm: float, change: float, ecog: int = 0) -> float:
        """Median OS in months, ``exp(mu)``."""
        return math.exp(self.mu(sld0_mm, change, ecog))

    def survival(self, days: np.ndarray, sld0_mm: float, tsr_of_day, ecog: int = 0) -> np.ndarray:
        """S(t) at ``days`` for a relative size change given as a function of the day (read at ``assessed_day``)."""
        change = float(np.asarray(tsr_of_day(np.array([self.assessed_day])), dtype=float)[0])
        months = np.maximum(np.asarray(days, dtype=float), 1e-9) / DAYS_PER_MONTH
        return norm.sf((np.log(months) - self.mu(sld0_mm, change, ecog)) / self.sigma)


# Bruno R, Lindbom L, Schaedeli Stark F, Chanu P, Gilberg F, Frey N, Claret L. CPT Pharmacometrics Syst
# Pharmacol 2012;1:e19, Table 1 (888 patients, second-line metastatic breast cancer, capecitabine + docetaxel):
# beta0 3.02, baseline size -0.00231 /mm, week-6 change -0.801, ECOG -0.352, metastases -0.200 and study 0.131
# on a 1/2 coding (footnote c), sigma 0.773; as transcribed with these table references in nlmixr2lib
# (Bruno_2012_capecitabine_docetaxel_os). Reference patient of the Results: SLD0 75 mm, ECOG 0, > 1 metastatic
# site (-0.2 x 2), study NO16853 (0.131 x 2); expected median OS 11.8 months at +30 % and 19.3 at -30 %.
BRUNO_2012 = LogNormalTgiModel(
    intercept=3.02, b_sld0_per_mm=-0.00231, b_change=-0.801, b_ecog=-0.352, fixed=-0.200 * 2 + 0.131 * 2,
    sigma=0.773, assessed_day=42.0,
    reference="more than one metastatic site, study NO16853 (the later standard of care)",
    source="Bruno et al., CPT Pharmacometrics Syst Pharmacol 2012;1:e19, Table 1 (metastatic breast cancer)",
)

SurvivalModel = WeibullTgiModel | LogNormalTgiModel


@dataclass(frozen=True)
class SurvivalNote:
    """Why an indication has no survival number."""

    indication: str
    note: str


# indication -> model, or the note shown instead of a number
INDICATIONS: Mapping[str, SurvivalModel | SurvivalNote] = MappingProxyType({
    "ovarian": ZECCHIN_2016,
    "breast": BRUNO_2012,
    "glioblastoma": SurvivalNote("glioblastoma", "no published tumour-size -> overall-survival model with "
                                 "parameters is in the library for glioblastoma (Neal et al. 2013 'days gained' is "
                                 "a response metric without an OS model); no survival number is given"),
    # Wang 2009 and Claret 2009 are log-normal OS models on baseline size and the week-8 / week-7 change; their
    # parameter tables were not found in any source available to us, so they stay notes, not numbers.
    "nsclc": SurvivalNote("nsclc", "the NSCLC model of Wang et al. (Clin Pharmacol Ther 2009;86:167) is not yet "
                          "in the library (its parameter table is not transcribed); no survival number is given"),
    "colorectal": SurvivalNote("colorectal", "the colorectal model of Claret et al. (J Clin Oncol 2009;27:4103) is "
                               "not yet in the library (its parameter table is not transcribed); no survival "
                               "number is given"),
})


def survival_model(indication: str) -> SurvivalModel | SurvivalNote:
    """The model (or the note) of an indication.

    Raises:
        UnknownIndicationError: the indication is not in the registry.
    """
    key = str(indication).strip().lower()
    if key not in INDICATIONS:
        raise UnknownIndicationError(f"unknown indication {indication!r} for a survival model; known: "
                                     f"{', '.join(sorted(INDICATIONS))}")
    return INDICATIONS[key]


def sphere_diameter_mm(volume_mm3: np.ndarray | float) -> np.ndarray:
    """Diameter of the sphere of the given volume, mm."""
    return np.cbrt(6.0 * np.maximum(np.asarray(volume_mm3, dtype=float), 0.0) / math.pi)


@dataclass(frozen=True)
class SurvivalForecast:
    """S(t) of a regimen, with bands over an ensemble of trajectories.

    Attributes:
        days: times of S, days.
        survival: median S over the ensemble.
        lower, upper: 5th and 95th percentiles (equal to ``survival`` for one trajectory).
        median_os_days: per trajectory, the day S falls to 0.5 (``inf`` if not within ``days``).
        source: the model's source.
    """

    days: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    median_os_days: np.ndarray
    source: str

    def probability_alive(self, day: float) -> tuple[float, float, float]:
        """(median, 5th, 95th percentile) of S at ``day``."""
        return tuple(float(np.interp(day, self.days, s)) for s in (self.survival, self.lower, self.upper))

    def summary(self) -> dict:
        """Numbers for tables and JSON (months are 30.4375 days)."""
        one, two = self.probability_alive(365.25), self.probability_alive(730.5)
        median = float(np.median(self.median_os_days))
        return {"median_os_months": median / DAYS_PER_MONTH, "p_alive_1y": one[0], "p_alive_1y_band": one[1:],
                "p_alive_2y": two[0], "p_alive_2y_band": two[1:], "n_trajectories": int(self.median_os_days.size),
                "source": self.source}


def forecast_survival(model: SurvivalModel, trajectories: Sequence[tuple[np.ndarray, np.ndarray]], *,
                      ecog: int = 0, horizon_days: float = 5 * 365.25) -> SurvivalForecast:
    """S(t) from tumour-volume trajectories (one per ensemble member).

    Args:
        model: the indication's model.
        trajectories: pairs (days, tumour volume mm^3), days from the start of treatment (first = baseline).
        ecog: ECOG performance status.
        horizon_days: last day of S(t).

    Raises:
        ValueError: an empty ensemble or a trajectory with a zero baseline.
    """
    if not trajectories:
        raise ValueError("no tumour-size trajectory to forecast survival from")
    days = np.linspace(0.0, horizon_days, int(horizon_days) + 1)
    curves, medians = [], []
    for t, volume in trajectories:
        diameter = sphere_diameter_mm(volume)
        if not diameter[0] > 0:
            raise ValueError("the baseline tumour volume must be > 0 to forecast survival")
        tsr = diameter / diameter[0] - 1.0
        curve = model.survival(days, float(diameter[0]), lambda g, t=t, tsr=tsr: np.interp(g, t, tsr), ecog)
        curves.append(curve)
        medians.append(_crossing(days, curve, 0.5))
    curves = np.array(curves)
    return SurvivalForecast(days, np.median(curves, axis=0), np.percentile(curves, 5, axis=0),
                            np.percentile(curves, 95, axis=0), np.array(medians), model.source)


def _crossing(days: np.ndarray, curve: np.ndarray, level: float) -> float:
    """First day a decreasing curve reaches ``level`` (linear between samples), ``inf`` if it does not."""
    below = np.nonzero(curve <= level)[0]
    if not below.size:
        return math.inf
    k = int(below[0])
    if k == 0:
        return float(days[0])
    return float(np.interp(level, [curve[k], curve[k - 1]], [days[k], days[k - 1]]))
