"""``oncotwin report RUNDIR``: one self-contained HTML file (inline CSS, images as data URIs, no JS).

Works for a run folder (``oncotwin run``), a comparison folder (``oncotwin compare``, recognised
by its ``comparison.json``), a calibration folder (``oncotwin calibrate``, its ``calibration.json``) and a
forecast folder (``oncotwin forecast``, its ``forecast.json``); the last two pages live in
:mod:`oncotwin.report.calibration`. Runs on one process; nothing here needs MPI.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from pathlib import Path
from typing import Any

from oncotwin.report import clinical, figures, text
from oncotwin.report.clinical import fmt
from oncotwin.report.load import (
    ComparisonData,
    RunData,
    is_comparison,
    read_comparison,
    read_run,
)
from oncotwin.report.style import CSS

RESPONSE_WORDS = {"CR": "complete response", "PR": "partial response", "SD": "stable disease",
                  "PD": "progressive disease"}

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
FIGURE_ORDER = ("tumour_cells", "necrotic_cells", "resistant_cells", "oxygen_mmHg", "_auc_mg_h_per_L",
                "_cmax_mg_per_L", "_mg_per_L", "pressure_mmHg", "velocity_um_per_s", "fluid_source_per_s",
                "displacement_mm", "von_mises_mmHg")


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of a run, comparison, calibration or forecast folder.

    Args:
        run_dir: a run folder (``metrics.csv``, ``summary.json``, ``manifest.json``, ``figures/``,
            ``fields.pvd``), a comparison folder (``comparison.json`` and ``regimens/<name>/``), a
            calibration folder (``calibration.json``) or a forecast folder (``forecast.json``).
        out: the HTML file to write; default ``run_dir/report.html``.

    Returns:
        The path of the written HTML file.

    Raises:
        FileNotFoundError: ``run_dir`` is not a folder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"not a folder: {run_dir}")
    out = Path(out) if out is not None else run_dir / "report.html"
    from oncotwin.report.calibration import (  # imports this module: not at the top
        calibration_page,
        forecast_page,
        is_calibration,
        is_forecast,
    )

    if is_comparison(run_dir):
        page = comparison_page(read_comparison(run_dir))
    elif is_calibration(run_dir):
        page = calibration_page(run_dir)
    elif is_forecast(run_dir):
        page = forecast_page(run_dir)
    else:
        page = run_page(read_run(run_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------- helpers
def esc(value: Any) -> str:
    """HTML-escaped text, with ``^2``-style exponents as superscripts and no reST literal quotes."""
    return html.escape(clinical.pretty_units(str(value)).replace("``", ""), quote=True)


def header_cell(label: str, unit: str | None = None, numeric: bool = False) -> str:
    """A ``<th>`` with the unit on its own line."""
    unit_html = f'<span class="unit">{esc(unit)}</span>' if unit else ""
    return f'<th{" class=num" if numeric else ""}>{esc(label)}{unit_html}</th>'


def table(headers: list[str], rows: list[str], css: str = "") -> str:
    """A table from ready-made header cells and row HTML."""
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{''.join(headers)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def kv_table(rows: list[tuple[str, str]]) -> str:
    """A two-column key/value table (values are escaped)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def figure(uri: str | None, caption: str, alt: str) -> str:
    """A captioned figure (empty string without an image). ``caption`` is HTML."""
    if not uri:
        return ""
    return f'<figure><img src="{uri}" alt="{esc(alt)}"><figcaption>{caption}</figcaption></figure>'


def badge(code: str | None) -> str:
    """A coloured response-category badge."""
    if not code:
        return "–"
    return f'<span class="badge {esc(code)}" title="{esc(RESPONSE_WORDS.get(code, code))}">{esc(code)}</span>'


def percent_change(baseline: Any, final: Any, given: Any = None) -> float | None:
    """Volume change in percent, from baseline and final volumes (else the given value)."""
    if isinstance(baseline, (int, float)) and isinstance(final, (int, float)) and baseline > 0:
        return 100.0 * (final / baseline - 1.0)
    return float(given) if isinstance(given, (int, float)) else None


def signed_percent(value: float | None) -> str:
    """``+12 %`` / ``−65 %`` (typographic minus) or a dash."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.0f} %".replace("-", "−")


def page(title: str, body: str) -> str:
    """The complete HTML document."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


def title_block(kind: str, name: str, manifest: dict, bottom_line: str) -> str:
    """Title, dates and the bottom line (``bottom_line`` is HTML)."""
    today = _dt.date.today().isoformat()
    ran = str(manifest.get("end") or manifest.get("start") or "")[:10]
    dates = f"Report generated {today}" + (f" · simulation run {ran}" if ran else "")
    return (f'<header class="title"><div class="kicker">oncotwin · tumour digital twin · {esc(kind)}</div>'
            f"<h1>{esc(name)}</h1><div class=\"meta\">{esc(dates)} · research use only, not a medical device"
            f'</div><p class="bottom-line"><b>Bottom line.</b> {bottom_line}</p></header>')


# ------------------------------------------------------------------------------------ case section
def case_section(run: RunData, treatment_words: bool) -> str:
    """Section 1: description, patient covariates, geometry, input files, mesh and time."""
    case = run.case
    parts = ["<section><h2>1. The case</h2>"]
    if case.get("description"):
        parts.append(f"<p>{esc(case['description'].strip())}</p>")
    patient = clinical.patient_rows((case.get("treatment") or {}).get("patient"))
    if patient:
        parts.append("<h3>Patient covariates</h3>" + kv_table(patient))
    rows = [("Geometry", clinical.geometry_words(case.get("geometry")))]
    if treatment_words:
        rows.append(("Treatment", clinical.treatment_summary(case.get("treatment"))))
    time = case.get("time") or {}
    if time.get("end"):
        rows.append(("Simulated period", f"{time['end'] / 86400:g} days"
                     + (f", output every {time['output_every'] / 86400:g} day(s)" if time.get("output_every") else "")))
    rows += mesh_rows(run.manifest)
    if run.manifest.get("case_file"):
        rows.append(("Case file", str(run.manifest["case_file"])))
    if run.manifest.get("case_sha256"):
        rows.append(("Case file SHA-256", str(run.manifest["case_sha256"])))
    parts.append("<h3>Model set-up</h3>" + kv_table(rows))
    parts.append(input_files_html(run.manifest, case.get("geometry") or {}))
    parts.append("</section>")
    return "".join(parts)


def mesh_rows(manifest: dict) -> list[tuple[str, str]]:
    """Mesh size and origin."""
    mesh = manifest.get("mesh") or {}
    rows = []
    if mesh.get("cells"):
        rows.append(("Mesh", f"{mesh['cells']:,} tetrahedra"
                     + (f", {mesh['vertices']:,} vertices" if mesh.get("vertices") else "")
                     + (" (reused from cache)" if mesh.get("reused") else "")))
    return rows


def input_files(manifest: dict, geometry: dict) -> list[tuple[str, str, str]]:
    """``(role, path, sha256)`` of every input file the manifest hashed."""
    rows = []
    for role, entry in (manifest.get("input_files") or {}).items():
        if not isinstance(entry, dict):
            continue
        if "sha256" in entry:
            rows.append((role, str(geometry.get(role, "")), str(entry["sha256"])))
            continue
        paths = geometry.get(role) if isinstance(geometry.get(role), dict) else {}
        for sub, item in entry.items():
            if isinstance(item, dict) and "sha256" in item:
                rows.append((f"{role}: {sub}", str(paths.get(sub, "")), str(item["sha256"])))
    return rows


def input_files_html(manifest: dict, geometry: dict) -> str:
    """The input-file table, or a note that the geometry needs no patient files."""
    rows = input_files(manifest, geometry)
    if not rows:
        return ('<p class="note">No patient image files: the geometry is generated '
                "(idealised or atlas anatomy with a synthetic tumour).</p>" if manifest else "")
    body = [f"<tr><td>{esc(r)}</td><td><code>{esc(p)}</code></td><td><code>{esc(h)}</code></td></tr>"
            for r, p, h in rows]
    return "<h3>Input files</h3>" + table([header_cell("Role"), header_cell("File"), header_cell("SHA-256")], body)


def mesh_section(run: RunData) -> str:
    """Section 2: the segmentation and mesh view."""
    png = figures.mesh_view(run)
    if png is None:
        return ('<section><h2>2. Segmentation and mesh</h2><p class="note">No field file with region tags '
                "(fields.pvd) was found; the mesh view is omitted.</p></section>")
    caption = ("<b>Segmentation and mesh.</b> Left: outer surfaces of the regions, host tissue "
               "semi-transparent. Right: axial section through the tumour centroid coloured by region, with "
               "the edges of the cut tetrahedra (mesh resolution).")
    return f"<section><h2>2. Segmentation and mesh</h2>{figure(figures.data_uri(png), caption, 'mesh view')}</section>"


# ------------------------------------------------------------------------------- results: single run
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
    treatment = clinical.treatment_summary(run.case.get("treatment"))
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


def sort_figures(paths: list[Path]) -> list[Path]:
    """Slice figures in reading order (tumour, oxygen, drugs, fluid, mechanics, the rest)."""
    def rank(path: Path) -> tuple[int, str]:
        stem = path.stem.removesuffix("_slices")
        for i, key in enumerate(FIGURE_ORDER):
            if stem == key or (key.startswith("_") and stem.endswith(key)):
                return i, stem
        return len(FIGURE_ORDER), stem
    return sorted(paths, key=rank)


def figure_caption(path: Path, who: str = "") -> str:
    """Caption of a slice figure, from the field name in its file name."""
    from oncotwin.io.figures import label_of

    stem = path.stem.removesuffix("_slices")
    prefix = f"{esc(who)}: " if who else ""
    return (f"<b>{prefix}{esc(label_of(stem))}</b> at the last output time: sagittal, coronal and axial "
            "slices through the tumour centroid; white line: tumour boundary.")


def run_page(run: RunData) -> str:
    """The report of one run folder."""
    body = [title_block("single run", run.name, run.manifest, run_bottom_line(run)),
            case_section(run, treatment_words=True), mesh_section(run),
            "<section><h2>3. Tumour response</h2>", key_results_table(run)]
    curves = figures.composition_curves(run)
    body.append(figure(figures.data_uri(curves) if curves else None,
                       "<b>Tumour burden over time.</b> Left: detectable, viable and necrotic volume; right: "
                       "fraction of resistant cells and hypoxic fraction of the tumour.", "tumour volume curves"))
    body.append("</section><section><h2>4. Maps at the end of the simulation</h2>")
    slices = sort_figures([p for p in (run.path / "figures").glob("*_slices.png")])
    body += [figure(figures.file_uri(p), figure_caption(p), p.stem) for p in slices]
    if not slices:
        body.append('<p class="note">No slice figures were found in figures/.</p>')
    body.append("</section>")
    body.append(assumptions_section(run, None, number=5))
    body.append(provenance_footer(run.manifest, {run.name: run}))
    return page(f"oncotwin report: {run.name}", "".join(body))


# ------------------------------------------------------------------------------- results: comparison
def comparison_bottom_line(data: ComparisonData) -> str:
    """Which regimen ranks first and why, in plain words."""
    by_name = {str(r.get("name")): r for r in data.regimens}
    ranking = [n for n in data.info.get("ranking") or [] if n in by_name]
    objective = (data.info.get("objective") or {}).get("description", "")
    infeasible = [n for n, r in by_name.items() if (r.get("metrics") or {}).get("feasible") is False]
    tail = ""
    if infeasible:
        tail = (f" {len(infeasible)} of {len(by_name)} regimens exceed the normal-tissue exposure limit "
                f"and are not ranked: {esc(', '.join(infeasible))}.")
    if not ranking:
        return f"No regimen meets the objective ({esc(objective)}).{tail}"
    best = by_name[ranking[0]]
    m = best.get("metrics") or {}
    change = percent_change(m.get("baseline_tumour_volume_mm3"), m.get("final_tumour_volume_mm3"),
                            m.get("percent_change"))
    response = RESPONSE_WORDS.get(str(m.get("response")), m.get("response") or "")
    exposure = "; ".join(f"normal-tissue {esc(d)} AUC {esc(fmt(v))} mg·h/L"
                         for d, v in (m.get("normal_auc_mg_h_per_L") or {}).items())
    words = (f"<b>{esc(ranking[0])}</b> ({esc(best.get('description') or clinical.treatment_summary(best.get('treatment')))}) "
             f"ranks first: it leaves the smallest final tumour volume, <b>{esc(fmt(m.get('final_tumour_volume_mm3')))} mm³"
             f"</b> ({esc(signed_percent(change))} from baseline{', ' + esc(response) if response else ''})")
    words += f", while keeping {exposure} within the limit." if exposure else "."
    if objective:
        words += f" Objective: {esc(objective)}."
    control = next((r for n, r in by_name.items() if figures.is_control(n, r.get("treatment"))), None)
    if control is not None and control is not best:
        cm = control.get("metrics") or {}
        cchange = percent_change(cm.get("baseline_tumour_volume_mm3"), cm.get("final_tumour_volume_mm3"),
                                 cm.get("percent_change"))
        words += (f" Without treatment (control) the final volume is {esc(fmt(cm.get('final_tumour_volume_mm3')))}"
                  f" mm³ ({esc(signed_percent(cchange))}).")
    return words + tail


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
    treatment = clinical.treatment_summary(regimen.get("treatment")) if regimen.get("treatment") is not None \
        else regimen.get("description", "")
    name = esc(regimen.get("name", "?"))
    if regimen.get("description"):
        name += f'<br><span class="note">{esc(regimen["description"])}</span>'
    if not feasible:
        name += '<br><span class="badge bad">exceeds exposure limit</span>'
    cells = [f"<td class=num>{esc(rank) if rank is not None else '–'}</td>", f"<td>{name}</td>",
             f'<td class="treat">{esc(treatment)}</td>', _num(m.get("final_tumour_volume_mm3")),
             _num(m.get("min_tumour_volume_mm3")), f"<td class=num>{esc(signed_percent(change))}</td>",
             f"<td>{badge(m.get('response'))}</td>", _num(m.get("time_to_progression_day"))]
    for drug in drugs:
        cells += [_num((m.get("normal_auc_mg_h_per_L") or {}).get(drug)),
                  _num((m.get("normal_cmax_mg_per_L") or {}).get(drug))]
    cells += [_num(_times(m.get("resistant_fraction_final"), 100)), _num(_times(m.get("hypoxic_fraction_final"), 100))]
    return f'<tr class="{css}">{"".join(cells)}</tr>'


def _num(value: Any) -> str:
    return f"<td class=num>{esc(fmt(value))}</td>"


def _times(value: Any, factor: float) -> Any:
    return value * factor if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def exposure_maps(data: ComparisonData) -> str:
    """Drug AUC, tumour-cell and oxygen slice figures of every regimen, grouped by field."""
    drugs = list(dict.fromkeys(d for run in data.runs.values() for d in run.drugs()))
    fields = [f"{d}_auc_mg_h_per_L" for d in drugs] + ["tumour_cells", "oxygen_mmHg"]
    parts = []
    for field in fields:
        items = [(name, run.path / "figures" / f"{field}_slices.png") for name, run in data.runs.items()]
        items = [(name, p) for name, p in items if p.is_file()]
        if not items:
            continue
        from oncotwin.io.figures import label_of

        parts.append(f"<h3>{esc(label_of(field))}</h3>")
        parts += [figure(figures.file_uri(p), figure_caption(p, name), f"{name} {field}") for name, p in items]
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
                if figures.is_control(n, r.get("treatment"))}
    curves = figures.volume_curves(runs, controls, data.info.get("response_thresholds"))
    body.append(figure(figures.data_uri(curves) if curves else None,
                       "<b>Modelled tumour volume under each regimen</b> (control dashed). Dotted lines: volume "
                       "thresholds of partial response and progression relative to the baseline volume.",
                       "tumour volume of all regimens"))
    body.append("</section><section><h2>4. Exposure and response maps</h2>")
    body.append('<p class="note">Each figure shows the end of the simulated period. Colour scales differ '
                "between figures; compare values through the colour bars.</p>")
    body.append(exposure_maps(data))
    body.append("</section>")
    body.append(assumptions_section(first, data.info, number=5))
    body.append(provenance_footer(manifest, data.runs))
    return page(f"oncotwin comparison: {data.name}", "".join(body))


# ------------------------------------------------------------------------------------- assumptions
def assumptions_section(run: RunData, comparison: dict | None, number: int) -> str:
    """Model in words, parameters used, sources, thresholds and objective, choices and limitations."""
    case = run.case
    parts = [f"<section><h2>{number}. Assumptions and parameter sources</h2>",
             "<h3>The model in words</h3><dl class=\"model\">"]
    enabled = {k for k, v in (case.get("physics") or {}).items() if isinstance(v, dict) and v.get("enabled")}
    for title, words in text.MODEL_IN_WORDS:
        parts.append(f"<dt>{esc(title)}</dt><dd>{esc(words)}</dd>")
    parts.append("</dl>")
    if enabled:
        parts.append(f'<p class="note">Physics enabled in this case: {esc(", ".join(sorted(enabled)))}.</p>')
    parts.append(region_parameters_html(case.get("regions") or {}))
    parts.append(model_parameters_html(case))
    parts.append(sources_html())
    if comparison is not None:
        parts.append("<h3>Response thresholds and objective</h3>" + thresholds_html(comparison))
    parts.append("<h3>Modelling choices</h3><p>These values are not measured; they are choices that "
                 "should be calibrated per patient when data allow:</p><ul class=\"choices\">")
    parts += [f"<li>{esc(c)}</li>" for c in text.MODELLING_CHOICES]
    parts += [f"<li>{esc(c)}</li>" for c in text.calibration_notes()]
    parts.append(f"</ul><h3>Limitations</h3><p>{esc(text.LIMITATIONS)}</p></section>")
    return "".join(parts)


def region_parameters_html(regions: dict) -> str:
    """Table of the region parameters actually used, in clinical units, one column per region."""
    if not regions:
        return ""
    names = list(regions)
    headers = [header_cell("Parameter"), header_cell("Unit")]
    headers += [f'<th class=num>{esc(n)}<span class="unit">{esc(regions[n].get("kind", ""))}</span></th>'
                for n in names]
    rows, group = [], None
    for section, label, unit, values in clinical.region_parameter_rows(regions):
        if section != group:
            rows.append(f'<tr class="group"><td colspan="{len(names) + 2}">{esc(section)}</td></tr>')
            group = section
        rows.append(f"<tr><td>{esc(label)}</td><td>{esc(unit)}</td>"
                    + "".join(f"<td class=num>{esc(v)}</td>" for v in values) + "</tr>")
    return ("<h3>Region parameters used</h3><p class=\"note\">From the validated case (literature defaults "
            "of each tissue kind unless the case file overrides them), converted from the internal units "
            "(mm, s, mmHg, mg) to the units of the literature.</p>" + table(headers, rows))


def model_parameters_html(case: dict) -> str:
    """Model-wide growth, oxygen, mechanics, drug-effect and radiobiology parameters."""
    rows = clinical.physics_parameter_rows(case.get("physics") or {})
    rows += clinical.radiotherapy_rows((case.get("treatment") or {}).get("radiotherapy"))
    if not rows:
        return ""
    body = [f"<tr><td>{esc(label)}</td><td class=num>{esc(value)}</td><td>{esc(unit)}</td></tr>"
            for label, value, unit in rows]
    return "<h3>Model-wide parameters</h3>" + table(
        [header_cell("Parameter"), header_cell("Value", None, True), header_cell("Unit")], body)


def sources_html() -> str:
    """The literature sources cited by the parameter modules."""
    items = [f"<li><b>[{esc(k)}]</b> {esc(v)}</li>" for k, v in text.literature_sources()]
    return ("<h3>Literature sources</h3><p class=\"note\">As cited by the default-parameter modules "
            "<code>oncotwin.defaults.tissue</code> and <code>oncotwin.defaults.oxygen</code>.</p>"
            f"<ol class=\"sources\">{''.join(items)}</ol>")


def thresholds_html(comparison: dict) -> str:
    """Response thresholds and the ranking objective of a comparison."""
    thresholds = comparison.get("response_thresholds") or {}
    objective = comparison.get("objective") or {}
    rows = []
    if thresholds.get("description"):
        rows.append(("Response categories", str(thresholds["description"])))
    for key, label in (("partial_response_volume_change", "Partial response: volume change at most"),
                       ("progression_volume_change", "Progression: volume change at least")):
        if isinstance(thresholds.get(key), (int, float)):
            rows.append((label, f"{thresholds[key] * 100:+.0f} % of baseline".replace("-", "−")))
    for key, value in thresholds.items():
        if key not in ("description", "partial_response_volume_change", "progression_volume_change"):
            rows.append((key.replace("_", " "), fmt(value) if not isinstance(value, (dict, list)) else str(value)))
    if objective.get("description"):
        rows.append(("Ranking objective", str(objective["description"])))
    for key, value in objective.items():
        if key != "description":
            rows.append((f"objective: {key.replace('_', ' ')}", fmt(value) if not isinstance(value, (dict, list)) else str(value)))
    return kv_table(rows) if rows else '<p class="note">Not recorded in comparison.json.</p>'


# -------------------------------------------------------------------------------------- provenance
def provenance_footer(manifest: dict, runs: dict[str, RunData]) -> str:
    """oncotwin and package versions, MPI ranks and stage timings."""
    from oncotwin import __version__

    packages = manifest.get("packages") or {}
    lines = [f"Report written by oncotwin {__version__}; simulation by oncotwin "
             f"{manifest.get('oncotwin', packages.get('oncotwin', '?'))}"
             + (f" on {manifest['ranks']} MPI rank(s)" if manifest.get("ranks") else "") + "."]
    if packages:
        lines.append("Packages: " + ", ".join(f"{k} {v}" for k, v in packages.items()) + ".")
    stage_names = list(dict.fromkeys(s for run in runs.values() for s in (run.manifest.get("stages") or {})))
    parts = ["<footer><b>Provenance.</b> " + " ".join(esc(x) for x in lines)]
    if stage_names:
        headers = [header_cell("Run")] + [header_cell(s, "s", True) for s in stage_names] + [header_cell("total", "s", True)]
        rows = []
        for name, run in runs.items():
            stages = run.manifest.get("stages") or {}
            seconds = [(stages.get(s) or {}).get("seconds") for s in stage_names]
            total = sum(v for v in seconds if isinstance(v, (int, float)))
            rows.append(f"<tr><td>{esc(name)}</td>" + "".join(_num(v) for v in seconds) + _num(total) + "</tr>")
        parts.append("<p>Wall time of the simulation stages:</p>" + table(headers, rows))
    parts.append("</footer>")
    return "".join(parts)
