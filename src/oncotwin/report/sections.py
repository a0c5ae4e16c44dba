"""Sections shared by the run and comparison reports: the case and the segmentation/mesh view."""

from __future__ import annotations

from oncotwin.report.clinical import geometry_words, patient_rows, treatment_summary
from oncotwin.report.figures import data_uri, mesh_view
from oncotwin.report.load import RunData
from oncotwin.report.markup import esc, figure
from oncotwin.report.tables import header_cell, kv_table, table


def case_section(run: RunData, treatment_words: bool) -> str:
    """Section 1: description, patient covariates, geometry, input files, mesh and time."""
    case = run.case
    parts = ["<section><h2>1. The case</h2>"]
    if case.get("description"):
        parts.append(f"<p>{esc(case['description'].strip())}</p>")
    patient = patient_rows((case.get("treatment") or {}).get("patient"))
    if patient:
        parts.append("<h3>Patient covariates</h3>" + kv_table(patient))
    rows = [("Geometry", geometry_words(case.get("geometry")))]
    if treatment_words:
        rows.append(("Treatment", treatment_summary(case.get("treatment"))))
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
    png = mesh_view(run)
    if png is None:
        return ('<section><h2>2. Segmentation and mesh</h2><p class="note">No field file with region tags '
                "(fields.pvd) was found; the mesh view is omitted.</p></section>")
    caption = ("<b>Segmentation and mesh.</b> Left: outer surfaces of the regions, host tissue "
               "semi-transparent. Right: axial section through the tumour centroid coloured by region, with "
               "the edges of the cut tetrahedra (mesh resolution).")
    return f"<section><h2>2. Segmentation and mesh</h2>{figure(data_uri(png), caption, 'mesh view')}</section>"
