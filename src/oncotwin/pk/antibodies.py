"""Checkpoint-inhibitor antibodies: population PK with body-weight allometry and time-varying clearance,
label dosing, and PD-1 target occupancy.

Structural model (two compartments, amounts in mg, internal units s, mm^3)::

    dA1/dt = -(CL(t) + Q) / V1 * A1 + Q / V2 * A2 + infusion(t)
    dA2/dt =  Q / V1 * A1 - Q / V2 * A2
    CL(t)  = CL0 * exp(Emax * t^g / (T50^g + t^g))          (t: time since the first dose)

``Emax = 0`` is the stationary model (pembrolizumab, Ahamadi 2017), whose closed form is
:class:`oncotwin.pk.compartments.CompartmentModel`; nivolumab (Bajaj 2017) has ``Emax < 0`` and is
integrated with ``scipy.integrate.solve_ivp`` between dose events. Body weight scales CL, Q, V1 and V2 by
``(W / W_ref)^exponent`` as in the source model.

PD-1 occupancy is the fraction of receptor bound at the plasma concentration C, ``C / (C + EC50)`` (a
one-site binding isotherm). For pembrolizumab EC50 is the IC50 of ex vivo IL-2 target engagement of
Elassaiss-Schaap et al. 2017 (0.535 ug/mL, Table 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
# Bajaj G et al., CPT Pharmacometrics Syst Pharmacol 2017;6:58 (DDMORE DDMODEL00000284 final estimates):
#   CL 9.40e-3 L/h, V1 3.63 L, Q 3.21e-2 L/h, V2 2.78 L at the reference patient (80 kg, eGFR 90, female,
#   ECOG 0); weight exponents 0.566 (CL) and 0.597 (V1); time-varying CL with Emax -0.295, T50 1410 h,
#   Hill 3.15. EC50 of occupancy: binding affinity KD 3.06 nM to human PD-1 (Wang C et al., Cancer Immunol
#   Res 2014;2:846: the paper is checked, the value 3.06 nM is from memory and not verified; a secondary
#   source gives ~2.6 nM), with the molecular weight 146 kDa (label) -> 0.45 ug/mL; approximate (in vivo
#   occupancy is near-saturated at clinical troughs, Brahmer JR et al., J Clin Oncol 2010;28:3167).
ANTIBODIES = MappingProxyType({
    "pembrolizumab": AntibodyModel(
        name="pembrolizumab", clearance=_q("0.22 L/day", "mm^3/s"), central_volume=_q("3.48 L", "mm^3"),
        q=_q("0.795 L/day", "mm^3/s"), peripheral_volume=_q("4.06 L", "mm^3"),
        reference_weight_kg=76.8, weight_exponents=(0.595, 0.595, 0.489, 0.489),
        occupancy_ec50=_q("0.535 mg/L", "mg/mm^3"), label_dose="200 mg every 3 weeks (or 2 mg/kg)",
        source="Ahamadi et al., CPT Pharmacometrics Syst Pharmacol 2017;6:49 (Table 3)",
        occupancy_source="Elassaiss-Schaap et al., CPT Pharmacometrics Syst Pharmacol 2017;6:21 (Table 2)"),
    "nivolumab": AntibodyModel(
        name="nivolumab", clearance=_q("9.40e-3 L/h", "mm^3/s"), central_volume=_q("3.63 L", "mm^3"),
        q=_q("3.21e-2 L/h", "mm^3/s"), peripheral_volume=_q("2.78 L", "mm^3"),
        clearance_emax=-0.295, clearance_t50=_q("1410 h", "s"), clearance_hill=3.15,
        reference_weight_kg=80.0, weight_exponents=(0.566, 0.0, 0.597, 0.0),
        occupancy_ec50=_q("0.447 mg/L", "mg/mm^3"), label_dose="240 mg every 2 weeks (or 3 mg/kg)",
        source="Bajaj et al., CPT Pharmacometrics Syst Pharmacol 2017;6:58 (final model)",
        occupancy_source="Wang et al., Cancer Immunol Res 2014;2:846 (KD 3.06 nM), approximate"),
})


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
    times = np.linspace(start, end - 1e-6 * interval, 401)
    conc = model.concentration(times, events)
    auc = model.auc(start, end, events) * MG_PER_L / DAY
    trough = float(model.concentration(np.array([end - 1e-9 * interval]), events)[0])
    return SteadyState(trough_mg_per_l=trough * MG_PER_L, peak_mg_per_l=float(conc.max()) * MG_PER_L,
                       auc_interval_mg_day_per_l=auc, average_mg_per_l=auc * DAY / interval,
                       trough_occupancy=float(model.occupancy(trough)))
