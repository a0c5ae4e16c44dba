"""The report page of a run folder (``oncotwin run``)."""

from __future__ import annotations

from oncotwin.report.assumptions import assumptions_section
from oncotwin.report.clinical import fmt, treatment_summary
from oncotwin.report.figures import composition_curves, data_uri, file_uri
from oncotwin.report.load import RunData
from oncotwin.report.markup import esc, figure
from oncotwin.report.numbers import percent_change, signed_percent
from oncotwin.report.sections import case_section, mesh_section
from oncotwin.report.shell import page, provenance_footer, title_block
from oncotwin.report.slices import figure_caption, sort_figures
from oncotwin.report.tables import header_cell, table

# key metrics of a single run: column, label, unit, factor
KEY_METRICS = (
    ("tumour_volume_mm3", "Detectable tumour volume", "mm³", 1.0),
    ("viable_volume_mm3", "Viable tumour volume", "mm³", 1.0),
    ("necrotic_volume_mm3", "Necrotic volume", "mm³", 1.0),
    ("tumour_cells", "Viable tumour cells", "cells", 1.0),
    ("resistant_fraction", "Resistant fraction of viable cells", "%", 100.0),
    ("hypoxic_fraction", "Hypoxic fraction of tumour", "%", 100.0),
    ("po2_mean_tumour_mmHg", "Mean tumour pO2", "mmHg", 1.0),
    ("ifp_max_tumour_mmHg", "Maximal tumour interstitial fluid pressure", "mmHg", 1.0),
    ("displacement_max_mm", "Maximal tissue displacement (mass effect)", "mm", 1.0),
    ("host_displacement_max_mm", "Maximal displacement of host tissue", "mm", 1.0),
    ("rt_dose_given_Gy", "Radiotherapy dose delivered", "Gy", 1.0),
)


DRUG_METRICS = (
    ("tumour_auc_mean_mg_h_per_L", "AUC, tumour mean", "mg·h/L"),
    ("normal_auc_mean_mg_h_per_L", "AUC, normal-tissue mean", "mg·h/L"),
    ("tumour_cmax_max_mg_per_L", "Cmax, tumour maximum", "mg/L"),
    ("normal_cmax_max_mg_per_L", "Cmax, normal-tissue maximum", "mg/L"),
    ("plasma_auc_mg_h_per_L", "AUC, plasma", "mg·h/L"),
)


def key_results_table(run: RunData) -> str:
    """Start and end values of the key metrics that the run recorded."""
    rows = []
    for column, label, unit, factor in KEY_METRICS:
        values = run.column(column)
        if values is not None:
            rows.append(_start_end_row(label, unit, values[0] * factor, values[-1] * factor))
    for drug in run.drugs():
        for suffix, label, unit in DRUG_METRICS:
            values = run.column(f"{drug}_{suffix}")
            if values is not None:
                rows.append(_start_end_row(f"{drug}: {label}", unit, values[0], values[-1]))
    if not rows:
        return '<p class="note">The run recorded no metrics.</p>'
    days = run.days
    start, end = (f"day {days[0]:g}", f"day {days[-1]:g}") if days else ("start", "end")
    return table([header_cell("Quantity"), header_cell("Unit"), header_cell(start, None, True),
                  header_cell(end, None, True)], rows)


def _start_end_row(label: str, unit: str, start: float, end: float) -> str:
    return (f"<tr><td>{esc(label)}</td><td>{esc(unit)}</td><td class=num>{esc(fmt(start))}</td>"
            f"<td class=num>{esc(fmt(end))}</td></tr>")


def run_bottom_line(run: RunData) -> str:
    """Final tumour-volume change of a single run, in words."""
    volume = run.column("tumour_volume_mm3")
    treatment = treatment_summary(run.case.get("treatment"))
    days = run.days
    if volume is None or not days:
        return f"No tumour volume was modelled in this run (treatment: {esc(treatment)})."
    change = percent_change(volume[0], volume[-1])
    direction = "shrank" if volume[-1] < volume[0] else "grew"
    rt = run.column("rt_dose_given_Gy")
    delivered = f"; {fmt(rt[-1])} Gy of radiotherapy delivered" if rt is not None and rt[-1] > 0 else ""
    return (f"Over the {days[-1] - days[0]:g} simulated days (planned treatment: {esc(treatment)}"
            f"{esc(delivered)}), the modelled tumour {direction} from {esc(fmt(volume[0]))} mm³ to "
            f"<b>{esc(fmt(volume[-1]))} mm³</b> (<b>{esc(signed_percent(change))}</b>).")


def run_page(run: RunData) -> str:
    """The report of one run folder."""
    body = [title_block("single run", run.name, run.manifest, run_bottom_line(run)),
            case_section(run, treatment_words=True), mesh_section(run),
            "<section><h2>3. Tumour response</h2>", key_results_table(run)]
    curves = composition_curves(run)
    body.append(figure(data_uri(curves) if curves else None,
                       "<b>Tumour burden over time.</b> Left: detectable, viable and necrotic volume; right: "
                       "fraction of resistant cells and hypoxic fraction of the tumour.", "tumour volume curves"))
    body.append("</section><section><h2>4. Maps at the end of the simulation</h2>")
    slices = sort_figures([p for p in (run.path / "figures").glob("*_slices.png")])
    body += [figure(file_uri(p), figure_caption(p), p.stem) for p in slices]
    if not slices:
        body.append('<p class="note">No slice figures were found in figures/.</p>')
    body.append("</section>")
    body.append(assumptions_section(run, None, number=5))
    body.append(provenance_footer(run.manifest, {run.name: run}))
    return page(f"oncotwin report: {run.name}", "".join(body))
