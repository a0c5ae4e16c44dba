"""The report page of a tumour-size series folder (``oncotwin series fit|forecast``, its ``series.json``).

One self-contained HTML document read from the folder's CSV and JSON files: the model, per patient the
RECIST categories at every scan, the week-8 change (the TGI metric) and the figure of the fitted and
forecast volumes with their band; then the fitted parameters with their Laplace intervals.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from oncotwin.report.clinical import fmt
from oncotwin.report.figures import file_uri
from oncotwin.report.load import number, read_csv, read_json
from oncotwin.report.markup import badge, esc, figure
from oncotwin.report.numbers import signed
from oncotwin.report.shell import footer, page, title_block
from oncotwin.report.tables import header_cell, kv_table, num_cell, table, text_cell

FIGURES = "figures"


def figure_name(patient: str) -> str:
    """The PNG file name of a patient's figure (the table's id, reduced to safe characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", patient)[:80] + ".png"


def patient_figure(rows: list[dict]) -> bytes:
    """Observed volumes, model curve and 90 % band of one patient's lesions (PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for lesion in dict.fromkeys(r["lesion"] for r in rows):
        mine = [r for r in rows if r["lesion"] == lesion]
        day = [float(r["day"]) for r in mine]
        ax.fill_between(day, [float(r["p5_mm3"]) / 1e3 for r in mine], [float(r["p95_mm3"]) / 1e3 for r in mine],
                        alpha=0.2)
        line, = ax.plot(day, [float(r["model_volume_mm3"]) / 1e3 for r in mine], label=f"lesion {lesion}")
        seen = [(float(r["day"]), float(r["observed_volume_mm3"]) / 1e3) for r in mine if r["observed_volume_mm3"]]
        ax.plot(*zip(*seen, strict=True), "o", color=line.get_color())
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("day (0 = treatment start)")
    ax.set_ylabel("volume [cm³]")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _recist_cells(scans: list[dict]) -> str:
    return " ".join(f"{esc(fmt(number(s['day'])))}: {badge(s['category']) if s['category'] != 'baseline' else 'baseline'}"
                    for s in scans)


def _patient_section(folder: Path, patient: str, scans: list[dict], tgi: dict | None) -> str:
    change = number(tgi.get("week8_change")) if tgi else None
    p5, p95 = (number(tgi.get(k)) if tgi else None for k in ("week8_change_p5", "week8_change_p95"))
    observed = number(tgi.get("observed_week8_change")) if tgi else None
    words = (f"model week-8 change of the sum of diameters {signed(None if change is None else 100 * change)}"
             + (f" (90 % band {signed(100 * p5)} to {signed(100 * p95)})" if p5 is not None and p95 is not None
                else "")
             + (f"; measured {signed(100 * observed)}" if observed is not None else ""))
    uri = file_uri(folder / FIGURES / figure_name(patient))
    return (f"<section><h3>{esc(patient)}</h3><p>RECIST 1.1 at each scan: {_recist_cells(scans)}</p>"
            f"<p>{esc(words)}.</p>{figure(uri, esc('Volumes: dots measured, line the fitted model, band 5-95 %'), patient)}"
            "</section>")


def _parameter_table(rows: list[dict]) -> str:
    headers = [header_cell("patient"), header_cell("lesion"), header_cell("parameter"), header_cell("value", None, True),
               header_cell("95 % interval", None, True), header_cell("unit")]
    body = [f"<tr>{text_cell(r['patient'], False)}{text_cell(r['lesion'], False)}{text_cell(r['parameter'], False)}"
            f"{num_cell(r['value'])}{text_cell(fmt(number(r['lower_95'])) + ' – ' + fmt(number(r['upper_95'])))}"
            f"{text_cell(r['unit'], False)}</tr>" for r in rows]
    return table(headers, body)


def series_page(folder: Path) -> str:
    """The HTML page of a series folder."""
    folder = Path(folder)
    info, manifest = read_json(folder / "series.json"), read_json(folder / "manifest.json")
    recist, forecast = read_csv(folder / "recist.csv"), read_csv(folder / "forecast.csv")
    tgi = {t["patient"]: t for t in read_csv(folder / "tgi.csv")}
    patients = list(dict.fromkeys(r["patient"] for r in forecast))
    last = {p: [s for s in recist if s["patient"] == p][-1]["category"] for p in patients
            if any(s["patient"] == p for s in recist)}
    counts = {c: sum(1 for v in last.values() if v == c) for c in ("CR", "PR", "SD", "PD")}
    bottom = (f"{len(patients)} patient(s), {info.get('lesions', '?')} lesion(s) fitted with "
              f"<b>{esc(info.get('model', '?'))}</b>{' under the population prior' if info.get('population_prior') else ''}; "
              f"RECIST 1.1 at the last scan: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    rows = [("model", f"{info.get('model', '?')}: {info.get('description', '')}"), ("table", info.get("table", "")),
            ("population prior", "yes (empirical Bayes)" if info.get("population_prior") else "no"),
            ("forecast until", f"day {fmt(number(info.get('forecast_until_day')))}")]
    sections = "".join(_patient_section(folder, p, [s for s in recist if s["patient"] == p], tgi.get(p))
                       for p in patients)
    note = ('<p class="note">Bands are the 5-95 % range of the model over the Laplace posterior of the fitted '
            "parameters: parameter uncertainty only, not model error or measurement error of future scans. "
            "RECIST 1.1 uses the sum of the longest diameters of the table's lesions (target lesions only; no "
            "confirmation scans, no non-target or new lesions).</p>")
    body = (title_block("tumour-size series", info.get("model", "series"), manifest, bottom) + kv_table(rows) + note
            + "<h2>Patients</h2>" + sections + "<h2>Fitted parameters</h2>"
            + _parameter_table(read_csv(folder / "parameters.csv")) + footer(folder, manifest, "series"))
    return page(f"oncotwin series: {info.get('model', '')}", body)
