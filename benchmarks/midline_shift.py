"""Midline-shift proxy of a glioma run (issue 23): the lateral displacement on the brain's mid-sagittal plane.

The plane is x = the brain mask's centroid (RAS world mm; for BraTS pat0001 the mask is symmetric about the
falx to within a few mm). Reported per run folder at its last output: the largest |u_x| over the mesh nodes
within ``--slab`` mm of the plane (None when the mesh does not reach the plane, as a 15 mm crop), the
largest |u| anywhere, and the run's ``host_displacement_max_mm``.

Usage: ``python benchmarks/midline_shift.py BRAIN_MASK RUN_DIR [RUN_DIR ...] [--slab 2]``.
"""

from __future__ import annotations

import csv
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nibabel as nib
import numpy as np
import pyvista as pv


def midline_x(mask_path: Path) -> float:
    image = nib.load(str(mask_path))
    voxels = np.argwhere(np.asanyarray(image.dataobj) > 0)
    return float((image.affine[:3, :3] @ voxels.mean(axis=0) + image.affine[:3, 3])[0])


def last_fields(run: Path) -> tuple[float, pv.DataSet]:
    datasets = ET.parse(run / "fields.pvd").getroot().iter("DataSet")
    last = max(datasets, key=lambda d: float(d.get("timestep")))
    return float(last.get("timestep")) / 86400.0, pv.read(run / last.get("file"))


def shift(run: Path, x_mid: float, slab: float) -> dict:
    day, mesh = last_fields(run)
    u = np.asarray(mesh.point_data["displacement_mm"])
    near = np.abs(np.asarray(mesh.points)[:, 0] - x_mid) < slab
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    return {"run": str(run), "day": round(day, 2), "nodes": int(mesh.n_points), "cells": int(mesh.n_cells),
            "midline_nodes": int(near.sum()),
            "midline_shift_mm": round(float(np.abs(u[near, 0]).max()), 4) if near.any() else None,
            "displacement_max_mm": round(float(np.linalg.norm(u, axis=1).max()), 4),
            "host_displacement_max_mm": round(float(rows[-1]["host_displacement_max_mm"]), 4)}


def main(argv: list[str]) -> int:
    slab = float(argv[argv.index("--slab") + 1]) if "--slab" in argv else 2.0
    paths = [a for i, a in enumerate(argv) if a != "--slab" and (i == 0 or argv[i - 1] != "--slab")]
    x_mid = midline_x(Path(paths[0]))
    results = {"midline_x_mm": round(x_mid, 2), "slab_mm": slab,
               "runs": [shift(Path(run), x_mid, slab) for run in paths[1:]]}
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
