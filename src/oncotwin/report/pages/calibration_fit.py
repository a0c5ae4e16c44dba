"""Sections of the calibration page on the fit: observations against the model, optimiser path, correlations."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from oncotwin.report.clinical import fmt
from oncotwin.report.load import number, read_csv
from oncotwin.report.markup import esc
from oncotwin.report.numbers import label, signed
from oncotwin.report.tables import header_cell, num_cell, table, text_cell

DAY = 86400.0
# correlations at least this strong are pointed out
STRONG_CORRELATION = 0.9


# a simulated value over a date window is shown as a range when min and max differ by more than this
WINDOW_TOLERANCE = 1e-6


def observation_days(posterior: dict) -> dict[str, str]:
    """``subject/name`` -> the day (or ``a–b`` window) of each segmentation observation from ``posterior.json``."""
    out = {}
    for entry in posterior.get("observations") or []:
        if not isinstance(entry, dict):
            continue
        obs = entry.get("observation") if isinstance(entry.get("observation"), dict) else entry
        name = obs.get("name")
        start = number(obs.get("start", obs.get("start_s")))
        end = number(obs.get("end", obs.get("end_s")))
        if name is None or start is None:
            continue
        end = start if end is None else end
        days = f"{start / DAY:g}" if abs(end - start) < 1e-6 else f"{start / DAY:g}–{end / DAY:g}"
        out[f"{entry.get('subject')}/{name}"] = days
    return out


def _with_window(value: Any, low: Any, high: Any) -> str:
    """A value, followed by its ``(min–max)`` over the date window when they differ."""
    text = fmt(number(value))
    lo, hi = number(low), number(high)
    if lo is not None and hi is not None and abs(hi - lo) > WINDOW_TOLERANCE * max(abs(hi), abs(lo), 1e-300):
        text += f" ({fmt(lo)}–{fmt(hi)})"
    return text


def observation_table(info: dict, posterior: dict) -> str:
    """Observed against simulated volume, relative error and Dice per observation; scalar series (HTML)."""
    observations = {k: o for k, o in (info.get("observations") or {}).items() if isinstance(o, dict)}
    segmentations = {k: o for k, o in observations.items() if "volume_observed_mm3" in o}
    series = {k: o for k, o in observations.items() if k not in segmentations}
    days = observation_days(posterior)
    parts = []
    if segmentations:
        headers = [header_cell("Observation", "subject/scan"), header_cell("Day", "after baseline", True),
                   header_cell("Observed volume", "mm³", True), header_cell("Simulated volume", "mm³ at the MAP", True),
                   header_cell("Relative error", "simulated vs observed", True), header_cell("Dice", "overlap", True),
                   header_cell("Volume sd", "of the log", True), header_cell("Shape sd", None, True)]
        rows = []
        for key, o in segmentations.items():
            observed, simulated = number(o.get("volume_observed_mm3")), number(o.get("volume_simulated_mm3"))
            error = 100.0 * (simulated / observed - 1.0) if observed and simulated is not None else None
            rows.append(f"<tr><td>{esc(key)}</td>{text_cell(days.get(key, '–'))}{num_cell(observed)}"
                        f"{text_cell(_with_window(simulated, o.get('volume_simulated_min_mm3'), o.get('volume_simulated_max_mm3')))}"
                        f"{text_cell(signed(error))}"
                        f"{text_cell(_with_window(o.get('dice'), o.get('dice_min'), o.get('dice_max')))}"
                        f"{num_cell(o.get('volume_log_sd'))}{num_cell(o.get('shape_sd'))}</tr>")
        parts.append(table(headers, rows))
        parts.append('<p class="note">Simulated volume and Dice at the fitted (MAP) parameters. For a scan whose '
                     "date is only known to lie in a window, the value shown is the one the fit used and the range "
                     "in brackets spans the window. Dice: overlap of the simulated and the segmented tumour "
                     "(1 = identical). Volume sd and shape sd: the assumed noise of the log volume and of the "
                     "shape discordance, which weight each observation in the fit.</p>")
    if series:
        headers = [header_cell("Scalar series", "subject/name"), header_cell("Fitted scale factor", None, True),
                   header_cell("RMS log error", None, True), header_cell("≈ typical error", "%", True)]
        rows = []
        for key, o in series.items():
            rms = number(o.get("rms_log_error"))
            rows.append(f"<tr><td>{esc(key)}</td>{num_cell(o.get('scale'))}{num_cell(rms)}"
                        f"{text_cell(f'{100.0 * math.expm1(rms):.0f}' if rms is not None else '–')}</tr>")
        parts.append("<h3>Scalar series</h3>" + table(headers, rows))
        parts.append('<p class="note">A scalar series (for example a blood biomarker) is taken as proportional to a '
                     "model metric; the factor is fitted (scale) and only the shape of the series over time informs "
                     "the parameters.</p>")
    return "".join(parts) or '<p class="note">No observation diagnostics were recorded.</p>'


def path_rows(folder: Path, info: dict) -> list[dict[str, Any]]:
    """The optimiser's iterations: from ``calibration.json``, else from ``path.csv``."""
    path = [e for e in info.get("path") or [] if isinstance(e, dict)]
    return path or read_csv(folder / "path.csv")


def path_table(folder: Path, info: dict) -> str:
    """Iteration, objective, misfits, damping, step, forward runs and parameter values (HTML)."""
    rows = path_rows(folder, info)
    if not rows:
        return '<p class="note">The optimiser path was not recorded.</p>'
    params = info.get("parameters") or {}
    names = [n for n in params if n in rows[0]] or [k for k in rows[0] if k not in (
        "iteration", "objective", "data_misfit", "prior_misfit", "lambda", "step", "forward_runs")]
    columns = (("iteration", "Iteration", None), ("objective", "Objective", "misfit"),
               ("data_misfit", "Data misfit", None), ("prior_misfit", "Prior misfit", None),
               ("lambda", "Damping λ", None), ("step", "Step", "log space"),
               ("forward_runs", "Forward runs", "cumulative"))
    columns = tuple(c for c in columns if c[0] in rows[0])
    headers = [header_cell(title, unit, True) for _, title, unit in columns]
    headers += [header_cell(label(n), (params.get(n) or {}).get("unit") or None, True) for n in names]
    objectives = [number(r.get("objective")) for r in rows]
    finite = [v for v in objectives if v is not None]
    best = min(finite) if finite else None
    body = []
    for row, objective in zip(rows, objectives, strict=True):
        css = ' class="best"' if best is not None and objective == best else ""
        cells = [num_cell(row.get(key)) if key != "iteration" else text_cell(str(row.get(key, "–")))
                 for key, _, _ in columns]
        cells += [num_cell(row.get(n)) for n in names]
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f'<div class="wide">{table(headers, body)}</div>'


def path_summary(info: dict, manifest: dict) -> str:
    """One paragraph on the optimiser's outcome (HTML)."""
    state = ("converged" if info.get("converged") else "stopped at its iteration limit without converging"
             if info.get("converged") is False else "finished")
    runs = info.get("forward_runs", manifest.get("forward_runs"))
    seconds = number(manifest.get("forward_seconds"))
    per_run = (f" ({fmt(seconds)} s of forward simulation, {fmt(seconds / runs)} s per run)"
               if seconds is not None and isinstance(runs, (int, float)) and runs else "")
    return (f"<p>The Levenberg–Marquardt optimiser {esc(state)} after {esc(fmt(runs))} forward runs{esc(per_run)}. "
            f"Final objective {esc(fmt(number(info.get('objective'))))} = data misfit "
            f"{esc(fmt(number(info.get('data_misfit'))))} + prior misfit {esc(fmt(number(info.get('prior_misfit'))))} "
            "(half the sum of squared weighted residuals; the prior term pulls the log-parameters toward the "
            "prior medians). The green row is the fitted (MAP) point.</p>")


def correlation_table(info: dict) -> str:
    """The posterior correlation matrix of the log-parameters, with strong pairs pointed out (HTML)."""
    names = list(info.get("parameters") or {})
    matrix = info.get("correlation")
    if not names or not isinstance(matrix, list) or len(matrix) != len(names) or len(names) < 2:
        return '<p class="note">With a single parameter there is no correlation to show.</p>' if len(names) == 1 \
            else '<p class="note">No correlation matrix was recorded.</p>'
    headers = [header_cell("")] + [header_cell(label(n), None, True) for n in names]
    rows, strong = [], []
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            r = number(matrix[i][j]) if isinstance(matrix[i], list) and j < len(matrix[i]) else None
            text = "–" if r is None else signed(r, 2, "")
            if r is not None and i != j and abs(r) >= STRONG_CORRELATION:
                cells.append(f"<td class=num><b>{esc(text)}</b></td>")
                if i < j:
                    strong.append((name, names[j], r))
            else:
                cells.append(text_cell(text))
        rows.append(f"<tr><th>{esc(label(name))}</th>{''.join(cells)}</tr>")
    note = ("<p class=\"note\">Correlation of the log-parameters in the Laplace posterior. Values near ±1 mean the "
            "observations constrain a combination of the two parameters rather than each one separately.")
    if strong:
        pairs = "; ".join(f"{label(a)} and {label(b)} ({signed(r, 2, '')})" for a, b, r in strong)
        note += f" <b>Strongly correlated: {esc(pairs)}.</b> Their individual intervals overstate what is unknown " \
                "about their joint effect, and a forecast must sample them jointly (as <code>oncotwin forecast</code> does)."
    return table(headers, rows) + note + "</p>"
