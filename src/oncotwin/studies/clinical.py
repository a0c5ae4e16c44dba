"""Clinical outcomes of one regimen: neutropenia, cumulative doses, survival, radiotherapy and resistance.

Inputs are the regimen's validated case (treatment, patient) and its run's metrics rows; every number names
its model's source. Stated approximations (also in the report):

* radiotherapy dose: the prescription is uniform over the dosed regions (the target regions, else every
  region, as the tumour model applies it) and 0 elsewhere, one value per region (a dose map per point replaces it later); NTCP uses
  EQD2 with alpha/beta = 3 Gy (late effects), the fractionation of the Burman 1991 fits;
* TCP: every simulated tumour cell is a clonogen unless ``outcomes.clonogen_fraction`` says otherwise;
* resistance: the lesion's cells at the start of treatment with the Bozic 2013 rates; the sensitive cells'
  net decline rate during therapy is the simulated tumour's mean rate over the horizon.
"""

from __future__ import annotations

import math

import numpy as np

from oncotwin.case.objectives import OutcomeOptions
from oncotwin.case.regimens import dosed_regions
from oncotwin.outcomes.dvh import bed, eqd2
from oncotwin.outcomes.neutropenia import FRIBERG, simulate_anc
from oncotwin.outcomes.ntcp import ntcp_lkb, organ_parameters
from oncotwin.outcomes.resistance import ResistanceParameters, p_emergence, p_resistant_at_detection
from oncotwin.outcomes.survival import SurvivalNote, forecast_survival, survival_model
from oncotwin.outcomes.tcp import tcp_from_survivors
from oncotwin.pk.limits import cumulative_limit
from oncotwin.pk.plasma import plasma_curves

NORMAL_ALPHA_BETA_GY = 3.0
"""alpha/beta of late-responding normal tissue (Fowler JF, Br J Radiol 1989;62:679), for EQD2 in NTCP."""


def clinical_outcomes(case, rows: list[dict[str, float]], options: OutcomeOptions) -> dict:
    """All clinical outcomes of one regimen (JSON-ready)."""
    horizon_day = rows[-1]["time_day"]
    return {
        "neutropenia": neutropenia(case, horizon_day, options),
        "cumulative_dose_mg_per_m2": cumulative_doses(case),
        "survival": survival(rows, options),
        "radiotherapy": radiotherapy(case, rows, options),
        "resistance": resistance(rows, case),
    }


def neutropenia(case, horizon_day: float, options: OutcomeOptions) -> dict:
    """Friberg ANC forecast of each drug with published parameters."""
    treatment = case.treatment
    drugs = [d for d in treatment.drug_names() if d.lower() in FRIBERG]
    if not drugs:
        return {}
    curves = plasma_curves({d: p for d, p in treatment.library_parameters().items() if d in drugs},
                           treatment.events(), crcl_ml_per_min=treatment.patient.crcl_ml_per_min,
                           hepatic_factor=treatment.patient.hepatic_factor, bsa_m2=treatment.patient.bsa_m2,
                           weight_kg=treatment.patient.weight_kg)
    out = {}
    for name, curve in curves.items():
        f = simulate_anc(FRIBERG[name.lower()], lambda th, c=curve: c.concentration_mg_per_l(th * 3600.0),
                         max(horizon_day, 1.0) * 24.0, n_patients=options.neutropenia.patients,
                         seed=options.neutropenia.seed)
        out[name] = {**f.summary(), "curve": {"day": f.days.tolist(), "typical": f.typical.tolist(),
                                              "p05": f.p05.tolist(), "p50": f.p50.tolist(), "p95": f.p95.tolist()}}
    return out


def cumulative_doses(case) -> dict:
    """Per drug: mg/m^2 over the course, the library limit and its source (``None`` without height/weight)."""
    bsa = case.treatment.patient.bsa_m2
    out = {}
    for name in case.treatment.drug_names():
        total = sum(e.amount for e in case.treatment.events(name))
        limit = cumulative_limit(name)
        out[name] = {"mg_per_m2": total / bsa if bsa else None, "limit_mg_per_m2": limit.mg_per_m2 if limit else None,
                     "limit_source": limit.source if limit else None}
    return out


def survival(rows: list[dict[str, float]], options: OutcomeOptions) -> dict:
    """Survival summary and curve, a note for an indication without a model, or nothing without an indication."""
    if options.indication is None:
        return {"note": "no indication given (outcomes.indication); no survival number is given"}
    model = survival_model(options.indication)
    if isinstance(model, SurvivalNote):
        return {"note": model.note}
    days = np.array([r["time_day"] for r in rows])
    volumes = np.array([r.get("tumour_volume_mm3", math.nan) for r in rows])
    if not volumes[0] > 0:
        return {"note": "the baseline tumour volume is 0; no survival number is given"}
    f = forecast_survival(model, [(days, volumes)], ecog=options.ecog)
    step = 7
    return {**f.summary(), "indication": options.indication,
            "curve": {"day": f.days[::step].tolist(), "survival": f.survival[::step].tolist(),
                      "lower": f.lower[::step].tolist(), "upper": f.upper[::step].tolist()}}


def radiotherapy(case, rows: list[dict[str, float]], options: OutcomeOptions) -> dict:
    """Dose, EQD2/BED per dosed region, NTCP of the requested regions and the Poisson TCP."""
    rt = case.treatment.radiotherapy
    if rt is None:
        return {}
    n = len(rt.fraction_times())
    total = rt.dose_per_fraction * n
    alpha_beta = rt.alpha_beta
    dosed = dosed_regions(case)
    regions = {r: {"dose_Gy": total, "EQD2_Gy": float(eqd2(total, n, alpha_beta)),
                   "BED_Gy": float(bed(total, n, alpha_beta)), "alpha_beta_Gy": alpha_beta, "fractions": n}
               for r in dosed}
    ntcp = {}
    for pair in options.ntcp:
        params = organ_parameters(pair["organ"])
        dose = float(eqd2(total, n, NORMAL_ALPHA_BETA_GY)) if pair["region"] in dosed else 0.0
        ntcp[f"{pair['region']}:{params.organ}"] = {
            "region": pair["region"], "organ": params.organ, "endpoint": params.endpoint, "EQD2_Gy": dose,
            "ntcp": ntcp_lkb(np.array([dose]), np.array([1.0]), params), "td50_Gy": params.td50, "m": params.m,
            "n": params.n, "source": params.source}
    cells = rows[-1].get("tumour_cells", math.nan)
    survivors = cells * options.clonogen_fraction
    return {"regions": regions, "ntcp": ntcp,
            "tcp": float(tcp_from_survivors(survivors)) if math.isfinite(survivors) else None,
            "surviving_clonogens": survivors, "tcp_source": "Poisson TCP (Munro & Gilbert 1961; Webb & Nahum 1993)"}


def resistance(rows: list[dict[str, float]], case) -> dict:
    """P(resistant cells at the start) and P(resistance emerges by the horizon) with the Bozic 2013 rates."""
    start, end = rows[0].get("tumour_cells", math.nan), rows[-1].get("tumour_cells", math.nan)
    horizon = rows[-1]["time_day"] - rows[0]["time_day"]
    if not (start > 1 and end > 0 and horizon > 0):
        return {}
    base = ResistanceParameters()
    treated = bool(case.treatment.drugs) or case.treatment.radiotherapy is not None
    decline = -math.log(end / start) / horizon if treated else 0.0
    if treated and decline > 0:
        params = ResistanceParameters(death_treated=base.birth + decline)
        emerged = float(p_emergence(start, horizon, params))
    else:  # no net decline: every division keeps seeding lineages, as before treatment
        lineages = start * base.resistance_rate * (1 + base.birth * base.survival * horizon)
        emerged = -math.expm1(-lineages)
    return {"cells_at_start": start, "p_resistant_at_start": p_resistant_at_detection(start, base),
            "p_emergence_by_horizon": emerged, "horizon_day": horizon, "sensitive_decline_per_day": decline,
            "source": base.source}
