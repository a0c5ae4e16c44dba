"""Benchmark: mesh the BraTS 2013 patient 0001 segmentation and report time, sizes, accuracy, quality.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/mesh_brats.py [size_tumour_mm]`` (needs ../shared/data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gmsh
import numpy as np

from oncotwin.case.schema import Case
from oncotwin.imaging import images
from oncotwin.mesh.generate import model_tets
from oncotwin.mesh.job import mesh_job
from oncotwin.mesh.quality import radius_ratio, tet_quality
from oncotwin.mesh.segmentation import build_segmentation_mesh

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "brats2013_pat0001"


def main(size_tumour: float = 2.0) -> None:
    """Mesh, then print the numbers."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.mesh.helpers import dice, rasterise

    case = Case.model_validate({
        "name": "brats_benchmark",
        "mesh": {"size_tumour": f"{size_tumour} mm", "size_far": "6 mm", "margin": "15 mm"},
        "regions": {"necrotic": {"kind": "necrotic"}, "edema": {"kind": "edema"},
                    "non_enhancing": {"kind": "tumour"}, "enhancing": {"kind": "tumour"}, "host": {"kind": "normal"}},
        "geometry": {"kind": "segmentation", "labels": str(DATA / "OTMultiClass.nii.gz"),
                     "tissue_mask": str(DATA / "brainmask.nii.gz"), "label_preset": "brats2013"}})
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(case.name)
    start = time.perf_counter()
    job = mesh_job(case)
    frame = build_segmentation_mesh(job.name, job.geometry, job.options, job.regions,
                                    lambda m: print(f"[{time.perf_counter() - start:7.1f} s] {m}"))
    elapsed = time.perf_counter() - start
    points, tets, tags = model_tets()
    gmsh.finalize()
    report = tet_quality(points, tets, tags)
    voxel_volume = float(np.prod(frame["spacing"]))
    print(f"meshing time {elapsed:.1f} s, {report['cells']} cells, {len(points)} nodes")
    for name, tag in case.region_tags().items():
        voxels = frame["voxels_per_tag"][tag] * voxel_volume
        meshed = report["volume_per_tag"].get(tag, 0.0)
        print(f"  {name:14s} tag {tag}: {report['cells_per_tag'].get(tag, 0):8d} cells, volume {meshed:10.1f} mm^3"
              f" vs voxels {voxels:10.1f} mm^3 ({100 * (meshed / voxels - 1):+.2f} %)")
    tumour = [case.region_tags()[n] for n in case.tumour_regions()]
    labels = images.read_label_map(DATA / "OTMultiClass.nii.gz", "geometry.labels").array
    raster = rasterise(points, tets, tags, frame)
    print(f"Dice tumour (mesh rasterised vs labels 1,3,4): {dice(np.isin(raster, tumour), np.isin(labels, [1, 3, 4])):.4f}")
    print(f"radius ratio min {report['min_radius_ratio']:.4f} mean {report['mean_radius_ratio']:.4f}; dihedral "
          f"min {report['min_dihedral_deg']:.2f} deg max {report['max_dihedral_deg']:.2f} deg; "
          f"inverted {report['inverted']}")
    ratio = radius_ratio(points, tets)
    print(f"cells with radius ratio < 0.05: {int(np.sum(ratio < 0.05))}, < 0.01: {int(np.sum(ratio < 0.01))}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
