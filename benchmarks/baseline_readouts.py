"""Benchmark: do the baseline imaging readouts reproduce the segmentations they were built from (issue 17)?

Run (from the repository root; needs ``../shared/data``)::

    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/baseline_readouts.py [--out results/baseline_readouts]
        [--cases brats,lung,breast,hnts] [--mesh-dir DIR]

For every shared case (BraTS pat0001, the lung crop, the breast lesion, the five HNTS-MRG pre-RT GTVp
masks) the case is meshed, the growth problem built at t = 0 and each readout compared with the voxels of
the labels it was built from: the readout volume on the mesh (quadrature of the level set), the volume of
the readout rasterised onto the label grid, and the voxel Dice. Readouts: total tumour (all cells at or
above the detection threshold; built from every tumour and necrotic label, and edema when there is no
FLAIR readout), enhancing (viable cells at or above the T1c threshold; built from the enhancing label) and
FLAIR (all cells at or above the FLAIR threshold; built from every lesion label, edema included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.core.parallel import on_root

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import hnts_response  # noqa: E402
from common import machine_note  # noqa: E402

DATA = REPO.parent / "shared" / "data"
HNTS_MARGIN_MM = 10.0  # the default of hnts_response.py --margin


def case_files(folder: Path, names: list[str]) -> dict[str, tuple[Path, dict[str, list[int]]]]:
    """Case files to check and, per readout, the labels it was built from."""
    out = {}
    if "brats" in names:
        # BraTS: enhancing (4) at the T1c edge, the whole lesion (1-4) at the FLAIR edge; total = FLAIR here
        out["brats2013_pat0001"] = (REPO / "cases" / "brats2013_pat0001.yaml",
                                    {"enhancing": [4], "flair": [1, 2, 3, 4], "tumour": [1, 2, 3, 4]})
    if "lung" in names:
        out["lung1_001"] = (REPO / "cases" / "lung1_001_platinum_doublet.yaml", {"tumour": [4]})
    if "breast" in names:
        data = {"name": "breast1", "geometry": {"kind": "segmentation",
                                                "labels": str(DATA / "breast1_nrrd" / "breast1_label.nrrd"),
                                                "regions": {"tumour": [1]}, "host_region": "host"},
                "mesh": {"size_tumour": "0.5 mm", "size_far": "3 mm", "margin": "6 mm"},  # a 5 mm lesion
                "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
                "physics": {"growth": {"enabled": True}}, "time": {"end": "1 day"}}
        path = folder / "breast1.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        out["breast1"] = (path, {"tumour": [1]})
    if "hnts" in names:
        for patient in (*hnts_response.TRAIN, *hnts_response.TEST):
            pre, _ = hnts_response.masks(hnts_response.DATA, patient)
            data = hnts_response.case_data(patient, pre, hnts_response.gtvp_volume_cm3(pre),
                                           {"size_tumour": None, "margin": HNTS_MARGIN_MM}, 1)
            data.pop("calibration")
            path = folder / f"hnts_{patient}.yaml"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            out[f"hnts_{patient}"] = (path, {"tumour": [hnts_response.GTVP]})
    return out


def check(comm: MPI.Comm, case_file: Path, built_from: dict[str, list[int]], mesh_root: Path) -> dict:
    """Readout volumes and Dice at t = 0 for one case."""
    from oncotwin.case import load_case
    from oncotwin.imaging.images import read_label_map
    from oncotwin.io.raster import rasterise_density
    from oncotwin.mesh.cache import ensure_mesh
    from oncotwin.mesh.distribute import read_tagged_mesh
    from oncotwin.model.tumour_problems import create_growth_problem

    case, _ = load_case(comm, case_file)
    start = time.perf_counter()
    folder, _ = ensure_mesh(comm, case, mesh_root)
    tmesh = read_tagged_mesh(comm, folder)
    growth, _ = create_growth_problem(case, tmesh)
    metrics = growth.metrics()
    labels = read_label_map(case.geometry.labels, "geometry.labels")
    g = case.physics.growth
    thresholds = {"tumour": g.detection_threshold, "enhancing": g.enhancing_threshold, "flair": g.flair_threshold}
    fields = {"tumour": growth.occupied(), "enhancing": growth.viable.x.array + growth.doomed.x.array,
              "flair": growth.occupied()}
    u = dolfinx.fem.Function(growth.V)
    out = {"cells": tmesh.mesh.topology.index_map(3).size_global, "seconds": round(time.perf_counter() - start, 1)}
    for name, values in built_from.items():
        u.x.array[:] = fields[name]
        grid = rasterise_density(u, labels.array.shape, labels.affine)
        if comm.rank == 0:
            segmented = np.isin(labels.array, values)
            seen = grid >= thresholds[name]
            reference = float(segmented.sum() * labels.voxel_volume)
            mesh_volume = metrics[f"{name}_volume_mm3"]
            both = int((seen & segmented).sum())
            out[name] = {"segmented_mm3": reference, "mesh_mm3": mesh_volume,
                         "rasterised_mm3": float(seen.sum() * labels.voxel_volume),
                         "mesh_error": mesh_volume / reference - 1,
                         "dice": 2 * both / (int(seen.sum()) + int(segmented.sum()))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "baseline_readouts")
    parser.add_argument("--cases", default="brats,lung,breast,hnts")
    parser.add_argument("--mesh-dir", type=Path, default=None)
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(comm.bcast(tmp if comm.rank == 0 else None, root=0))
        mesh_root = args.mesh_dir or folder / "meshes"
        files = on_root(comm, case_files, folder, args.cases.split(","))  # a rank-0 error stops every rank
        results = {name: check(comm, path, built, mesh_root) for name, (path, built) in files.items()}
    if comm.rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {"machine": machine_note(), "ranks": comm.size, "cases": results}
        (args.out / "baseline_readouts.json").write_text(json.dumps(payload, indent=1))
        for name, r in results.items():
            for readout, v in r.items():
                if isinstance(v, dict):
                    print(f"{name:20s} {readout:10s} segmented {v['segmented_mm3'] / 1e3:8.3f} cm3  mesh "
                          f"{v['mesh_error']:+.2%}  raster {v['rasterised_mm3'] / v['segmented_mm3'] - 1:+.2%}  "
                          f"Dice {v['dice']:.3f}  ({r['cells']} cells)")


if __name__ == "__main__":
    main()
