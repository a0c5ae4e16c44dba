"""Checkpoint-inhibitor antibodies: population PK with body-weight allometry and time-varying clearance,
label dosing, and PD-1 target occupancy.

Structural model (two compartments, amounts in mg, internal units s, mm^3)::

    dA1/dt = -(CL(t) + Q) / V1 * A1 + Q / V2 * A2 + infusion(t)
    dA2/dt =  Q / V1 * A1 - Q / V2 * A2
    CL(t)  = CL0 * exp(Emax * t^g / (T50^g + t^g))          (t: time since the first dose)

``Emax = 0`` is the stationary model (pembrolizumab, Ahamadi 2017), whose closed form is
:class:`oncotwin.pk.compartments.CompartmentModel`; nivolumab (Zhang 2019, after Bajaj 2017) has ``Emax < 0`` and is
integrated with ``scipy.integrate.solve_ivp`` between dose events. Body weight scales CL, Q, V1 and V2 by
``(W / W_ref)^exponent`` as in the source model; where the source has them, eGFR scales CL by
``(eGFR / eGFR_ref)^exponent`` and categorical covariates (sex, performance status, race) multiply CL and V1
by ``exp(theta)`` (:meth:`AntibodyModel.individual`). The source's inter-individual variability (log-normal
on CL, V1, V2, additive on Emax) is sampled by :func:`sample_individuals`, so that a simulated population
can be compared with the exposure table of the source (geometric means).

PD-1 occupancy is the fraction of receptor bound at the plasma concentration C, ``C / (C + EC50)`` (a
one-site binding isotherm). For pembrolizumab EC50 is the IC50 of ex vivo IL-2 target engagement of
Elassaiss-Schaap et al. 2017 (0.535 ug/mL, Table 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from scipy.integrate import solve_ivp

from oncotwin.core.units import to_internal
from oncotwin.pk.compartments import CompartmentModel
from oncotwin.pk.schedule import DAY, DoseEvent

MG_PER_L = 1e6
"""mg/L (= ug/mL) per mg/mm^3."""


@dataclass(frozen=True)
class AntibodyModel:
    """Typical-patient population PK of one antibody, internal units (mm^3/s, mm^3, s, mg/mm^3).

    Attributes:
        name: library name.
        clearance: baseline CL0 at the reference covariates.
        central_volume: V1.
        q: inter-compartmental clearance.
        peripheral_volume: V2.
        clearance_emax: maximal log-fractional change of CL over time (0: stationary).
        clearance_t50: time to half of that change, s.
        clearance_hill: sigmoidicity of the change.
        reference_weight_kg: body weight of the reference patient.
        weight_exponents: (CL, Q, V1, V2) allometric exponents.
        occupancy_ec50: plasma concentration at half PD-1 occupancy, mg/mm^3.
        label_bases: dose bases the label allows (``"flat"``, ``"weight"``).
        label_dose: the label regimen, for messages.
        source: citation of the PK parameters.
        occupancy_source: citation of ``occupancy_ec50``.
        reference_egfr: eGFR of the reference patient, mL/min/1.73 m^2.
        egfr_exponent: power of eGFR on CL (0: no eGFR effect).
        flag_effects: categorical covariate -> (theta on CL, theta on V1); a patient with the flag has
            ``CL exp(theta_CL)``, ``V1 exp(theta_V1)``.
        iiv: (var eta_CL, cov(eta_CL, eta_V1), var eta_V1, var eta_V2, var eta_Emax) of the source; the
            Emax eta is additive (``Emax + eta``), the others log-normal.
    """

    name: str
    clearance: float
    central_volume: float
    q: float
    peripheral_volume: float
    clearance_emax: float = 0.0
    clearance_t50: float = 1.0
    clearance_hill: float = 1.0
    reference_weight_kg: float = 70.0
    weight_exponents: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    occupancy_ec50: float = 1e-6
    label_bases: tuple[str, ...] = ("flat", "weight")
    label_dose: str = ""
    source: str = ""
    occupancy_source: str = ""
    reference_egfr: float = 90.0
    egfr_exponent: float = 0.0
    flag_effects: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    iiv: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def individual(self, weight_kg: float | None = None, egfr: float | None = None,
                   flags: Iterable[str] = (), eta: Sequence[float] = (0.0, 0.0, 0.0, 0.0)) -> AntibodyModel:
        """The model of one patient: covariates of the source model, and random effects ``eta``.

        Args:
            weight_kg: body weight (``None``: the reference patient's).
            egfr: eGFR, mL/min/1.73 m^2 (``None``: the reference patient's).
            flags: categorical covariates the patient has (keys of :attr:`flag_effects`).
            eta: (eta_CL, eta_V1, eta_V2, eta_Emax), e.g. one row of :func:`sample_individuals`.

        Raises:
            ValueError: an unknown flag or a non-positive eGFR.
        """
        unknown = sorted(set(flags) - set(self.flag_effects))
        if unknown:
            raise ValueError(f"{self.name}: unknown covariate(s) {unknown}; the source model has "
                             f"{sorted(self.flag_effects) or 'none'}")
        model = self.for_weight(weight_kg)
        log_cl, log_v1 = eta[0], eta[1]
        if egfr is not None:
            if not (egfr > 0 and math.isfinite(egfr)):
                raise ValueError(f"eGFR must be > 0 mL/min/1.73 m^2, got {egfr!r}")
            log_cl += self.egfr_exponent * math.log(egfr / self.reference_egfr)
        for flag in flags:
            log_cl += self.flag_effects[flag][0]
            log_v1 += self.flag_effects[flag][1]
        return replace(model, clearance=model.clearance * math.exp(log_cl),
                       central_volume=model.central_volume * math.exp(log_v1),
                       peripheral_volume=model.peripheral_volume * math.exp(eta[2]),
                       clearance_emax=model.clearance_emax + eta[3])

    def for_weight(self, weight_kg: float | None) -> AntibodyModel:
        """The model of a patient of ``weight_kg`` (``None``: the reference patient)."""
        if weight_kg is None:
            return self
        if not (weight_kg > 0 and math.isfinite(weight_kg)):
            raise ValueError(f"body weight must be > 0 kg, got {weight_kg!r}")
        ratio = weight_kg / self.reference_weight_kg
        e_cl, e_q, e_v1, e_v2 = self.weight_exponents
        return replace(self, clearance=self.clearance * ratio**e_cl, q=self.q * ratio**e_q,
                       central_volume=self.central_volume * ratio**e_v1,
                       peripheral_volume=self.peripheral_volume * ratio**e_v2, reference_weight_kg=weight_kg)

    def clearance_at(self, t: np.ndarray | float) -> np.ndarray:
        """CL(t), mm^3/s, t in s since the first dose."""
        t = np.maximum(np.asarray(t, dtype=float), 0.0)
        if self.clearance_emax == 0.0:
            return np.full_like(t, self.clearance)
        x = (t / self.clearance_t50) ** self.clearance_hill
        return self.clearance * np.exp(self.clearance_emax * x / (1.0 + x))

    def stationary(self) -> CompartmentModel:
        """The model with the baseline clearance held constant (closed form)."""
        return CompartmentModel(self.clearance, self.central_volume, ((self.q, self.peripheral_volume),))

    def concentration(self, t: np.ndarray | float, events: Sequence[DoseEvent], *,
                      rtol: float = 1e-10) -> np.ndarray:
        """Plasma concentration, mg/mm^3, at times ``t`` (s) after the dose ``events`` (infusions or boluses)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if self.clearance_emax == 0.0:
            return self.stationary().concentration(t, events)
        return _integrate(self, t, events, rtol)[0]

    def auc(self, t0: float, t1: float, events: Sequence[DoseEvent], *, rtol: float = 1e-10) -> float:
        """AUC of the plasma concentration over [t0, t1], mg*s/mm^3."""
        if self.clearance_emax == 0.0:
            model = self.stationary()
            return float(model.auc(t1, events)[0] - model.auc(t0, events)[0])
        _, auc = _integrate(self, np.array([t0, t1]), events, rtol)
        return float(auc[1] - auc[0])

    def occupancy(self, concentration: np.ndarray | float) -> np.ndarray:
        """Fraction of PD-1 bound at a plasma concentration (mg/mm^3): C / (C + EC50)."""
        c = np.maximum(np.asarray(concentration, dtype=float), 0.0)
        return c / (c + self.occupancy_ec50)


def _integrate(model: AntibodyModel, t: np.ndarray, events: Sequence[DoseEvent],
               rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Concentration (mg/mm^3) and cumulative AUC (mg*s/mm^3) at sorted-or-not ``t``, by ``solve_ivp``."""
    v1, v2, q = model.central_volume, model.peripheral_volume, model.q
    t_max = float(t.max(initial=0.0))
    breaks = sorted({0.0, t_max, *(x for e in events for x in (e.time, e.end) if x <= t_max)})
    scale = max((e.amount for e in events), default=1.0) / v1
    state = np.zeros(3)  # A1, A2 (mg), AUC (mg*s/mm^3)
    conc, auc = np.full(t.shape, np.nan), np.full(t.shape, np.nan)

    def rhs(time, y, rate):
        c1 = y[0] / v1
        cl = float(model.clearance_at(time))
        return [-(cl + q) * c1 + q * y[1] / v2 + rate, q * c1 - q * y[1] / v2, c1]

    for a, b in zip(breaks, breaks[1:] + [np.inf], strict=False):
        state = state + np.array([sum(e.amount for e in events if e.time == a and e.duration <= 0), 0.0, 0.0])
        inside = (t >= a) & (t < b) if np.isfinite(b) else (t >= a)
        rate = sum((e.rate for e in events if e.duration > 0 and e.time <= a < e.end), 0.0)
        end = b if np.isfinite(b) else a
        if end > a:
            sol = solve_ivp(rhs, (a, end), state, method="DOP853", rtol=rtol, dense_output=True, args=(rate,),
                            atol=[1e-14 * scale * v1, 1e-14 * scale * v1, 1e-14 * scale * DAY])
            if not sol.success:
                raise RuntimeError(f"antibody PK solve failed: {sol.message}")
            if inside.any():
                values = sol.sol(t[inside])
                conc[inside], auc[inside] = values[0] / v1, values[2]
            state = sol.y[:, -1]
        elif inside.any():
            conc[inside], auc[inside] = state[0] / v1, state[2]
    return conc, auc


def _q(value: str, unit: str) -> float:
    return to_internal(value, unit)


# Ahamadi M et al., CPT Pharmacometrics Syst Pharmacol 2017;6:49, Table 3: CL 0.22 L/day, Vc 3.48 L,
#   Q 0.795 L/day, Vp 4.06 L at the reference patient (76.8 kg, albumin 39.6 g/L, male, melanoma, ECOG 0,
#   ipilimumab-naive); weight exponent 0.595 on CL and Q, 0.489 on Vc and Vp; clearance is stationary in
#   this model (the time-varying clearance of pembrolizumab was reported later: Li H et al., J Pharmacokinet
#   Pharmacodyn 2017;44:403). EC50 of occupancy: IC50 0.535 ug/mL of ex vivo IL-2 target engagement,
#   Elassaiss-Schaap J et al., CPT Pharmacometrics Syst Pharmacol 2017;6:21, Table 2.
# Zhang J, Cai J, Bello A, Roy A, Sheng J. J Clin Pharmacol 2019;59:1415 (PMC6767401), Table S7: the Bajaj
#   2017 nivolumab model (CPT Pharmacometrics Syst Pharmacol 2017;6:58) re-estimated on 1,200 patients of 7
#   studies. CL 11.6 mL/h, Vc 4.19 L, Q 29.3 mL/h, Vp 2.64 L at the reference patient (white/other male,
#   80 kg, eGFR 90 mL/min/1.73 m^2, ECOG 0, NSCLC; Figure 1 caption); weight exponents 0.529 (CL), 0.740 (Vc);
#   eGFR exponent 0.132 (CL); exp effects on CL: female -0.182, ECOG > 0 +0.138, Asian -0.0891, Black -0.00409,
#   nasopharyngeal carcinoma +0.0889, other tumour types +0.0718; female on Vc -0.132; time-varying CL with
#   Emax -0.378, T50 1380 h, Hill 1.92; IIV variances CL 0.119, CL-Vc 0.0551, Vc 0.101, Vp 0.283, Emax
#   (additive) 0.0951. Values as transcribed (with the table rows named) in the nlmixr2lib vignette
#   Zhang_2019b_nivolumab. Zhang 2019 Tables 2-4 give the model-predicted geometric-mean exposures that
#   tests/pk/test_antibodies.py reproduces (e.g. non-Asian 3 mg/kg Q2W at steady state: Cmin 65.9, Cavg 85.6,
#   Cmax 129 ug/mL). Zhang 2019 supersedes Bajaj 2017 here because it publishes that exposure table.
#   EC50 of occupancy: binding affinity KD 3.06 nM to human PD-1 (Wang C et al., Cancer Immunol Res
#   2014;2:846: the paper is checked, the value 3.06 nM is from memory and not verified; a QSP model citing the
#   same paper uses 2.60 nM, HanwenWang95/QSPIO-TNBC parameters_TNBC.m), with the molecular weight 146 kDa
#   (label) -> 0.45 ug/mL; approximate (in vivo occupancy is near-saturated at clinical troughs, Brahmer JR et
#   al., J Clin Oncol 2010;28:3167).
ANTIBODIES = MappingProxyType({
    "pembrolizumab": AntibodyModel(
        name="pembrolizumab", clearance=_q("0.22 L/day", "mm^3/s"), central_volume=_q("3.48 L", "mm^3"),
        q=_q("0.795 L/day", "mm^3/s"), peripheral_volume=_q("4.06 L", "mm^3"),
        reference_weight_kg=76.8, weight_exponents=(0.595, 0.595, 0.489, 0.489),
        occupancy_ec50=_q("0.535 mg/L", "mg/mm^3"), label_dose="200 mg every 3 weeks (or 2 mg/kg)",
        source="Ahamadi et al., CPT Pharmacometrics Syst Pharmacol 2017;6:49 (Table 3)",
        occupancy_source="Elassaiss-Schaap et al., CPT Pharmacometrics Syst Pharmacol 2017;6:21 (Table 2)"),
    "nivolumab": AntibodyModel(
        name="nivolumab", clearance=_q("11.6 mL/h", "mm^3/s"), central_volume=_q("4.19 L", "mm^3"),
        q=_q("29.3 mL/h", "mm^3/s"), peripheral_volume=_q("2.64 L", "mm^3"),
        clearance_emax=-0.378, clearance_t50=_q("1380 h", "s"), clearance_hill=1.92,
        reference_weight_kg=80.0, weight_exponents=(0.529, 0.0, 0.740, 0.0),
        reference_egfr=90.0, egfr_exponent=0.132,
        flag_effects=MappingProxyType({"female": (-0.182, -0.132), "ecog_ge1": (0.138, 0.0),
                                       "asian": (-0.0891, 0.0), "black": (-0.00409, 0.0),
                                       "nasopharyngeal": (0.0889, 0.0), "other_tumour": (0.0718, 0.0)}),
        iiv=(0.119, 0.0551, 0.101, 0.283, 0.0951),
        occupancy_ec50=_q("0.447 mg/L", "mg/mm^3"), label_dose="240 mg every 2 weeks (or 3 mg/kg)",
        source="Zhang et al., J Clin Pharmacol 2019;59:1415 (Table S7; re-estimation of Bajaj et al. 2017)",
        occupancy_source="Wang et al., Cancer Immunol Res 2014;2:846 (KD 3.06 nM), approximate"),
})


def sample_individuals(model: AntibodyModel, n: int, seed: int) -> np.ndarray:
    """``n`` rows of random effects (eta_CL, eta_V1, eta_V2, eta_Emax) drawn from the source's IIV.

    A seeded generator, so the draws are the same on every rank and every run.
    """
    var_cl, cov, var_v1, var_v2, var_emax = model.iiv
    rng = np.random.default_rng(seed)
    cl_v1 = rng.multivariate_normal([0.0, 0.0], [[var_cl, cov], [cov, var_v1]], size=n)
    return np.column_stack([cl_v1, rng.normal(0.0, math.sqrt(var_v2), n), rng.normal(0.0, math.sqrt(var_emax), n)])


def antibody(name: str) -> AntibodyModel | None:
    """The antibody model of a library drug (case-insensitive), ``None`` if it is no antibody."""
    return ANTIBODIES.get(str(name).strip().lower())


def label_basis_problem(name: str, basis: str) -> str | None:
    """Why a dose basis (``flat``, ``bsa``, ``weight``) is not the label's for antibody ``name``, else ``None``."""
    model = antibody(name)
    if model is None or basis in model.label_bases:
        return None
    words = {"flat": "flat (e.g. '200 mg')", "weight": "per body weight (e.g. '2 mg/kg')", "bsa": "per body surface"}
    allowed = " or ".join(words[b] for b in model.label_bases)
    return (f"{model.name} is dosed {allowed} on its label ({model.label_dose}); a dose {words[basis]} "
            "(mg/m^2) is not a label dose")


@dataclass(frozen=True)
class SteadyState:
    """Exposure over one dosing interval at steady state (mg/L, mg*day/L)."""

    trough_mg_per_l: float
    peak_mg_per_l: float
    auc_interval_mg_day_per_l: float
    average_mg_per_l: float
    trough_occupancy: float


def steady_state(model: AntibodyModel, amount_mg: float, interval: float, infusion: float = 1800.0,
                 n_doses: int = 40) -> SteadyState:
    """Exposure over the last interval of ``n_doses`` doses of ``amount_mg`` every ``interval`` s.

    With a time-varying clearance, "steady state" is the interval after ``n_doses - 1`` doses, when CL has
    reached its plateau (40 doses q3w is 2.3 years, many times T50).
    """
    events = [DoseEvent(k * interval, infusion, amount_mg, model.name, "infusion") for k in range(n_doses)]
    start, end = (n_doses - 1) * interval, n_doses * interval
    times = np.append(np.linspace(start, end - 1e-6 * interval, 401), end - 1e-9 * interval)
    if model.clearance_emax == 0.0:
        conc = model.concentration(times, events)
        auc = model.auc(start, end, events) * MG_PER_L / DAY
    else:  # one integration gives the curve and the cumulative AUC (start and end of the interval)
        conc, cumulative = _integrate(model, np.append(times, [start, end]), events, 1e-10)
        auc = float(cumulative[-1] - cumulative[-2]) * MG_PER_L / DAY
        conc = conc[:-2]
    trough = float(conc[-1])
    return SteadyState(trough_mg_per_l=trough * MG_PER_L, peak_mg_per_l=float(conc.max()) * MG_PER_L,
                       auc_interval_mg_day_per_l=auc, average_mg_per_l=auc * DAY / interval,
                       trough_occupancy=float(model.occupancy(trough)))
