"""The report page of a comparison folder (``oncotwin compare``, recognised by its ``comparison.json``)."""

from __future__ import annotations

from typing import Any

from oncotwin.io.figures import label_of
from oncotwin.report.assumptions import assumptions_section
from oncotwin.report.clinical import fmt, treatment_summary
from oncotwin.report.figures import data_uri, file_uri, immune_curves, is_control, volume_curves
from oncotwin.report.load import ComparisonData, RunData
from oncotwin.report.markup import RESPONSE_WORDS, badge, esc, figure
from oncotwin.report.numbers import percent_change, signed_percent
from oncotwin.report.outcomes import outcomes_section
from oncotwin.report.sections import case_section, mesh_section
from oncotwin.report.shell import page, provenance_footer, title_block
from oncotwin.report.slices import figure_caption
from oncotwin.report.tables import header_cell, table, value_cell


def comparison_bottom_line(data: ComparisonData) -> str:
    """Which regimen ranks first and why, in plain words."""
    by_name = {str(r.get("name")): r for r in data.regimens}
    ranking = [n for n in data.info.get("ranking") or [] if n in by_name]
    objective = (data.info.get("objective") or {}).get("description", "")
    infeasible = [n for n, r in by_name.items() if (r.get("metrics") or {}).get("feasible") is False]
    tail = ""
    if infeasible:
        why = "; ".join(f"{n}: {', '.join((by_name[n].get('metrics') or {}).get('violations') or [])}"
                        for n in infeasible)
        tail = (f" {len(infeasible)} of {len(by_name)} regimens exceed a limit "
                f"and are not ranked ({esc(why)}).")
    if not ranking:
        return f"No regimen meets the objective ({esc(objective)}).{tail}"
    best = by_name[ranking[0]]
    m = best.get("metrics") or {}
    change = percent_change(m.get("baseline_tumour_volume_mm3"), m.get("final_tumour_volume_mm3"),
                            m.get("percent_change"))
    response = RESPONSE_WORDS.get(str(m.get("response")), m.get("response") or "")
    exposure = "; ".join(f"normal-tissue {esc(d)} AUC {esc(fmt(v))} mg·h/L"
                         for d, v in (m.get("normal_auc_mg_h_per_L") or {}).items())
    words = (f"<b>{esc(ranking[0])}</b> ({esc(best.get('description') or treatment_summary(best.get('treatment')))}) "
             f"ranks first{_by_objective(data)}: final tumour volume <b>{esc(fmt(m.get('final_tumour_volume_mm3')))} mm³"
             f"</b> ({esc(signed_percent(change))} from baseline{', ' + esc(response) if response else ''})")
    words += f", while keeping {exposure} within the limit." if exposure else "."
    if m.get("closest_constraint"):
        words += f" The binding constraint (closest to its limit) is {esc(m['closest_constraint'])}."
    if objective:
        words += f" Objective: {esc(objective)}."
    control = next((r for n, r in by_name.items() if is_control(n, r.get("treatment"))), None)
    if control is not None and control is not best:
        cm = control.get("metrics") or {}
        cchange = percent_change(cm.get("baseline_tumour_volume_mm3"), cm.get("final_tumour_volume_mm3"),
                                 cm.get("percent_change"))
        words += (f" Without treatment (control) the final volume is {esc(fmt(cm.get('final_tumour_volume_mm3')))}"
                  f" mm³ ({esc(signed_percent(cchange))}).")
    return words + tail


def _by_objective(data: ComparisonData) -> str:
    objective = data.info.get("objective") or {}
    if objective.get("maximise"):
        return f" by the largest {esc(str(objective['maximise']).replace('_', ' '))}"
    return f" by the smallest {esc(str(objective.get('minimise') or 'final_tumour_volume').replace('_', ' '))}"


def regimen_table(data: ComparisonData) -> str:
    """One row per regimen: treatment, volumes, response, exposure per drug, clone fractions, rank."""
    drugs = list(dict.fromkeys(d for r in data.regimens for key in ("normal_auc_mg_h_per_L",
                                                                     "normal_cmax_mg_per_L")
                               for d in ((r.get("metrics") or {}).get(key) or {})))
    headers = [header_cell("Rank"), header_cell("Regimen"), header_cell("Treatment"),
               header_cell("Final volume", "mm³", True), header_cell("Min volume", "mm³", True),
               header_cell("Change", "% of baseline", True), header_cell("Response"),
               header_cell("Time to progression", "day", True)]
    for drug in drugs:
        headers += [header_cell("Normal-tissue AUC", f"{drug}, mg·h/L", True),
                    header_cell("Normal-tissue Cmax", f"{drug}, mg/L", True)]
    headers += [header_cell("Resistant", "% of cells", True), header_cell("Hypoxic", "% of tumour", True)]
    rows = [_regimen_row(r, drugs) for r in sorted(data.regimens, key=_rank_key)]
    legend = ('<p class="note">Response categories from the modelled detectable volume: CR complete response, '
              "PR partial response, SD stable disease, PD progressive disease (thresholds in section 5). "
              "Rows in red exceed the normal-tissue exposure limit (infeasible) and are not ranked; "
              "the green row ranks first. Time to progression: first day the volume exceeds the "
              "progression threshold (– if never).</p>")
    return f'<div class="wide">{table(headers, rows, "regimens")}</div>' + legend


def _rank_key(regimen: dict) -> tuple[int, float]:
    rank = regimen.get("rank")
    return (0, float(rank)) if isinstance(rank, (int, float)) else (1, 0.0)


def _regimen_row(regimen: dict, drugs: list[str]) -> str:
    m = regimen.get("metrics") or {}
    feasible = m.get("feasible") is not False
    rank = regimen.get("rank")
    css = "infeasible" if not feasible else ("best" if rank == 1 else "")
    change = percent_change(m.get("baseline_tumour_volume_mm3"), m.get("final_tumour_volume_mm3"),
                            m.get("percent_change"))
    treatment = treatment_summary(regimen.get("treatment")) if regimen.get("treatment") is not None \
        else regimen.get("description", "")
    name = esc(regimen.get("name", "?"))
    if regimen.get("description"):
        name += f'<br><span class="note">{esc(regimen["description"])}</span>'
    if not feasible:
        name += '<br><span class="badge bad">exceeds exposure limit</span>'
    cells = [f"<td class=num>{esc(rank) if rank is not None else '–'}</td>", f"<td>{name}</td>",
             f'<td class="treat">{esc(treatment)}</td>', value_cell(m.get("final_tumour_volume_mm3")),
             value_cell(m.get("min_tumour_volume_mm3")), f"<td class=num>{esc(signed_percent(change))}</td>",
             f"<td>{badge(m.get('response'))}</td>", value_cell(m.get("time_to_progression_day"))]
    for drug in drugs:
        cells += [value_cell((m.get("normal_auc_mg_h_per_L") or {}).get(drug)),
                  value_cell((m.get("normal_cmax_mg_per_L") or {}).get(drug))]
    cells += [value_cell(_times(m.get("resistant_fraction_final"), 100)), value_cell(_times(m.get("hypoxic_fraction_final"), 100))]
    return f'<tr class="{css}">{"".join(cells)}</tr>'


def _times(value: Any, factor: float) -> Any:
    return value * factor if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def exposure_maps(data: ComparisonData) -> str:
    """Drug AUC, tumour-cell, T-cell and oxygen slice figures of every regimen, grouped by field."""
    drugs = list(dict.fromkeys(d for run in data.runs.values() for d in run.drugs()))
    fields = [f"{d}_auc_mg_h_per_L" for d in drugs] + ["tumour_cells", "effector_density", "oxygen_mmHg"]
    parts = []
    for field in fields:
        items = [(name, run.path / "figures" / f"{field}_slices.png") for name, run in data.runs.items()]
        items = [(name, p) for name, p in items if p.is_file()]
        if not items:
            continue
        parts.append(f"<h3>{esc(label_of(field))}</h3>")
        parts += [figure(file_uri(p), figure_caption(p, name), f"{name} {field}") for name, p in items]
    return "".join(parts) or '<p class="note">No exposure maps were found in the regimens\' figures/.</p>'


def comparison_page(data: ComparisonData) -> str:
    """The report of a comparison folder."""
    runs = list(data.runs.values())
    first = runs[0] if runs else RunData(path=data.path, name=data.name)
    manifest = data.manifest or first.manifest
    body = [title_block(f"comparison of {len(data.regimens)} regimens", data.name, manifest,
                        comparison_bottom_line(data)),
            case_section(first, treatment_words=False), mesh_section(first),
            "<section><h2>3. Regimens compared</h2>", regimen_table(data)]
    controls = {n for n, r in ((str(r.get("name")), r) for r in data.regimens)
                if is_control(n, r.get("treatment"))}
    curves = volume_curves(runs, controls, data.info.get("response_thresholds"))
    body.append(figure(data_uri(curves) if curves else None,
                       "<b>Modelled tumour volume under each regimen</b> (control dashed). Dotted lines: volume "
                       "thresholds of partial response and progression relative to the baseline volume.",
                       "tumour volume of all regimens"))
    immune = immune_curves(runs, controls)
    if immune is not None:
        body.append(figure(data_uri(immune), "<b>Immune response under each regimen</b> (control dashed): PD-1 "
                           "occupancy from the plasma PK, effector T cells per tumour cell inside the tumour, "
                           "and the tumour volume.", "PD-1 occupancy, immune/tumour ratio and volume"))
    body.append(outcomes_section(data.regimens))
    body.append("</section><section><h2>4. Exposure and response maps</h2>")
    body.append('<p class="note">Each figure shows the end of the simulated period. Colour scales differ '
                "between figures; compare values through the colour bars.</p>")
    body.append(exposure_maps(data))
    body.append("</section>")
    body.append(assumptions_section(first, data.info, number=5))
    body.append(provenance_footer(manifest, data.runs))
    return page(f"oncotwin comparison: {data.name}", "".join(body))
