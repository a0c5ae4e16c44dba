"""Figures with PyVista, off-screen, from the files a run wrote (so ``oncotwin render`` can redo them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from oncotwin.io.background import load_background, sample_plane, view_window

FIELD_LABELS = {
    "pressure_mmHg": "interstitial fluid pressure [mmHg]",
    "velocity_um_per_s": "interstitial velocity [um/s]",
    "fluid_source_per_s": "net fluid source [1/s]",
    "tumour_cells": "viable tumour cells [fraction of capacity]",
    "resistant_cells": "resistant clone [fraction of capacity]",
    "necrotic_cells": "necrotic (dead) cells [fraction of capacity]",
    "oxygen_mmHg": "oxygen pO2 [mmHg]",
    "displacement_mm": "displacement [mm]",
    "von_mises_mmHg": "von Mises stress [mmHg]",
    "effector_density": "effector T cells [cells/mm³]",
}


def label_of(name: str) -> str:
    """Colour-bar title of a field (unit from its name suffix)."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    for suffix, unit in (("_auc_mg_h_per_L", "AUC [mg h/L]"), ("_cmax_mg_per_L", "Cmax [mg/L]"),
                         ("_mg_per_L", "concentration [mg/L]")):
        if name.endswith(suffix):
            return f"{name[: -len(suffix)]} {unit}"
    return name.replace("_", " ")


def read_fields(run_dir: Path):
    """The run's fields at its last output time as one PyVista mesh, read with VTK's XML readers."""
    import pyvista as pv

    reader = pv.get_reader(str(Path(run_dir) / "fields.pvd"))
    if reader.time_values:
        reader.set_active_time_value(reader.time_values[-1])
    data = reader.read()
    blocks = list(data) if isinstance(data, pv.MultiBlock) else [data]
    pieces = []
    for block in blocks:  # drop ghost cells: each cell once, owned by one rank's piece
        if "vtkGhostType" in block.cell_data:
            block = block.extract_cells(block.cell_data["vtkGhostType"] == 0)
        pieces.append(block)
    grid = pieces[0] if len(pieces) == 1 else pv.MultiBlock(pieces).combine(merge_points=True)
    for name in ("vtkGhostType", "vtkOriginalCellIds", "vtkOriginalPointIds"):
        for data_ in (grid.cell_data, grid.point_data):
            if name in data_:
                del data_[name]
    return grid


def tumour_centroid(grid, tumour_tags: list[int]) -> np.ndarray:
    """Volume-weighted centroid of the tumour cells (falls back to the mesh centre)."""
    if "regions" not in grid.cell_data or not tumour_tags:
        return np.asarray(grid.center)
    tumour = grid.extract_cells(np.isin(grid.cell_data["regions"], tumour_tags))
    if tumour.n_cells == 0:
        return np.asarray(grid.center)
    sizes = tumour.compute_cell_sizes(length=False, area=False, volume=True)
    centres = sizes.cell_centers().points
    weights = np.abs(sizes.cell_data["Volume"])
    return (centres * weights[:, None]).sum(axis=0) / weights.sum()


def render_run(run_dir: Path, background: bool = True, geometry: dict | None = None,
               share: tuple[int, int] = (0, 1)) -> list[Path]:
    """Orthogonal slices through the tumour centroid of every scalar field (and |velocity|).

    Args:
        run_dir: the run folder (``fields.pvd``, ``summary.json``, ``metrics.csv``, ``manifest.json``).
        background: draw the case's scan in grey under the fields (see :mod:`oncotwin.io.background`);
            figures are drawn without it when the scan is missing or unreadable.
        geometry: the resolved case's ``geometry`` section; default: read from ``manifest.json``.
        share: ``(k, n)``: draw every n-th figure from the k-th (the curves with k = 0), so that n
            processes draw all figures once, each into its own files.

    Returns:
        The PNG files written into ``run_dir/figures`` (by this share).
    """
    import pyvista as pv
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)  # no "bad X server" noise off-screen
    pv.OFF_SCREEN = True
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    tags = [summary["regions"][n] for n in summary.get("tumour_regions", []) if n in summary["regions"]]
    grid = read_fields(run_dir)
    centre = tumour_centroid(grid, tags)
    outline = None
    if "regions" in grid.cell_data and tags:
        grid.cell_data["tumour_indicator"] = np.isin(grid.cell_data["regions"], tags).astype(float)
        outline = "tumour_indicator"
    anatomy = background_planes(run_dir, grid, centre, geometry) if background else None
    out = run_dir / "figures"
    out.mkdir(exist_ok=True)
    index, count = share
    written = [p for p in [tumour_curves(run_dir, out)] if p is not None] if index == 0 else []
    names = [n for n in grid.point_data if n != "regions"] + [n for n in grid.cell_data if n in FIELD_LABELS]
    for name in names[index::count]:
        values = grid[name]
        scalars = name
        if values.ndim == 2:
            scalars = f"|{name}|"
            grid[scalars] = np.linalg.norm(values, axis=1)
        written.append(_slices(grid, scalars, centre, label_of(name), out / f"{name}_slices.png",
                               summary.get("case", ""), outline, anatomy))
    return written


# slice normal, pyvista view, name, direction from the slice plane towards the camera of that view
VIEWS = (("x", "yz", "sagittal", 1.0), ("y", "xz", "coronal", -1.0), ("z", "xy", "axial", 1.0))
VIEW_MARGIN = 0.2  # of the field mesh's largest extent, around it in every view with a background


def case_geometry(run_dir: Path) -> dict | None:
    """The resolved case's geometry section from ``manifest.json`` (None without a readable manifest)."""
    try:
        manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
        return manifest["resolved_case"]["geometry"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def background_planes(run_dir: Path, grid, centre, geometry: dict | None = None):
    """The case's scan sampled on the three slice planes, each just behind the field slice.

    Returns:
        ``(planes, clim)``: one ``pv.ImageData`` per entry of :data:`VIEWS` covering the field mesh plus
        :data:`VIEW_MARGIN`, and the grey-level range; None without a readable background image.
    """
    scan = load_background(case_geometry(run_dir) if geometry is None else geometry, base=Path(run_dir))
    if scan is None:
        return None
    planes = []
    for normal, _, _, towards_camera in VIEWS:
        window = view_window(grid.bounds, normal, VIEW_MARGIN)
        behind = -towards_camera * 1e-3 * max(hi - lo for lo, hi in window)
        planes.append(sample_plane(scan, normal, centre, window, offset=behind))
    return planes, scan.clim


CURVES = (
    ("tumour burden [mm^3]", ("tumour_volume_mm3", "viable_volume_mm3", "necrotic_volume_mm3")),
    ("fraction [-]", ("resistant_fraction", "hypoxic_fraction")),
)


def tumour_curves(run_dir: Path, out: Path) -> Path | None:
    """Tumour volume (and composition) over time from ``metrics.csv``; None without growth metrics."""
    import csv

    with open(run_dir / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "tumour_cells" not in rows[0]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [float(r["time_day"]) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, (ylabel, keys) in zip(axes, CURVES, strict=True):
        for key in keys:
            if key in rows[0]:
                ax.plot(days, [float(r[key]) if r[key] else float("nan") for r in rows], label=key, marker=".")
        ax.set_xlabel("time [day]")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(json.loads((run_dir / "summary.json").read_text()).get("case", ""))
    path = out / "tumour_volume.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _slices(grid, scalars: str, centre, label: str, path: Path, title: str, outline=None,
            anatomy=None) -> Path:
    import pyvista as pv

    plotter = pv.Plotter(shape=(1, 3), off_screen=True, window_size=(1500, 560), border=False)
    clim = [float(np.nanmin(grid[scalars])), float(np.nanmax(grid[scalars]))]
    for i, (normal, view, name, _) in enumerate(VIEWS):
        plotter.subplot(0, i)
        if anatomy is not None:
            planes, grey = anatomy
            plotter.add_mesh(planes[i], scalars="background", cmap="gray", clim=grey, nan_color="black",
                             show_scalar_bar=False, lighting=False)
        section = grid.slice(normal=normal, origin=centre)
        if section.n_points:
            bar = {"title": label, "vertical": False, "position_x": 0.15, "position_y": 0.03, "width": 0.7,
                   "title_font_size": 16, "label_font_size": 13, "fmt": "%.3g"}
            plotter.add_mesh(section, scalars=scalars, cmap="viridis", clim=clim, show_edges=False,
                             scalar_bar_args=bar if i == 1 else None, show_scalar_bar=(i == 1))
            if outline is not None:  # tumour boundary: the 0.5 level of the smoothed tumour indicator
                contour = section.cell_data_to_point_data().contour([0.5], scalars=outline)
                if contour.n_points:
                    plotter.add_mesh(contour, color="white", line_width=2)
        plotter.add_text(f"{name} through tumour centroid (white: tumour boundary)", font_size=8)
        getattr(plotter, f"view_{view}")()
        plotter.enable_parallel_projection()
        plotter.reset_camera()  # fits the background plane (field mesh plus margin) when there is one
    plotter.add_text(title, position="upper_right", font_size=9)
    plotter.screenshot(str(path))
    plotter.close()
    return path
