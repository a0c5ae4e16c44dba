"""The report page of a forecast folder (``oncotwin forecast``, recognised by its ``forecast.json``).

Like the calibration page: one self-contained HTML document read from the folder's JSON and CSV files.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from oncotwin.case.calibratable import PARAMETERS
from oncotwin.report.clinical import fmt
from oncotwin.report.figures import file_uri
from oncotwin.report.load import number, read_csv, read_json
from oncotwin.report.markup import RESPONSE_WORDS, badge, esc, figure
from oncotwin.report.numbers import label, percent, signed, value_range
from oncotwin.report.shell import footer, page, title_block
from oncotwin.report.tables import header_cell, kv_table, num_cell, table, text_cell

CATEGORIES = ("CR", "PR", "SD", "PD")


def how_bands_read() -> str:
    """What the forecast bands and probabilities mean (HTML paragraph)."""
    return ('<p class="note">The bands run from the 5th to the 95th percentile (a 90 % band) of the modelled '
            "volume across the posterior samples, with the median as the line. They express only the "
            "uncertainty of the calibrated parameters given the observations (the Laplace posterior of the "
            "calibration); they do <b>not</b> include model error (the model's structure and every parameter "
            "that was not calibrated are taken as exact), measurement error in future scans, or changes in "
            "the tumour's biology after the last observation. The true spread of outcomes is therefore "
            "wider. Probabilities are fractions of samples, so with n samples they move in steps of 1/n.</p>")


def forecast_regimens(info: dict) -> list[dict[str, Any]]:
    """The regimen entries of ``forecast.json``."""
    return [r for r in info.get("regimens") or [] if isinstance(r, dict)]


def _order(regimen: dict) -> tuple[float, float]:
    p = number(regimen.get("p_progression"))
    v = number(regimen.get("final_volume_p50_mm3"))
    return (p if p is not None else math.inf, v if v is not None else math.inf)


def _count(p: Any, n: Any) -> str:
    """``k/n`` samples behind a probability (empty when unknown)."""
    p, n = number(p), number(n)
    return f"{round(p * n):.0f}/{n:.0f}" if p is not None and n else ""


def forecast_bottom_line(info: dict) -> str:
    """Which regimen has the lowest probability of progression, in plain words (HTML)."""
    regimens = [r for r in forecast_regimens(info) if number(r.get("p_progression")) is not None]
    if not regimens:
        return "The forecast records no regimen outcome."
    ranked = sorted(regimens, key=_order)
    best = ranked[0]
    p = number(best["p_progression"])
    by = number(best.get("by_day"))
    by_words = f"by day {fmt(by)}" if by is not None else "by the end of the forecast"
    n = best.get("samples", info.get("samples"))
    description = f" ({esc(best['description'])})" if best.get("description") else ""
    volume = (f"; median final volume <b>{esc(fmt(number(best.get('final_volume_p50_mm3'))))} mm³</b> "
              f"(90 % band {esc(value_range(best.get('final_volume_p5_mm3'), best.get('final_volume_p95_mm3'), False))} mm³)")
    resistant = number(best.get("p_resistant_above"))
    threshold = number(best.get("resistant_threshold"))
    resist = (f"; probability that more than {fmt(100 * threshold)} % of the tumour cells are resistant "
              f"{by_words}: {percent(resistant)}" if resistant is not None and threshold is not None else "")
    count = _count(p, n)
    if len(regimens) == 1:
        words = (f"Under <b>{esc(best.get('regimen', '?'))}</b>{description}, the probability of progression "
                 f"{esc(by_words)} is <b>{esc(percent(p))}</b>{esc(f' ({count} samples)' if count else '')}"
                 f"{volume}{esc(resist)}.")
    else:
        tied = [r for r in ranked if number(r["p_progression"]) == p]
        words = (f"<b>{esc(best.get('regimen', '?'))}</b>{description} has the lowest probability of progression "
                 f"{esc(by_words)}: <b>{esc(percent(p))}</b>{esc(f' ({count} samples)' if count else '')}{volume}"
                 f"{esc(resist)}.")
        if len(tied) > 1:
            words += (f" {esc(', '.join(str(r.get('regimen')) for r in tied[1:]))} "
                      f"{'has' if len(tied) == 2 else 'have'} the same probability; the tie is broken by the "
                      "smaller median final volume.")
        worst = ranked[-1]
        if worst is not best and number(worst["p_progression"]) != p:
            words += (f" The highest is {esc(worst.get('regimen', '?'))} at "
                      f"{esc(percent(number(worst['p_progression'])))}.")
    samples = number(info.get("samples"))
    if samples is not None and samples < 20:
        words += (f" With only {samples:.0f} samples per regimen these probabilities are coarse (steps of "
                  f"{100 / samples:.0f} %).")
    return words + " The spread reflects the calibrated parameter uncertainty only, not model error."


def probability_table(info: dict) -> str:
    """Probabilities and final-volume percentiles per regimen (HTML)."""
    regimens = forecast_regimens(info)
    if not regimens:
        return '<p class="note">No regimen was recorded in forecast.json.</p>'
    ranked = sorted(regimens, key=_order)
    by_days = {number(r.get("by_day")) for r in regimens}
    by = next(iter(by_days)) if len(by_days) == 1 else None
    thresholds = {number(r.get("resistant_threshold")) for r in regimens}
    threshold = next(iter(thresholds)) if len(thresholds) == 1 else None
    when = f"by day {fmt(by)}" if by is not None else "by the day shown"
    resistant = (f"resistant > {fmt(100 * threshold)} % {when}" if threshold is not None
                 else f"resistant fraction above threshold {when}")
    headers = [header_cell("Rank"), header_cell("Regimen"), header_cell("P(progression)", when, True),
               header_cell("P(resistant)", resistant, True), header_cell("Final volume, median", "mm³", True),
               header_cell("Final volume, 5 %", "mm³", True), header_cell("Final volume, 95 %", "mm³", True),
               header_cell("Samples", None, True)]
    if by is None:
        headers.insert(2, header_cell("By day", None, True))
    rows = []
    for rank, r in enumerate(ranked, start=1):
        css = ' class="best"' if rank == 1 and len(ranked) > 1 else ""
        name = f"<b>{esc(r.get('regimen', '?'))}</b>"
        if r.get("description"):
            name += f'<br><span class="note">{esc(r["description"])}</span>'
        n = r.get("samples", info.get("samples"))
        p = number(r.get("p_progression"))
        q = number(r.get("p_resistant_above"))
        cells = [text_cell(str(rank)), f"<td>{name}</td>"]
        if by is None:
            cells.append(num_cell(r.get("by_day")))
        cells += [text_cell(percent(p) + (f" ({_count(p, n)})" if _count(p, n) else "")),
                  text_cell(percent(q) + (f" ({_count(q, n)})" if _count(q, n) else "")),
                  num_cell(r.get("final_volume_p50_mm3")), num_cell(r.get("final_volume_p5_mm3")),
                  num_cell(r.get("final_volume_p95_mm3")), num_cell(n)]
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    legend = ('<p class="note">Ranked by the probability of progression (ties: smaller median final volume first). '
              "Progression: the modelled volume exceeds its running minimum (nadir) by the progression threshold "
              "(section 3), as in <code>oncotwin compare</code>. P(resistant): fraction of samples whose resistant "
              "fraction of the viable cells exceeds the threshold at that day. In brackets: samples out of all "
              "samples.</p>")
    return f'<div class="wide">{table(headers, rows, "regimens")}</div>' + legend


def thresholds_words(thresholds: dict) -> list[tuple[str, str]]:
    """Response thresholds of a forecast as ``(category, rule)`` rows."""
    rows = []
    complete, partial, progression = (number(thresholds.get(k)) for k in ("complete", "partial", "progression"))
    if complete is not None:
        rows.append(("CR, complete response", f"final volume at most {fmt(100 * complete)} % of baseline"))
    if partial is not None:
        rows.append(("PR, partial response", f"final volume change of {signed(100 * partial, 0)} or less"))
    if progression is not None:
        rows.append(("PD, progressive disease", f"volume above its nadir by more than {fmt(100 * progression)} %"))
    rows.append(("SD, stable disease", "otherwise"))
    if thresholds.get("volume"):
        rows.append(("Volume used", str(thresholds["volume"])))
    return rows


def response_table(info: dict) -> str:
    """Counts of samples per response category and regimen, with the thresholds (HTML)."""
    regimens = forecast_regimens(info)
    if not regimens:
        return ""
    headers = [header_cell("Regimen")] + [f"<th class=num>{badge(c)}<span class=\"unit\">{esc(RESPONSE_WORDS[c])}"
                                          "</span></th>" for c in CATEGORIES] + [header_cell("Samples", None, True)]
    rows = []
    for r in regimens:
        counts = r.get("responses") or {}
        rows.append(f"<tr><td>{esc(r.get('regimen', '?'))}</td>" + "".join(num_cell(counts.get(c)) for c in CATEGORIES)
                    + num_cell(r.get("samples", info.get("samples"))) + "</tr>")
    thresholds = info.get("response_thresholds") or {}
    return (table(headers, rows) + '<p class="note">Number of posterior samples whose modelled volume at the end of '
            "the forecast falls in each volumetric response category (in the spirit of RECIST/RANO):</p>"
            + (kv_table(thresholds_words(thresholds)) if thresholds else ""))


def parameter_units() -> dict[str, tuple[str, str]]:
    """Reporting unit and description of every calibratable parameter (empty when unavailable)."""
    return {name: (kind.unit, kind.description) for name, kind in PARAMETERS.items()}


def samples_table(folder: Path, info: dict) -> str:
    """Median and range of each sampled parameter from ``samples.csv`` (HTML)."""
    rows = read_csv(folder / "samples.csv")
    names = [n for n in (info.get("parameters") or []) if rows and n in rows[0]]
    names = names or [k for k in (rows[0] if rows else {}) if k != "sample"]
    if not names:
        return '<p class="note">The sampled parameters (samples.csv) were not found.</p>'
    units = parameter_units()
    headers = [header_cell("Parameter"), header_cell("Unit"), header_cell("Median", None, True),
               header_cell("Minimum", None, True), header_cell("Maximum", None, True),
               header_cell("Max / min", None, True), header_cell("Samples", None, True)]
    body = []
    for name in names:
        values = [v for row in rows if (v := number(row.get(name))) is not None]
        unit, description = units.get(name, ("", ""))
        ratio = max(values) / min(values) if values and min(values) > 0 else None
        label_html = f"<b>{esc(label(name))}</b>" + (f'<br><span class="note">{esc(description)}</span>'
                                                      if description else "")
        body.append(f"<tr><td>{label_html}</td><td>{esc(unit or '–')}</td>"
                    f"{num_cell(statistics.median(values) if values else None)}"
                    f"{num_cell(min(values) if values else None)}{num_cell(max(values) if values else None)}"
                    f"{num_cell(ratio)}{num_cell(len(values))}</tr>")
    seed = info.get("seed")
    return (table(headers, body) + '<p class="note">Parameter values of the posterior samples (log-normal Laplace '
            "posterior of the calibration, sampled jointly so that correlations are kept; samples outside the "
            f"allowed bounds are clipped to them){esc(f'; random seed {seed}' if seed is not None else '')}. Every "
            "regimen runs on the same samples.</p>")


def forecast_inputs(folder: Path, manifest: dict, info: dict) -> str:
    """Case, posterior, sampling and parallel layout of a forecast (HTML key/value table)."""
    rows = []
    if manifest.get("case_file"):
        rows.append(("Case file", str(manifest["case_file"])))
    if manifest.get("case_sha256"):
        rows.append(("Case file SHA-256", str(manifest["case_sha256"])))
    for c in manifest.get("posterior") or []:
        if isinstance(c, dict):
            rows.append((f"Calibrated on: {c.get('name', '?')}", f"{c.get('file', '')} (SHA-256 {c.get('sha256', '?')})"))
    samples = info.get("samples", manifest.get("samples"))
    if samples is not None:
        rows.append(("Samples per regimen", str(samples)))
    seed = info.get("seed", manifest.get("seed"))
    if seed is not None:
        rows.append(("Random seed", str(seed)))
    members = folder / "members"
    if members.is_dir():
        count = sum(1 for regimen in members.iterdir() if regimen.is_dir() for m in regimen.iterdir() if m.is_dir())
        rows.append(("Member runs", f"{count} under members/<regimen>/<sample>/"))
    if manifest.get("ranks"):
        layout = f"{manifest['ranks']}"
        if manifest.get("groups"):
            layout += (f" in {manifest['groups']} group(s) of {manifest.get('ranks_per_member', '?')} rank(s) "
                       "per member run")
        rows.append(("MPI ranks", layout))
    for key, title in (("start", "Started"), ("end", "Finished")):
        if manifest.get(key):
            rows.append((title, str(manifest[key])))
    return kv_table(rows)


def forecast_name(folder: Path, manifest: dict) -> str:
    """The patient's name: from the posterior's cases, else the case file's stem, else the folder name."""
    names = [str(c.get("name")) for c in manifest.get("posterior") or [] if isinstance(c, dict) and c.get("name")]
    if names:
        return ", ".join(dict.fromkeys(names))
    if manifest.get("case_file"):
        return Path(str(manifest["case_file"])).stem
    return Path(folder).name


def forecast_page(folder: Path) -> str:
    """The report of a forecast folder.

    Args:
        folder: a folder written by ``oncotwin forecast`` (``forecast.json``, ``bands.csv``,
            ``samples.csv``, ``forecast_volume.png``, ``manifest.json``, ``members/``); every file but
            ``forecast.json`` is optional.

    Returns:
        The complete HTML document.
    """
    folder = Path(folder)
    info = read_json(folder / "forecast.json")
    manifest = read_json(folder / "manifest.json")
    regimens = forecast_regimens(info)
    name = forecast_name(folder, manifest)
    kind = f"forecast of {len(regimens)} regimen{'s' if len(regimens) != 1 else ''} over the calibrated uncertainty"
    png = folder / "forecast_volume.png"
    bands = figure(file_uri(png) if png.is_file() else None,
                   "<b>Forecast tumour volume.</b> Line: median over the posterior samples; shaded band: 5th to 95th "
                   "percentile, per regimen.", "forecast volume bands")
    body = [title_block(kind, name, manifest, forecast_bottom_line(info)),
            "<section><h2>1. Probabilities per regimen</h2>", probability_table(info), "</section>",
            "<section><h2>2. Tumour-volume bands</h2>",
            bands or '<p class="note">The band figure (forecast_volume.png) was not found.</p>',
            how_bands_read(), "</section>",
            "<section><h2>3. Response categories</h2>", response_table(info), "</section>",
            "<section><h2>4. Sampled parameters</h2>", samples_table(folder, info), "</section>",
            "<section><h2>5. Inputs and provenance</h2>", forecast_inputs(folder, manifest, info), "</section>",
            footer(folder, manifest, "forecast")]
    return page(f"oncotwin forecast: {name}", "".join(body))
