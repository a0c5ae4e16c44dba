"""Report widgets of the clinical outcomes of a comparison: table, ANC, survival and DVH curves, sources, note.

Every number comes from ``comparison.json`` (``regimens[i].clinical``, written by
:mod:`oncotwin.studies.clinical`) and its model's source is named beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oncotwin.outcomes.dvh import dvh
from oncotwin.report.clinical import fmt
from oncotwin.report.figures import PALETTE, _figure_png, _pyplot, data_uri
from oncotwin.report.markup import esc, figure
from oncotwin.report.tables import header_cell, table, value_cell

NOT_A_DEVICE = ("<p class=\"note\"><b>Model, not a medical device.</b> These outcomes are predictions of "
                "published population models applied to a simulated tumour; they are not validated for this "
                "patient and must not guide treatment on their own.</p>")


def _percent(value: Any) -> Any:
    return 100.0 * value if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def outcome_table(regimens: list[dict]) -> str:
    """One row per regimen: neutropenia, cumulative dose, survival, TCP/NTCP, resistance, closest constraint."""
    headers = [header_cell("Regimen"), header_cell("ANC nadir", "1e9/L (day)", True),
               header_cell("P(grade ≥3 neutropenia)", "%", True), header_cell("P(grade 4)", "%", True),
               header_cell("Cumulative dose", "mg/m²"), header_cell("Median OS", "months", True),
               header_cell("Alive at 1 / 2 years", "%", True), header_cell("TCP", "%", True),
               header_cell("NTCP", "%"), header_cell("P(resistance emerges)", "% by horizon", True),
               header_cell("Constraint closest to its limit")]
    rows = []
    for r in regimens:
        c = r.get("clinical") or {}
        neut = c.get("neutropenia") or {}
        nadir = "; ".join(f"{d} {fmt(v.get('nadir_anc_1e9_per_L'))} (day {fmt(v.get('nadir_day'))})"
                          for d, v in neut.items()) or "–"
        p3 = max((v.get("p_grade3_neutropenia", 0.0) for v in neut.values()), default=None)
        p4 = max((v.get("p_grade4_neutropenia", 0.0) for v in neut.values()), default=None)
        doses = "; ".join(f"{d} {fmt(v.get('mg_per_m2'))}" + (f" (limit {fmt(v['limit_mg_per_m2'])})"
                                                               if v.get("limit_mg_per_m2") else "")
                          for d, v in (c.get("cumulative_dose_mg_per_m2") or {}).items()) or "–"
        surv = c.get("survival") or {}
        alive = (f"{fmt(_percent(surv.get('p_alive_1y')))} / {fmt(_percent(surv.get('p_alive_2y')))}"
                 if "p_alive_1y" in surv else "–")
        rt = c.get("radiotherapy") or {}
        ntcp = "; ".join(f"{v['region']} ({v['organ']}) {fmt(_percent(v['ntcp']))}"
                         for v in (rt.get("ntcp") or {}).values()) or "–"
        res = c.get("resistance") or {}
        closest = (r.get("metrics") or {}).get("closest_constraint") or "–"
        rows.append("<tr>" + "".join([
            f"<td>{esc(r.get('name', '?'))}</td>", f"<td class=num>{esc(nadir)}</td>",
            value_cell(_percent(p3) if neut else None), value_cell(_percent(p4) if neut else None),
            f"<td>{esc(doses)}</td>", value_cell(surv.get("median_os_months")), f"<td class=num>{esc(alive)}</td>",
            value_cell(_percent(rt.get("tcp")) if rt else None), f"<td>{esc(ntcp)}</td>",
            value_cell(_percent(res.get("p_emergence_by_horizon"))), f"<td>{esc(closest)}</td>"]) + "</tr>")
    notes = sorted({(r.get("clinical") or {}).get("survival", {}).get("note") for r in regimens} - {None})
    text = "".join(f'<p class="note">Survival: {esc(n)}.</p>' for n in notes)
    return f'<div class="wide">{table(headers, rows, "outcomes")}</div>' + text


def outcome_sources(regimens: list[dict]) -> str:
    """The sources of the models whose numbers appear on the page."""
    found: dict[str, str] = {}
    for r in regimens:
        c = r.get("clinical") or {}
        for drug, v in (c.get("neutropenia") or {}).items():
            found[f"Neutropenia ({drug})"] = v.get("source", "")
        if (c.get("survival") or {}).get("source"):
            found["Survival"] = c["survival"]["source"]
        rt = c.get("radiotherapy") or {}
        if rt:
            found["TCP"] = rt.get("tcp_source", "")
            for v in (rt.get("ntcp") or {}).values():
                found[f"NTCP {v['organ']}"] = f"{v['source']}: TD50 {v['td50_Gy']:g} Gy, m {v['m']:g}, n {v['n']:g}"
        if (c.get("resistance") or {}).get("source"):
            found["Resistance"] = (c["resistance"]["source"] + "; Iwasa, Nowak & Michor, Genetics 2006;172:2557")
        for drug, v in (c.get("cumulative_dose_mg_per_m2") or {}).items():
            if v.get("limit_source"):
                found[f"Cumulative limit ({drug})"] = v["limit_source"]
    items = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in found.items())
    return f'<ul class="note">{items}</ul>' if items else ""


def anc_figure(regimens: list[dict]) -> bytes | None:
    """ANC of the typical patient (line) and the 5-95 % population band of every regimen and drug."""
    series = [(r.get("name", "?"), d, v["curve"]) for r in regimens
              for d, v in ((r.get("clinical") or {}).get("neutropenia") or {}).items() if v.get("curve")]
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for i, (name, drug, curve) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(curve["day"], curve["p05"], curve["p95"], color=colour, alpha=0.15, lw=0)
        ax.plot(curve["day"], curve["typical"], color=colour, label=f"{name} ({drug})")
    for level, words, where in ((1.0, "grade 3", "bottom"), (0.5, "grade 4", "top")):
        ax.axhline(level, color="0.4", ls=":", lw=1)
        ax.text(0.0, level, f" {words}", va=where, fontsize=8, color="0.3")
    ax.set_xlabel("day of treatment")
    ax.set_ylabel("ANC [10⁹/L]")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _figure_png(fig)


def survival_figure(regimens: list[dict]) -> bytes | None:
    """S(t) of every regimen with a survival model."""
    series = [(r.get("name", "?"), (r.get("clinical") or {}).get("survival", {}).get("curve")) for r in regimens]
    series = [(n, c) for n, c in series if c]
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, (name, curve) in enumerate(series):
        months = [d / 30.4375 for d in curve["day"]]
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(months, curve["lower"], curve["upper"], color=colour, alpha=0.15, lw=0)
        ax.plot(months, curve["survival"], color=colour, label=name)
    ax.axhline(0.5, color="0.4", ls=":", lw=1)
    ax.set_xlabel("months from the start of treatment")
    ax.set_ylabel("overall survival S(t)")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _figure_png(fig)


def dvh_figure(regimens: list[dict]) -> bytes | None:
    """Cumulative DVH of every irradiated region of every regimen (one dose per region until dose maps arrive)."""
    series = [(r.get("name", "?"), region, v) for r in regimens
              for region, v in (((r.get("clinical") or {}).get("radiotherapy") or {}).get("regions") or {}).items()]
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, (name, region, v) in enumerate(series):
        h = dvh(np.array([v["dose_Gy"]]), np.array([1.0]), bin_width=0.05)
        doses = np.append(h.dose_bins, h.max)  # the curve drops to 0 just above the maximum dose
        ax.step(doses, 100.0 * np.append(h.volume_fraction, 0.0), where="post", color=PALETTE[i % len(PALETTE)],
                label=f"{name}: {region} (EQD2 {v['EQD2_Gy']:.1f} Gy)", lw=1.4, ls=("-", "--", ":")[i % 3])
    ax.set_xlabel("physical dose [Gy]")
    ax.set_ylabel("volume receiving ≥ dose [%]")
    ax.set_ylim(0, 103)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return _figure_png(fig)


def outcomes_section(regimens: list[dict]) -> str:
    """The clinical-outcomes block of the comparison page."""
    if not any(r.get("clinical") for r in regimens):
        return ""
    parts = ["<h3>Clinical outcomes (model predictions)</h3>", NOT_A_DEVICE, outcome_table(regimens)]
    anc = anc_figure(regimens)
    if anc:
        parts.append(figure(data_uri(anc), "<b>Absolute neutrophil count</b> of the typical patient (line) and the "
                            "5-95 % band of the simulated population (Friberg model); dotted: CTCAE grade 3 "
                            "(1.0) and grade 4 (0.5 × 10⁹/L).", "neutrophil counts"))
    surv = survival_figure(regimens)
    if surv:
        parts.append(figure(data_uri(surv), "<b>Overall survival</b> predicted from the simulated tumour size "
                            "(TGI-OS model); dotted: median.", "survival curves"))
    dvhs = dvh_figure(regimens)
    if dvhs:
        parts.append(figure(data_uri(dvhs), "<b>Dose-volume histograms</b> of the irradiated regions; the "
                            "prescription is uniform over each dosed region today (a dose map per point replaces it "
                            "with the DICOM RT dose).", "dose-volume histograms"))
    parts.append(outcome_sources(regimens))
    return "".join(parts)
