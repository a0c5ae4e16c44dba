"""Figures of the report: PNG files as data URIs, tumour-volume curves and a view of the mesh."""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np

from oncotwin.io.figures import read_fields, tumour_centroid
from oncotwin.report.load import RunData

# a qualitative palette that stays distinguishable in print (Okabe-Ito)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
HOST_KINDS = ("normal",)


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def file_uri(path: Path) -> str | None:
    """The data URI of a PNG file, or None when it cannot be read."""
    try:
        return data_uri(Path(path).read_bytes())
    except OSError:
        return None


def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
                         "font.family": "DejaVu Sans"})
    return plt


def is_control(name: str, treatment: dict | None) -> bool:
    """Whether a regimen is the untreated control (by name or by an empty treatment)."""
    treatment = treatment or {}
    untreated = not (treatment.get("drugs") or treatment.get("radiotherapy") or treatment.get("antiangiogenic"))
    return name.lower() in ("control", "untreated", "no treatment") or (bool(treatment) and untreated)


def volume_curves(runs: list[RunData], controls: set[str], thresholds: dict | None = None) -> bytes | None:
    """Tumour volume against time of several runs on one plot (PNG bytes; None without volumes).

    Args:
        runs: the runs (regimens) to draw, in legend order.
        controls: names of the runs drawn dashed (untreated control).
        thresholds: ``partial_response_volume_change`` / ``progression_volume_change`` (fractions of the
            baseline volume of the first run), drawn as dotted reference lines when given.
    """
    curves = [(run, run.column("tumour_volume_mm3")) for run in runs]
    curves = [(run, v) for run, v in curves if v is not None and run.days]
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 4.2), constrained_layout=True)
    for i, (run, volume) in enumerate(curves):
        dashed = run.name in controls
        ax.plot(run.days, volume, color="#555555" if dashed else PALETTE[i % len(PALETTE)],
                linestyle="--" if dashed else "-", linewidth=2.0, marker="o" if len(volume) < 25 else None,
                markersize=3, label=run.name + (" (control)" if dashed and run.name != "control" else ""))
    _threshold_lines(ax, curves[0][1][0], thresholds)
    ax.set_xlabel("time since start of treatment [day]")
    ax.set_ylabel("tumour volume [mm³]")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=9, loc="best")
    return _figure_png(fig)


def _threshold_lines(ax, baseline: float, thresholds: dict | None) -> None:
    if not thresholds or not math.isfinite(baseline):
        return
    for key, label in (("partial_response_volume_change", "partial response"),
                       ("progression_volume_change", "progression")):
        change = thresholds.get(key)
        if isinstance(change, (int, float)):
            level = baseline * (1.0 + change)
            ax.axhline(level, color="#999999", linestyle=":", linewidth=1)
            ax.annotate(f"{label} ({change:+.0%})", (1.0, level), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=8, color="#666666")


def composition_curves(run: RunData) -> bytes | None:
    """Tumour, viable and necrotic volume (left) and resistant/hypoxic fractions (right) of one run."""
    volumes = [(k, lbl) for k, lbl in (("tumour_volume_mm3", "tumour (detectable)"),
                                        ("viable_volume_mm3", "viable"), ("necrotic_volume_mm3", "necrotic"))
               if run.column(k) is not None]
    fractions = [(k, lbl) for k, lbl in (("resistant_fraction", "resistant fraction of cells"),
                                          ("hypoxic_fraction", "hypoxic fraction of tumour"))
                 if run.column(k) is not None]
    if not volumes or not run.days:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if fractions else 1, figsize=(10, 3.8), constrained_layout=True,
                             squeeze=False)
    for ax, (series, ylabel) in zip(axes[0], ((volumes, "volume [mm³]"), (fractions, "fraction [–]")),
                                    strict=False):
        for i, (key, label) in enumerate(series):
            ax.plot(run.days, run.metrics[key], color=PALETTE[i], linewidth=2, label=label)
        ax.set_xlabel("time since start of treatment [day]")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9)
    return _figure_png(fig)


IMMUNE_PANELS = (("pd1_occupancy", "PD-1 occupancy [–]"),
                 ("immune_tumour_ratio", "effectors / tumour cells in the tumour [–]"),
                 ("tumour_volume_mm3", "tumour volume [mm³]"))


def immune_curves(runs: list[RunData], controls: set[str]) -> bytes | None:
    """PD-1 occupancy, immune/tumour ratio and tumour volume against time of the runs with the T-cell field
    (PNG bytes; None when no run has one)."""
    runs = [run for run in runs if run.column("pd1_occupancy") is not None and run.days]
    if not runs:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(IMMUNE_PANELS), figsize=(12, 3.8), constrained_layout=True)
    for ax, (key, ylabel) in zip(axes, IMMUNE_PANELS, strict=True):
        for i, run in enumerate(runs):
            values = run.column(key)
            if values is None:
                continue
            dashed = run.name in controls
            ax.plot(run.days, values, color="#555555" if dashed else PALETTE[i % len(PALETTE)],
                    linestyle="--" if dashed else "-", linewidth=2.0, label=run.name)
        ax.set_xlabel("time since start of treatment [day]")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=9, loc="best")
    return _figure_png(fig)


def region_names_by_tag(run: RunData) -> dict[int, str]:
    """Region tag -> name from ``summary.json`` (falls back to the resolved case's region order)."""
    regions = run.summary.get("regions")
    if isinstance(regions, dict) and regions:
        return {int(tag): str(name) for name, tag in regions.items()}
    return {i + 1: name for i, name in enumerate(run.case.get("regions") or {})}


def _region_kind(run: RunData, name: str) -> str:
    region = (run.case.get("regions") or {}).get(name) or {}
    if region.get("kind"):
        return str(region["kind"])
    return "tumour" if name in (run.summary.get("tumour_regions") or []) else "normal"


OPACITY = {"normal": 0.10, "edema": 0.25, "tumour": 0.55, "necrotic": 1.0}


def mesh_view(run: RunData, window: tuple[int, int] = (1300, 560)) -> bytes | None:
    """Regions' outer surfaces (host semi-transparent) and a mesh slice through the tumour (PNG bytes).

    Returns None when the run has no readable ``fields.pvd`` with a ``regions`` cell array.
    """
    try:
        import pyvista as pv
        from vtkmodules.vtkCommonCore import vtkLogger

        vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
        grid = read_fields(run.path)
    except Exception:  # noqa: BLE001 - a missing view must not stop the report
        return None
    if "regions" not in grid.cell_data or grid.n_cells == 0:
        return None
    tags = np.asarray(grid.cell_data["regions"]).astype(int)
    names = region_names_by_tag(run)
    present = [t for t in sorted(set(tags.tolist()))]
    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(present)}
    tumour_tags = [t for t in present if _region_kind(run, names.get(t, str(t))) != "normal"]
    centre = tumour_centroid(grid, tumour_tags or present)
    grid = grid.copy(deep=False)
    grid.cell_data.clear()
    grid.point_data.clear()
    grid.cell_data["regions"] = tags
    plotter = pv.Plotter(shape=(1, 2), off_screen=True, window_size=window, border=False)
    plotter.set_background("white")
    _surfaces(plotter, grid, tags, present, names, colours, run)
    plotter.subplot(0, 1)
    _slice(plotter, grid, present, names, colours, centre)
    png = plotter.screenshot(return_img=True)
    plotter.close()
    return _array_png(png)


def _surfaces(plotter, grid, tags, present, names, colours, run) -> None:
    plotter.subplot(0, 0)
    host = [t for t in present if _region_kind(run, names.get(t, str(t))) == "normal"]
    if host:
        plotter.add_mesh(grid.extract_surface(algorithm=None), color="#bbbbbb", opacity=OPACITY["normal"],
                         smooth_shading=True)
    for tag in present:
        if tag in host:
            continue
        kind = _region_kind(run, names.get(tag, str(tag)))
        surface = grid.extract_cells(tags == tag).extract_surface(algorithm=None)
        plotter.add_mesh(surface, color=colours[tag], opacity=OPACITY.get(kind, 0.6), smooth_shading=True)
    entries = [[names.get(t, str(t)) + (" (host)" if t in host else ""), colours[t]] for t in present]
    plotter.add_legend(labels=entries, bcolor="white", face="rectangle", size=(0.3, 0.06 * len(entries) + 0.04),
                       loc="upper left")
    plotter.add_text("region surfaces (host semi-transparent)", font_size=9, color="black",
                     position="lower_left")
    plotter.view_isometric()
    plotter.reset_camera()


def _slice(plotter, grid, present, names, colours, centre) -> None:
    from matplotlib.colors import ListedColormap

    section = grid.slice(normal="z", origin=centre)
    if section.n_cells == 0:
        return
    index = np.searchsorted(present, np.asarray(section.cell_data["regions"]).astype(int))
    section.cell_data["region_index"] = index.astype(float)
    cmap = ListedColormap([colours[t] for t in present])
    plotter.add_mesh(section, scalars="region_index", cmap=cmap, clim=(-0.5, len(present) - 0.5),
                     show_edges=True, edge_color="#333333", line_width=0.5, show_scalar_bar=False,
                     lighting=False)
    plotter.add_text(f"axial slice z = {centre[2]:.0f} mm through the tumour, mesh edges", font_size=9,
                     color="black", position="lower_left")
    plotter.view_xy()
    plotter.enable_parallel_projection()
    plotter.reset_camera()


def _array_png(image: np.ndarray) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    plt.imsave(buffer, image, format="png")
    return buffer.getvalue()
