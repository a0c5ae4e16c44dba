"""The page shell of the report: the HTML document, the title block and the provenance footer."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from oncotwin import __version__
from oncotwin.report.load import RunData
from oncotwin.report.markup import esc
from oncotwin.report.style import CSS
from oncotwin.report.tables import header_cell, table, value_cell


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


def provenance_footer(manifest: dict, runs: dict[str, RunData]) -> str:
    """oncotwin and package versions, MPI ranks and stage timings."""
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
            rows.append(f"<tr><td>{esc(name)}</td>" + "".join(value_cell(v) for v in seconds) + value_cell(total)
                        + "</tr>")
        parts.append("<p>Wall time of the simulation stages:</p>" + table(headers, rows))
    parts.append("</footer>")
    return "".join(parts)


def footer(folder: Path, manifest: dict, kind: str) -> str:
    """The provenance footer of a calibration or forecast folder, with the folder's stage timings."""
    return provenance_footer(manifest, {kind: RunData(path=folder, name=kind, manifest=manifest)})
