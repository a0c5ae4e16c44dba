"""Report pages of a calibration folder (``oncotwin calibrate``) and a forecast folder (``oncotwin forecast``).

Both pages reuse the look of the run and comparison reports (:mod:`oncotwin.report.html`): one
self-contained HTML document with inline CSS and images as data URIs, no JavaScript, no network.
Everything is read from the folder's JSON and CSV files; nothing is simulated.
"""

from __future__ import annotations

import csv
import html
import math
import statistics
from pathlib import Path
from typing import Any

from oncotwin.report import figures
from oncotwin.report.clinical import fmt
from oncotwin.report.html import (
    RESPONSE_WORDS,
    badge,
    esc,
    figure,
    header_cell,
    kv_table,
    page,
    provenance_footer,
    table,
    title_block,
)
from oncotwin.report.load import RunData, read_json

DAY = 86400.0
# a parameter is "barely informed by the data" when its posterior is nearly as wide as its prior
WEAKLY_INFORMED = 0.8
# correlations at least this strong are pointed out
STRONG_CORRELATION = 0.9
# a simulated value over a date window is shown as a range when min and max differ by more than this
WINDOW_TOLERANCE = 1e-6
CATEGORIES = ("CR", "PR", "SD", "PD")


# ----------------------------------------------------------------------------------------- detection
def is_calibration(path: Path) -> bool:
    """Whether ``path`` is a calibration folder.

    Args:
        path: a folder.

    Returns:
        True when it holds ``calibration.json``.
    """
    return (Path(path) / "calibration.json").is_file()


def is_forecast(path: Path) -> bool:
    """Whether ``path`` is a forecast folder.

    Args:
        path: a folder.

    Returns:
        True when it holds ``forecast.json``.
    """
    return (Path(path) / "forecast.json").is_file()


# ------------------------------------------------------------------------------------------- helpers
def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts of strings; empty when the file is missing or unreadable.

    Args:
        path: the CSV file.

    Returns:
        One dict per row.
    """
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


def number(value: Any) -> float | None:
    """A finite float from a JSON or CSV value, else None.

    Args:
        value: anything.

    Returns:
        The number, or None for missing, non-numeric or non-finite values (and booleans).
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def unit_words(unit: str | None) -> str:
    """A unit as it reads in a sentence: ``1/day`` -> ``per day``; empty for dimensionless.

    Args:
        unit: a unit string of the calibration (``1/day``, ``mm^2/day``, ``1/Gy``, ``""``).

    Returns:
        Plain text (not escaped).
    """
    unit = (unit or "").strip()
    if unit.startswith("1/") and "/" not in unit[2:]:
        return f"per {unit[2:]}"
    return unit


def label(name: str) -> str:
    """A parameter key in words: ``proliferation_rate`` -> ``proliferation rate``."""
    return str(name).replace("_", " ")


def percent(value: float | None, digits: int = 0) -> str:
    """A probability (0-1) as ``25 %``; a dash when missing."""
    return "–" if value is None else f"{100.0 * value:.{digits}f} %"


def signed(value: float | None, digits: int = 1, suffix: str = " %") -> str:
    """A signed number with a typographic minus (``+0.8 %``, ``−1.2 %``); a dash when missing."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}{suffix}".replace("-", "−")


def sig(value: Any) -> str:
    """A parameter value with three significant digits, trailing zeros kept (``0.100``); else like ``fmt``."""
    x = number(value)
    text = f"{x:#.3g}".rstrip(".") if x is not None and 1e-3 <= abs(x) < 1e4 else "e"
    return text if "e" not in text else fmt(x)


def value_range(low: Any, high: Any, keep_zeros: bool = True) -> str:
    """``low–high`` with three significant digits each (plain text); ``keep_zeros``: ``0.100``, not ``0.1``."""
    show = sig if keep_zeros else (lambda v: fmt(number(v)))
    return f"{show(low)}–{show(high)}"


def num_cell(value: Any) -> str:
    """A right-aligned number cell (three significant digits)."""
    return f"<td class=num>{esc(fmt(number(value)))}</td>"


def text_cell(text: str, numeric: bool = True) -> str:
    """A cell with ready text (escaped), right-aligned when ``numeric``."""
    return f"<td{' class=num' if numeric else ''}>{esc(text)}</td>"


def footer(folder: Path, manifest: dict, kind: str) -> str:
    """The provenance footer of :mod:`oncotwin.report.html`, with this folder's stage timings."""
    return provenance_footer(manifest, {kind: RunData(path=folder, name=kind, manifest=manifest)})


def how_bands_read() -> str:
    """What the forecast bands and probabilities mean (HTML paragraph)."""
    return ('<p class="note">The bands run from the 5th to the 95th percentile (a 90 % band) of the modelled '
            "volume across the posterior samples, with the median as the line. They express only the "
            "uncertainty of the calibrated parameters given the observations (the Laplace posterior of the "
            "calibration); they do <b>not</b> include model error (the model's structure and every parameter "
            "that was not calibrated are taken as exact), measurement error in future scans, or changes in "
            "the tumour's biology after the last observation. The true spread of outcomes is therefore "
            "wider. Probabilities are fractions of samples, so with n samples they move in steps of 1/n.</p>")


# -------------------------------------------------------------------------------------- calibration
def prior_sds(info: dict, posterior: dict) -> dict[str, float | None]:
    """Marginal prior standard deviation of each log-parameter.

    ``calibration.json`` records ``1/sqrt(precision_jj)``, which is the marginal sd only for an
    independent (diagonal) prior; when ``posterior.json`` carries a full prior precision matrix the
    marginal sd is taken from its inverse.

    Args:
        info: ``calibration.json``.
        posterior: ``posterior.json`` (may be empty).

    Returns:
        Parameter name -> prior sd of its log (None when unknown).
    """
    params = info.get("parameters") or {}
    out = {name: number(p.get("prior_log_sd")) for name, p in params.items() if isinstance(p, dict)}
    names, precision = posterior.get("parameters"), posterior.get("prior_precision_log")
    if not (isinstance(names, list) and isinstance(precision, list) and len(precision) == len(names)):
        return out
    import numpy as np

    try:
        matrix = np.asarray(precision, dtype=float)
        if matrix.shape != (len(names), len(names)):
            return out
        if np.count_nonzero(matrix - np.diag(np.diag(matrix))):
            covariance = np.linalg.inv(matrix)
            for j, name in enumerate(names):
                if name in out and covariance[j, j] > 0:
                    out[name] = float(math.sqrt(covariance[j, j]))
    except (ValueError, np.linalg.LinAlgError):
        pass
    return out


def parameter_flags(p: dict, prior_sd: float | None) -> tuple[bool, bool, float | None]:
    """Whether a parameter sits at a bound, whether the data barely inform it, and its width ratio.

    Args:
        p: one entry of ``calibration.json["parameters"]``.
        prior_sd: marginal prior sd of its log.

    Returns:
        ``(at_bound, weakly_informed, posterior_sd / prior_sd)``.
    """
    sd = number(p.get("log_sd"))
    ratio = sd / prior_sd if sd is not None and prior_sd else None
    return bool(p.get("at_bound")), ratio is not None and ratio > WEAKLY_INFORMED, ratio


def volume_errors(observations: dict) -> list[float]:
    """Relative volume errors (simulated / observed - 1) of the segmentation observations."""
    errors = []
    for o in observations.values():
        if not isinstance(o, dict):
            continue
        observed, simulated = number(o.get("volume_observed_mm3")), number(o.get("volume_simulated_mm3"))
        if observed and simulated is not None:
            errors.append(simulated / observed - 1.0)
    return errors


def calibration_bottom_line(info: dict, sds: dict[str, float | None]) -> str:
    """The fitted values, how well they reproduce the observations and their caveats, in plain words.

    Args:
        info: ``calibration.json``.
        sds: marginal prior sds (:func:`prior_sds`).

    Returns:
        HTML.
    """
    params = {n: p for n, p in (info.get("parameters") or {}).items() if isinstance(p, dict)}
    if not params:
        return "The calibration records no fitted parameter."
    phrases = []
    for name, p in params.items():
        low, high = (p.get("interval_95") or [None, None])[:2]
        unit = unit_words(p.get("unit"))
        phrases.append(f"{esc(label(name))} is <b>{esc(sig(p.get('map')))}{' ' + esc(unit) if unit else ''}"
                       f"</b> (95 % interval {esc(value_range(low, high))})")
    words = "The fitted " + (phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1])
    words += "."
    observations = {k: o for k, o in (info.get("observations") or {}).items() if isinstance(o, dict)}
    errors = volume_errors(observations)
    dice = [d for o in observations.values() if (d := number(o.get("dice"))) is not None]
    if errors:
        worst = 100.0 * max(abs(e) for e in errors)
        scans = f"{len(errors)} follow-up scan{'s' if len(errors) != 1 else ''}"
        words += (f" With these values the model reproduces the tumour volumes of the {scans} within "
                  f"<b>{worst:.1f} %</b>")
        if dice:
            spread = f", {fmt(min(dice))}–{fmt(max(dice))}" if len(dice) > 1 else ""
            words += f" (Dice overlap {esc(fmt(statistics.fmean(dice)))} on average{esc(spread)})"
        words += "."
    series = {k: o for k, o in observations.items() if "rms_log_error" in o}
    for key, o in series.items():
        rms = number(o.get("rms_log_error"))
        if rms is not None:
            words += (f" The scalar series {esc(key)} is followed to within about {100.0 * math.expm1(rms):.0f} % "
                      "(root-mean-square of the log error).")
    at_bound = [n for n, p in params.items() if parameter_flags(p, sds.get(n))[0]]
    weak = [n for n, p in params.items() if parameter_flags(p, sds.get(n))[1]]
    if at_bound:
        words += (f" <b>{esc(', '.join(label(n) for n in at_bound))}</b> ended at a bound of the allowed range: "
                  "the bound, not the data, limits the fit; widen the bound or question the model.")
    if weak:
        words += (f" The observations barely inform <b>{esc(', '.join(label(n) for n in weak))}</b> "
                  "(posterior nearly as wide as the prior): its value mostly reflects the prior.")
    if info.get("converged") is False:
        words += " <b>The optimiser stopped at its iteration limit without converging</b>; treat the values as provisional."
    return words


def parameter_table(info: dict, sds: dict[str, float | None]) -> str:
    """Fitted parameters: MAP, 95 % interval, prior, bounds, width ratio and flags (HTML)."""
    params = {n: p for n, p in (info.get("parameters") or {}).items() if isinstance(p, dict)}
    if not params:
        return '<p class="note">No fitted parameters were recorded.</p>'
    headers = [header_cell("Parameter"), header_cell("Unit"), header_cell("Fitted value", "MAP", True),
               header_cell("95 % interval", "posterior", True), header_cell("Prior median", None, True),
               header_cell("Prior 95 % range", None, True), header_cell("Allowed range", "bounds", True),
               header_cell("Start", None, True), header_cell("Posterior / prior width", "sd of the log", True),
               header_cell("Flags")]
    rows = []
    for name, p in params.items():
        at_bound, weak, ratio = parameter_flags(p, sds.get(name))
        prior, prior_sd = number(p.get("prior_median")), sds.get(name)
        prior_range = (value_range(prior * math.exp(-1.96 * prior_sd), prior * math.exp(1.96 * prior_sd), False)
                       if prior is not None and prior_sd is not None else "–")
        interval = p.get("interval_95") or [None, None]
        bounds = p.get("bounds") or [None, None]
        flags = []
        if at_bound:
            flags.append('<span class="badge bad" title="the optimum lies on a bound of the allowed range">'
                         "at a bound</span>")
        if weak:
            flags.append('<span class="badge SD" title="posterior sd above 0.8 x prior sd">barely informed by '
                         "the data</span>")
        css = ' class="infeasible"' if at_bound else ""
        rows.append(f"<tr{css}><td><b>{esc(label(name))}</b><br><span class=\"note\">{esc(p.get('description', ''))}"
                    f"</span></td><td>{esc(p.get('unit') or '–')}</td>{text_cell(sig(p.get('map')))}"
                    f"{text_cell(value_range(*interval[:2]))}{text_cell(sig(prior))}{text_cell(prior_range)}"
                    f"{text_cell(value_range(*bounds[:2], keep_zeros=False))}{text_cell(sig(p.get('start')))}"
                    f"{text_cell(fmt(ratio, 2) if ratio is not None else '–')}<td>{' '.join(flags) or '–'}</td></tr>")
    legend = ('<p class="note">Fitted value: the maximum a posteriori (MAP) estimate, the most probable value given '
              "the observations and the prior. The 95 % intervals come from the Laplace approximation of the "
              "posterior in log space (MAP × exp(±1.96 sd of the log)); they reflect the assumed noise of the "
              "observations (volume and shape standard deviations in section 2), not model error. Prior: the "
              "log-normal prior of the case's calibration section. <i>At a bound</i>: the optimum lies on the "
              "edge of the allowed range. <i>Barely informed by the data</i>: the posterior sd of the log is more "
              f"than {WEAKLY_INFORMED:g} × the prior's, so the observations add little to what the prior says."
              "</p>")
    return f'<div class="wide">{table(headers, rows)}</div>' + legend


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


def usage_section(folder: Path, manifest: dict, number_: int) -> str:
    """How to run, forecast and update with this calibration (HTML section)."""
    fragments = sorted(folder.glob("calibrated*.yaml"))
    case = manifest.get("case_file") or "CASE.yaml"
    parts = [f"<section><h2>{number_}. How to use this calibration</h2><ul class=\"choices\">"]
    for fragment in fragments or [folder / "calibrated.yaml"]:
        parts.append(f"<li>Run the patient's case with the fitted values: <code>oncotwin run {esc(fragment)}</code> "
                     "(the fragment starts from the original case file and overrides only the calibrated "
                     "parameters).</li>")
    parts.append(f"<li>Forecast treatment outcomes with their uncertainty: <code>oncotwin forecast {esc(case)} "
                 f"--calibration {esc(folder)} --regimens regimens.yaml --samples 16</code> (without "
                 "<code>--regimens</code>: the case's own treatment). It samples the posterior in "
                 "<code>posterior.json</code>.</li>")
    parts.append(f"<li>Refine with a new scan: <code>oncotwin calibrate {esc(case)} --observations "
                 f"observations.yaml --update {esc(folder)}</code> (all observations are refitted, starting "
                 "from this fit).</li></ul>")
    if fragments:
        try:
            text = fragments[0].read_text()
        except OSError:
            text = ""
        if text:
            # the file as it is (no unit prettifying): it is meant to be copied
            parts.append(f"<h3>{esc(fragments[0].name)}</h3><pre><code>{html.escape(text)}</code></pre>")
    parts.append("</section>")
    return "".join(parts)


def calibration_inputs(manifest: dict, posterior: dict) -> str:
    """Case, observations, earlier calibration, mesh and runtime of a calibration (HTML key/value table)."""
    rows = []
    for key, title in (("case_file", "Case file"), ("case_sha256", "Case file SHA-256"),
                       ("observations_file", "Observation file"), ("observations_sha256", "Observation file SHA-256")):
        if manifest.get(key):
            rows.append((title, str(manifest[key])))
    rows.append(("Refined from", str(manifest["updated_from"]) if manifest.get("updated_from")
                 else "none (a fit from the case's start values)"))
    cases = [c for c in posterior.get("cases") or [] if isinstance(c, dict)]
    if len(cases) > 1:
        rows.append(("Subjects", ", ".join(str(c.get("name")) for c in cases)))
    if manifest.get("cells"):
        rows.append(("Mesh", f"{manifest['cells']:,} tetrahedra"))
    for key, title in (("ranks", "MPI ranks"), ("forward_runs", "Forward runs"),
                       ("forward_seconds", "Forward simulation time [s]"), ("start", "Started"), ("end", "Finished")):
        if manifest.get(key) is not None:
            rows.append((title, fmt(manifest[key]) if isinstance(manifest[key], (int, float)) else str(manifest[key])))
    return kv_table(rows)


def subjects(folder: Path, info: dict, posterior: dict) -> list[str]:
    """Names of the calibrated patients (subjects), else the folder name."""
    names = [str(c.get("name")) for c in posterior.get("cases") or [] if isinstance(c, dict) and c.get("name")]
    if not names:
        names = list(dict.fromkeys(str(k).split("/")[0] for k in info.get("observations") or {} if "/" in str(k)))
    return names or [Path(folder).name]


def calibration_page(folder: Path) -> str:
    """The report of a calibration folder.

    Args:
        folder: a folder written by ``oncotwin calibrate`` (``calibration.json``, ``posterior.json``,
            ``calibrated.yaml``, ``path.csv``, ``fit.png``, ``manifest.json``); every file but
            ``calibration.json`` is optional.

    Returns:
        The complete HTML document.
    """
    folder = Path(folder)
    info = read_json(folder / "calibration.json")
    posterior = read_json(folder / "posterior.json")
    manifest = read_json(folder / "manifest.json")
    sds = prior_sds(info, posterior)
    n_params = len(info.get("parameters") or {})
    n_obs = len(info.get("observations") or {})
    name = ", ".join(subjects(folder, info, posterior))
    kind = f"calibration of {n_params} parameter{'s' if n_params != 1 else ''} to {n_obs} observation" \
           f"{'s' if n_obs != 1 else ''}"
    fit = figure(figures.file_uri(folder / "fit.png") if (folder / "fit.png").is_file() else None,
                 "<b>Calibration fit.</b> Line: modelled tumour volume at the fitted (MAP) parameters; points: "
                 "observed volumes; horizontal bars: date windows of scans whose exact date is unknown.",
                 "calibration fit")
    body = [title_block(kind, name, manifest, calibration_bottom_line(info, sds)),
            "<section><h2>1. Fitted parameters</h2>", parameter_table(info, sds), "</section>",
            "<section><h2>2. Fit to the observations</h2>",
            fit or '<p class="note">The fit figure (fit.png) was not found.</p>',
            observation_table(info, posterior), "</section>",
            "<section><h2>3. Optimiser path</h2>", path_summary(info, manifest), path_table(folder, info), "</section>",
            "<section><h2>4. Parameter correlations</h2>", correlation_table(info), "</section>",
            usage_section(folder, manifest, 5),
            "<section><h2>6. Inputs and provenance</h2>", calibration_inputs(manifest, posterior), "</section>",
            footer(folder, manifest, "calibration")]
    return page(f"oncotwin calibration: {name}", "".join(body))


# ----------------------------------------------------------------------------------------- forecast
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
    try:
        from oncotwin.case.calibratable import PARAMETERS
    except Exception:  # noqa: BLE001 - the units are a nicety; the report must not fail without them
        return {}
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
    bands = figure(figures.file_uri(png) if png.is_file() else None,
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
