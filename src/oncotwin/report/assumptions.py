"""The assumptions section: the model in words, parameters used, literature sources, choices, limitations."""

from __future__ import annotations

from oncotwin.report.clinical import fmt, physics_parameter_rows, radiotherapy_rows, region_parameter_rows
from oncotwin.report.load import RunData
from oncotwin.report.markup import esc
from oncotwin.report.tables import header_cell, kv_table, table
from oncotwin.report.text import (
    LIMITATIONS,
    MODEL_IN_WORDS,
    MODELLING_CHOICES,
    calibration_notes,
    literature_sources,
)


def assumptions_section(run: RunData, comparison: dict | None, number: int) -> str:
    """Model in words, parameters used, sources, thresholds and objective, choices and limitations."""
    case = run.case
    parts = [f"<section><h2>{number}. Assumptions and parameter sources</h2>",
             "<h3>The model in words</h3><dl class=\"model\">"]
    enabled = {k for k, v in (case.get("physics") or {}).items() if isinstance(v, dict) and v.get("enabled")}
    for title, words in MODEL_IN_WORDS:
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
    parts += [f"<li>{esc(c)}</li>" for c in MODELLING_CHOICES]
    parts += [f"<li>{esc(c)}</li>" for c in calibration_notes()]
    parts.append(f"</ul><h3>Limitations</h3><p>{esc(LIMITATIONS)}</p></section>")
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
    for section, label, unit, values in region_parameter_rows(regions):
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
    rows = physics_parameter_rows(case.get("physics") or {})
    rows += radiotherapy_rows((case.get("treatment") or {}).get("radiotherapy"))
    if not rows:
        return ""
    body = [f"<tr><td>{esc(label)}</td><td class=num>{esc(value)}</td><td>{esc(unit)}</td></tr>"
            for label, value, unit in rows]
    return "<h3>Model-wide parameters</h3>" + table(
        [header_cell("Parameter"), header_cell("Value", None, True), header_cell("Unit")], body)


def sources_html() -> str:
    """The literature sources cited by the parameter modules."""
    items = [f"<li><b>[{esc(k)}]</b> {esc(v)}</li>" for k, v in literature_sources()]
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
