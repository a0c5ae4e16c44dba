"""Chemotherapy-induced neutropenia: the semi-mechanistic myelosuppression model of Friberg et al. 2002.

Model (Friberg LE, Henningsson A, Maas H, Nguyen L, Karlsson MO. J Clin Oncol 2002;20:4713, Fig. 1)::

    dProl/dt = k_tr Prol ((1 - E(C)) (Circ0 / Circ)^gamma - 1)
    dT1/dt   = k_tr (Prol - T1),   dT2/dt = k_tr (T1 - T2),   dT3/dt = k_tr (T2 - T3)
    dCirc/dt = k_tr T3 - k_tr Circ,        k_tr = 4 / MTT,     all compartments start at Circ0

driven by the total plasma concentration C(t) of the drug (:mod:`oncotwin.pk.plasma`), with a linear
(``E = slope C``) or an Emax (``E = Emax C / (EC50 + C)``) drug effect. Inter-individual variability (IIV)
is log-normal, ``P_i = P exp(eta)``, ``eta ~ N(0, omega^2)``, with the published omegas (CV as the SD of eta),
sampled by Monte Carlo with a seeded generator, so the result is the same on every rank and every run.

Neutropenia grades (CTCAE v5): grade 3 at ANC < 1.0e9/L, grade 4 at ANC < 0.5e9/L.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from oncotwin.core.errors import OncotwinError

GRADE3_ANC = 1.0
"""ANC below which neutropenia is CTCAE grade >= 3 (1e9 cells/L)."""
GRADE4_ANC = 0.5
"""ANC below which neutropenia is CTCAE grade 4 (1e9 cells/L)."""


class NoMyelosuppressionModel(OncotwinError):
    """A drug without published Friberg parameters in :data:`FRIBERG` (the message lists those with)."""


@dataclass(frozen=True)
class FribergParameters:
    """Drug-specific and system parameters of the Friberg model, as published.

    Attributes:
        drug: library name of the drug.
        circ0: baseline circulating neutrophils, 1e9 cells/L.
        mtt_h: mean transit time through the maturation chain, h.
        gamma: feedback exponent.
        molecular_weight: g/mol, to express the concentration in umol/L as the source does.
        slope_per_um: linear drug effect, L/umol (``None`` for an Emax model).
        emax: maximal drug effect (Emax model).
        ec50_um: concentration of half-maximal effect, umol/L (Emax model).
        omega: parameter name -> SD of its log-normal IIV (the source's CV).
        source: citation with the table the values come from.
    """

    drug: str
    circ0: float
    mtt_h: float
    gamma: float
    molecular_weight: float
    slope_per_um: float | None = None
    emax: float | None = None
    ec50_um: float | None = None
    omega: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def effect(self, c_um: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Drug effect E at concentration ``c_um`` (umol/L); ``scale`` multiplies slope or EC50 (IIV)."""
        if self.slope_per_um is not None:
            return self.slope_per_um * scale * c_um
        return self.emax * c_um / (self.ec50_um * scale + c_um)


# Friberg 2002, Table 4 (docetaxel, neutrophils, Emax model with the system parameters estimated; CV as
# published: Circ0 42 %, MTT 16 %, gamma 3.9 %, Emax 33 %, EC50 50 %), as transcribed in the DTAT R package
# of D.C. Norris (F1000Research 2017;6:112), which cites that table row for these values.
FRIBERG: Mapping[str, FribergParameters] = MappingProxyType({
    "docetaxel": FribergParameters(
        drug="docetaxel", circ0=5.05, mtt_h=89.3, gamma=0.163, molecular_weight=807.88,
        emax=83.9, ec50_um=7.17,
        omega=MappingProxyType({"circ0": 0.42, "mtt_h": 0.16, "gamma": 0.039, "emax": 0.33, "ec50_um": 0.50}),
        source="Friberg et al., J Clin Oncol 2002;20:4713, Table 4 (docetaxel, Emax model)",
    ),
})

# The same model structure refitted to docetaxel neutrophil data with covariates (Kloft C, Wallin J,
# Henningsson A, Chatelut E, Karlsson MO. Clin Cancer Res 2006;12:5481; typical patient: male, ECOG 0,
# no prior therapy, AAG 1.34 g/L). Values of the DDMORE repository entry DDMODEL00000224 (BA 5.22e9/L,
# MTT 84.2 h, slope 15.57 L/umol, gamma 0.145; omega^2 0.064, 0.0192, 0.128 -> SD 0.253, 0.138, 0.358).
ALTERNATIVES: Mapping[str, FribergParameters] = MappingProxyType({
    "docetaxel_kloft2006": FribergParameters(
        drug="docetaxel", circ0=5.22, mtt_h=84.2, gamma=0.1445, molecular_weight=807.88, slope_per_um=15.57,
        omega=MappingProxyType({"circ0": 0.253, "mtt_h": 0.138, "slope_per_um": 0.358}),
        source="Kloft et al., Clin Cancer Res 2006;12:5481 (DDMORE DDMODEL00000224)",
    ),
})


def friberg_parameters(drug: str) -> FribergParameters:
    """The published Friberg parameters of ``drug``.

    Raises:
        NoMyelosuppressionModel: no parameters for this drug (lists the drugs that have them).
    """
    key = str(drug).strip().lower()
    if key not in FRIBERG:
        raise NoMyelosuppressionModel(f"no published myelosuppression (Friberg) parameters for drug {drug!r}; "
                                      f"drugs with them: {', '.join(sorted(FRIBERG))}")
    return FRIBERG[key]


@dataclass(frozen=True)
class AncForecast:
    """Absolute neutrophil count over time of a typical patient and a Monte Carlo population.

    Attributes:
        drug: the drug.
        days: output times, days after the start of treatment.
        typical: ANC of the typical patient (no IIV), 1e9/L.
        p05, p50, p95: 5th, 50th and 95th percentiles over the population, 1e9/L.
        nadirs: each simulated patient's lowest ANC, 1e9/L.
        source: the parameters' source.
    """

    drug: str
    days: np.ndarray
    typical: np.ndarray
    p05: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    nadirs: np.ndarray
    source: str

    @property
    def nadir(self) -> float:
        """Lowest ANC of the typical patient, 1e9/L."""
        return float(self.typical.min())

    @property
    def nadir_day(self) -> float:
        """Day of the typical patient's nadir."""
        return float(self.days[int(np.argmin(self.typical))])

    @property
    def p_grade3(self) -> float:
        """Fraction of the population with grade >= 3 neutropenia (ANC < 1.0e9/L) at some time."""
        return float(np.mean(self.nadirs < GRADE3_ANC))

    @property
    def p_grade4(self) -> float:
        """Fraction of the population with grade 4 neutropenia (ANC < 0.5e9/L) at some time."""
        return float(np.mean(self.nadirs < GRADE4_ANC))

    def summary(self) -> dict:
        """Numbers for tables and JSON."""
        return {"drug": self.drug, "nadir_anc_1e9_per_L": self.nadir, "nadir_day": self.nadir_day,
                "p_grade3_neutropenia": self.p_grade3, "p_grade4_neutropenia": self.p_grade4,
                "n_patients": int(self.nadirs.size), "source": self.source}


def sample_parameters(params: FribergParameters, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` individual parameter sets (arrays); index 0 is the typical patient (no IIV)."""
    rng = np.random.default_rng(seed)
    names = ("circ0", "mtt_h", "gamma", "emax", "ec50_um", "slope_per_um")
    out = {}
    for name in names:
        value = getattr(params, name)
        if value is None:
            continue
        eta = rng.normal(0.0, params.omega.get(name, 0.0), size=n)
        eta[0] = 0.0
        out[name] = value * np.exp(eta)
    return out


def simulate_anc(params: FribergParameters, concentration_mg_per_l: Callable[[np.ndarray], np.ndarray],
                 t_end_h: float, *, n_patients: int = 500, seed: int = 2002, dt_h: float = 0.1,
                 output_every_h: float = 6.0) -> AncForecast:
    """ANC over ``[0, t_end_h]`` for a plasma concentration curve.

    Integrated by the classical Runge-Kutta method with a fixed step (deterministic and the same on every
    rank); the step resolves the drug's distribution phase (minutes to hours) and k_tr ~ 0.045 1/h.

    Args:
        params: the drug's Friberg parameters.
        concentration_mg_per_l: total plasma concentration (mg/L) at times in hours (vectorised).
        t_end_h: end of the forecast, h.
        n_patients: Monte Carlo population size (plus the typical patient).
        seed: random seed of the IIV draws.
        dt_h: integration step, h.
        output_every_h: output interval, h.
    """
    if t_end_h <= 0 or dt_h <= 0 or n_patients < 1:
        raise ValueError("t_end_h, dt_h and n_patients must be positive")
    p = sample_parameters(params, n_patients + 1, seed)
    ktr = 4.0 / p["mtt_h"]
    circ0, gamma = p["circ0"], p["gamma"]
    iiv_scale = p.get("slope_per_um", p.get("ec50_um")) / (params.slope_per_um or params.ec50_um)
    emax_scale = p["emax"] / params.emax if "emax" in p else 1.0
    steps = int(np.ceil(t_end_h / dt_h))
    dt = t_end_h / steps
    to_um = 1000.0 / params.molecular_weight
    c_um = np.asarray(concentration_mg_per_l(np.linspace(0.0, t_end_h, 2 * steps + 1)), dtype=float) * to_um

    def rhs(y: np.ndarray, c: float) -> np.ndarray:
        prol, t1, t2, t3, circ = y
        effect = emax_scale * params.effect(c, iiv_scale)
        feedback = (circ0 / np.maximum(circ, 1e-12)) ** gamma
        return np.stack([ktr * prol * ((1.0 - effect) * feedback - 1.0), ktr * (prol - t1), ktr * (t1 - t2),
                         ktr * (t2 - t3), ktr * (t3 - circ)])

    y = np.tile(circ0, (5, 1)).astype(float)
    every = max(1, round(output_every_h / dt))
    times, anc = [0.0], [y[4].copy()]
    nadirs = y[4].copy()
    for i in range(steps):
        c0, ch, c1 = c_um[2 * i], c_um[2 * i + 1], c_um[2 * i + 2]
        k1 = rhs(y, c0)
        k2 = rhs(y + 0.5 * dt * k1, ch)
        k3 = rhs(y + 0.5 * dt * k2, ch)
        k4 = rhs(y + dt * k3, c1)
        y = np.maximum(y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4), 0.0)
        nadirs = np.minimum(nadirs, y[4])
        if (i + 1) % every == 0 or i == steps - 1:
            times.append((i + 1) * dt)
            anc.append(y[4].copy())
    anc = np.array(anc)
    population = anc[:, 1:]
    return AncForecast(params.drug, np.array(times) / 24.0, anc[:, 0], *np.percentile(population, [5, 50, 95], axis=1),
                       nadirs[1:], params.source)
