"""The report page of a calibration folder (``oncotwin calibrate``, recognised by its ``calibration.json``).

It reuses the look of the run and comparison reports: one self-contained HTML document with inline CSS
and images as data URIs, no JavaScript, no network. Everything is read from the folder's JSON and CSV
files; nothing is simulated.
"""

from __future__ import annotations

import html
import math
import statistics
from pathlib import Path

import numpy as np

from oncotwin.report.clinical import fmt
from oncotwin.report.figures import file_uri
from oncotwin.report.load import number, read_json
from oncotwin.report.markup import esc, figure
from oncotwin.report.numbers import label, sig, unit_words, value_range
from oncotwin.report.pages.calibration_fit import correlation_table, observation_table, path_summary, path_table
from oncotwin.report.shell import footer, page, title_block
from oncotwin.report.tables import header_cell, kv_table, table, text_cell

# a parameter is "barely informed by the data" when its posterior is nearly as wide as its prior
WEAKLY_INFORMED = 0.8


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
    fit = figure(file_uri(folder / "fit.png") if (folder / "fit.png").is_file() else None,
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
