"""Peak resident memory of a coupled run, per rank and per million dofs.

Usage (from the repository root)::

    .venv/bin/python benchmarks/memory.py                          # cases/mni152_demo.yaml on 2 ranks
    .venv/bin/python benchmarks/memory.py --ranks 1 --case cases/sphere_baxter_jain.yaml --json mem.json

Runs ``mpirun -n R python benchmarks/memory.py --inner -- run CASE --out DIR --force``: each rank imports
oncotwin, records its resident memory after importing DOLFINx/PETSc/MPI (``VmRSS``, the baseline), runs the oncotwin command line in-process, and at the end reads its peak resident memory
(``VmHWM`` of ``/proc/self/status``, the kernel's high-water mark, exact). Rank 0 gathers them. The outer
script then reads the run's ``manifest.json`` (mesh folder, cells, stage times), loads the mesh once to
count the dofs (P1 = vertices; P2 vector = 3 x (vertices + edges)) and reports MB per million dofs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def inner(argv: list[str], report: Path) -> int:
    from oncotwin.cli import main as cli_main
    from oncotwin.core.fenics import MPI, PETSc, dolfinx  # noqa: F401 - part of the baseline

    comm = MPI.COMM_WORLD
    baseline = _status_kb("VmRSS")
    status = cli_main(argv)
    peak = _status_kb("VmHWM")
    rows = comm.gather({"rank": comm.rank, "baseline_MB": baseline / 1024, "peak_MB": peak / 1024}, root=0)
    if comm.rank == 0:
        report.write_text(json.dumps({"status": status, "ranks": rows}))
    return status


def count_dofs(mesh_folder: Path) -> dict:
    from oncotwin.core.fenics import MPI
    from oncotwin.mesh.distribute import read_tagged_mesh

    tm = read_tagged_mesh(MPI.COMM_SELF, mesh_folder)
    mesh = tm.mesh
    mesh.topology.create_entities(1)
    vertices = mesh.topology.index_map(0).size_global
    edges = mesh.topology.index_map(1).size_global
    return {"cells": mesh.topology.index_map(3).size_global, "vertices": vertices, "edges": edges,
            "p1_dofs": vertices, "p2_vector_dofs": 3 * (vertices + edges)}


def main() -> None:
    if "--inner" in sys.argv:
        i = sys.argv.index("--inner")
        report = Path(sys.argv[i + 1])
        argv = sys.argv[sys.argv.index("--") + 1:]
        sys.exit(inner(argv, report))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default=str(ROOT / "cases" / "mni152_demo.yaml"))
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--out", default="/tmp/bench_memory_run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = Path(args.out + ".memory.json")
    python = sys.executable
    mpirun = str(Path(python).parent / "mpirun")
    cmd = [mpirun, "-n", str(args.ranks), python, str(Path(__file__).resolve()), "--inner", str(report), "--",
           "run", args.case, "--out", args.out, "--force"]
    print(" ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    mem = json.loads(report.read_text())
    manifest = json.loads((Path(args.out) / "manifest.json").read_text())
    folder = Path(manifest["mesh"]["folder"])
    if not folder.is_absolute():
        folder = next(p for p in (ROOT / folder, Path(args.case).resolve().parent / folder,
                                  Path(args.case).resolve().parents[1] / folder) if p.is_dir())
    dofs = count_dofs(folder)
    peaks = [r["peak_MB"] for r in mem["ranks"]]
    base = [r["baseline_MB"] for r in mem["ranks"]]
    total, above = sum(peaks), sum(p - b for p, b in zip(peaks, base))
    physics = manifest["resolved_case"].get("physics", {}) if isinstance(manifest.get("resolved_case"), dict) else {}
    result = {"case": args.case, "ranks": args.ranks, "wall_s": wall, "stages_s": {k: v["seconds"] for k, v in
              manifest["stages"].items()}, **dofs, "per_rank": mem["ranks"], "peak_total_MB": total,
              "peak_above_baseline_MB": above,
              "MB_per_million_p1_dofs": total / (dofs["p1_dofs"] / 1e6),
              "MB_above_baseline_per_million_p1_dofs": above / (dofs["p1_dofs"] / 1e6),
              "MB_per_million_p2_vector_dofs": total / (dofs["p2_vector_dofs"] / 1e6),
              "physics_enabled": sorted(k for k, v in physics.items() if isinstance(v, dict) and v.get("enabled", True))}
    print(f"\ncase {args.case}, {args.ranks} ranks, wall {wall:.1f} s; cells {dofs['cells']:,}, P1 dofs "
          f"{dofs['p1_dofs']:,}, P2 vector dofs {dofs['p2_vector_dofs']:,}")
    print("| rank | baseline MB (after imports) | peak MB (VmHWM) |")
    print("|---|---|---|")
    for r in mem["ranks"]:
        print(f"| {r['rank']} | {r['baseline_MB']:.0f} | {r['peak_MB']:.0f} |")
    print(f"total peak {total:.0f} MB ({above:.0f} MB above the import baseline): "
          f"{result['MB_per_million_p1_dofs']:.0f} MB per million P1 dofs "
          f"({result['MB_above_baseline_per_million_p1_dofs']:.0f} above baseline), "
          f"{result['MB_per_million_p2_vector_dofs']:.0f} MB per million P2 displacement dofs")
    print("stages (s):", {k: round(v, 1) for k, v in result["stages_s"].items()})
    if args.json:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import write_json

        print("wrote", write_json(args.json, result))
    os.remove(report)


if __name__ == "__main__":
    main()
