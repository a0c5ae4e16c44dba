"""Sample output fields at world coordinates (mm) and times, e.g. needle IFP measurements or biopsies.

Reads the run's VTK XML series with VTK's own readers, so it works on any run folder without DOLFINx.
Points outside the mesh are reported as empty values, with a warning.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.core.log import get_logger
from oncotwin.core.safe_yaml import decode_utf8, read_limited

log = get_logger("probe")
MAX_POINTS_BYTES = 50_000_000  # a million points with names; a larger file is a mistake (or /dev/zero)
#: A point counts as in a cell within this distance (mm). VTK's default (relative to the piece's size) can
#: take a neighbouring cell the point is just outside of and extrapolate its linear field (~1e-3 off).
LOCATE_TOLERANCE_MM = 1e-6


def read_points(path: Path) -> tuple[list[str], np.ndarray]:
    """Points from a CSV with columns x, y, z (mm) and optionally a first column 'name'.

    The file is read within a size limit (:data:`MAX_POINTS_BYTES`) and must be UTF-8 text; every
    coordinate must be a finite number.
    """
    try:
        data = read_limited(path, "points file", MAX_POINTS_BYTES)
        text = decode_utf8(data, str(path), "points file")
    except CaseError as exc:
        raise InputDataError(str(exc)) from None
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or not {"x", "y", "z"} <= set(rows[0]):
        raise InputDataError(f"{path}: expected a CSV header with columns x,y,z (mm) and optionally name")
    names, coords = [], []
    for i, row in enumerate(rows, start=2):
        try:
            point = [float(row["x"]), float(row["y"]), float(row["z"])]
        except (TypeError, ValueError):
            raise InputDataError(f"{path}:{i}: x, y, z must be numbers (mm), got {row}") from None
        if not all(math.isfinite(c) for c in point):
            raise InputDataError(f"{path}:{i}: x, y, z must be finite numbers (mm), got {point}")
        coords.append(point)
        names.append(row.get("name") or f"p{i - 1}")
    return names, np.asarray(coords)


def probe(run_dir: Path, field: str, points: np.ndarray, times: list[float] | None = None):
    """Values of ``field`` at ``points`` for each requested output time (default: all).

    Returns:
        (times, values) with values of shape (n_times, n_points[, n_components]); NaN outside the mesh.
    """
    import pyvista as pv

    if not (Path(run_dir) / "fields.pvd").is_file():
        raise InputDataError(f"{run_dir}: not a run folder (fields.pvd expected)")
    reader = pv.get_reader(str(Path(run_dir) / "fields.pvd"))
    available = list(reader.time_values)
    wanted = available if times is None else times
    missing = [t for t in wanted if not any(abs(t - a) <= 1e-6 * max(1.0, abs(a)) for a in available)]
    if missing:
        raise InputDataError(f"{run_dir}: no output at time {missing[0]:g} s; output times are "
                             f"{', '.join(f'{a:g}' for a in available)} s")
    cloud = pv.PolyData(np.asarray(points, dtype=float))
    results = []
    for t in wanted:
        reader.set_active_time_value(t)
        data = reader.read()
        blocks = list(data) if isinstance(data, pv.MultiBlock) else [data]
        if field not in blocks[0].point_data:
            known = sorted(n for n in blocks[0].point_data if not n.startswith("vtk"))
            raise InputDataError(f"{run_dir}: no field {field!r}; fields: {', '.join(known)}")
        values = None
        for block in blocks:  # each rank's piece on its own: no merging needed
            sampled = cloud.sample(block, tolerance=LOCATE_TOLERANCE_MM)
            valid = np.asarray(sampled["vtkValidPointMask"], dtype=bool)
            piece = np.asarray(sampled[field], dtype=float)
            if values is None:
                values = np.full(piece.shape, np.nan)
            values[valid] = piece[valid]
        results.append(values)
    stacked = np.stack(results)
    outside = int(np.isnan(stacked.reshape(len(wanted), len(points), -1)[0, :, 0]).sum()) if len(points) else 0
    if outside:
        log.warning("%d of %d points lie outside the mesh: their values are left empty", outside, len(points))
    return wanted, stacked


def write_probe_csv(out, names: list[str], points: np.ndarray, field: str, times, values) -> None:
    """CSV with one row per point and time: name, x, y, z, time_s, value(s)."""
    writer = csv.writer(out)
    components = values.shape[2] if values.ndim == 3 else 0
    header = ["name", "x", "y", "z", "time_s"] + (
        [f"{field}_{c}" for c in "xyz"[:components]] if components else [field])
    writer.writerow(header)
    for k, t in enumerate(times):
        for i, name in enumerate(names):
            value = values[k, i]
            cells = [f"{v:.10g}" if np.isfinite(v) else "" for v in np.atleast_1d(value)]
            writer.writerow([name, *[f"{c:g}" for c in points[i]], f"{t:g}", *cells])
