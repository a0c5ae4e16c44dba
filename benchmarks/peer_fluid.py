"""Peer comparison: the same fluid-pressure problem on the same mesh with oncotwin and scikit-fem + pyamg.

Usage (from the repository root; serial; needs ``pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/peer_fluid.py                    # n = 50 and 100 (132k and 1.03M dofs)
    .venv/bin/python benchmarks/peer_fluid.py --sizes 100 --repeat 2 --json peer_fluid.json
    .venv/bin/python benchmarks/peer_fluid.py --sizes 50,100 --tune --tune-n 50  # + PETSc variants (oncotwin)

The problem is oncotwin's steady Darcy-Starling pressure with no-flux boundaries (the screened Poisson
problem ``-div(K grad p) + a p = a p_e`` with ``a = Lp S/V + LpL SL/V`` and ``a p_e = Lp S/V p_eff +
LpL SL/V p_L``), region-wise coefficients (Baxter & Jain tumour values in ``x < 10 mm``, normal tissue
with lymphatics elsewhere) on the 20 mm box of ``common.box``. Both codes use P1 elements, a lumped
(vertex-quadrature) exchange term and CG with algebraic multigrid to the relative tolerance 1e-10:

* oncotwin: ``FluidProblem`` (DOLFINx assembly, PETSc CG + GAMG with oncotwin's defaults);
* peer: the identical tetrahedra (DOLFINx's mesh points and cells exported to ``skfem.MeshTet``),
  scikit-fem assembly (``Basis`` + ``BilinearForm``/``LinearForm``, element-wise coefficients),
  pyamg ``smoothed_aggregation_solver`` (defaults) as the preconditioner of pyamg's CG.

Timed for each: assembly (oncotwin: constructor = spaces, coefficients, matrix; peer: ``Basis`` creation,
coefficient arrays, matrix and vector assembly), preconditioner set-up, solve. Not timed: the mesh
(``create_box``; for the peer the export and ``MeshTet`` construction, reported separately). Forms are
JIT-compiled by a warm-up first. The solutions are compared node by node (max |difference| relative to
max |p|).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Stages, box, fluid_params, machine_note, print_table, write_json  # noqa: E402

from oncotwin.core.fenics import MPI  # noqa: E402
from oncotwin.problems.fluid import FluidProblem  # noqa: E402

RTOL = 1e-10
TUNING = {  # PETSc option variants tried with --tune (prefix fluid_)
    "default": {},
    "agg_nsmooths=0": {"pc_gamg_agg_nsmooths": 0},
    "aggressive_coarsening=0": {"pc_gamg_aggressive_coarsening": 0},
    "mg_levels_ksp_max_it=1": {"mg_levels_ksp_max_it": 1},
    "rtol=1e-8": {"ksp_rtol": 1e-8},
    "rtol=1e-6": {"ksp_rtol": 1e-6},
    "agg_nsmooths=0,rtol=1e-8": {"pc_gamg_agg_nsmooths": 0, "ksp_rtol": 1e-8},
    "pc_gamg_threshold=0.02": {"pc_gamg_threshold": 0.02},
    "jacobi (no AMG)": {"pc_type": "jacobi"},
}


def oncotwin_solve(tm, options=None) -> tuple[dict, np.ndarray]:
    stages = Stages()
    comm = tm.comm
    with stages.active():
        comm.barrier()
        t0, c0 = time.perf_counter(), time.process_time()
        problem = FluidProblem(tm, fluid_params(), degree=1, petsc_options=options)
        t1 = time.perf_counter()
        info = problem.solve()
        t2, c2 = time.perf_counter(), time.process_time()
    dofs = problem.V.dofmap.index_map.size_global
    # assembly = everything but the PC set-up and the Krylov iterations: the constructor (spaces, dofmaps,
    # coefficient fields, sparsity, matrix) and the right-hand side; `matrix_s` is DOLFINx assembly proper
    row = {"code": "oncotwin", "dofs": dofs, "iterations": info.iterations, "constructor_s": t1 - t0,
           "matrix_s": stages.times["assembly"], "pc_setup_s": stages.times["pc_setup"],
           "solve_s": stages.times["solve"], "total_s": t2 - t0, "cpu_s": c2 - c0}
    row["assembly_s"] = row["total_s"] - row["pc_setup_s"] - row["solve_s"]
    # nodal values at the mesh geometry nodes (P1 dofs -> geometry node numbering)
    geo = tm.mesh.geometry.dofmaps[0]
    dofmap = problem.V.dofmap.list
    p = np.empty(tm.mesh.geometry.x.shape[0])
    p[geo.ravel()] = problem.p.x.array[dofmap.ravel()]
    problem.ksp.destroy()
    problem.A.destroy()
    return row, p


def export(tm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (3, N), cells (4, M) of the DOLFINx mesh and the region tag of every cell."""
    mesh = tm.mesh
    points = mesh.geometry.x[:, :3].T.copy()
    cells = mesh.geometry.dofmaps[0].T.astype(np.int64).copy()
    tags = np.empty(cells.shape[1], dtype=np.int32)
    tags[tm.cell_tags.indices] = tm.cell_tags.values
    return points, cells, tags


def skfem_solve(points, cells, tags) -> tuple[dict, np.ndarray]:
    import pyamg
    import scipy.sparse as sp
    from skfem import Basis, BilinearForm, ElementTetP1, LinearForm, MeshTet
    from skfem.helpers import dot, grad

    t0 = time.perf_counter()
    mesh = MeshTet(points, cells)
    t1, c1 = time.perf_counter(), time.process_time()
    params = fluid_params()

    def coefficients(t):
        filtration = t.vascular_permeability * t.vessel_surface_density
        p_eff = t.vascular_pressure - t.reflection_coefficient * (t.plasma_oncotic_pressure
                                                                  - t.interstitial_oncotic_pressure)
        a = filtration + t.lymphatic_filtration
        return t.hydraulic_conductivity, a, filtration * p_eff + t.lymphatic_filtration * t.lymphatic_pressure

    table = {1: coefficients(params["tumour"]), 2: coefficients(params["host"])}
    basis = Basis(mesh, ElementTetP1())
    nqp = basis.X.shape[1]

    def per_cell(i):
        values = np.where(tags == 1, table[1][i], table[2][i])
        return np.broadcast_to(values[:, None], (values.size, nqp))

    @BilinearForm
    def diffusion(u, v, w):
        return w.K * dot(grad(u), grad(v))

    @LinearForm
    def weighted(v, w):
        return w.c * v

    K = diffusion.assemble(basis, K=per_cell(0))
    lumped = weighted.assemble(basis, c=per_cell(1))  # vertex quadrature of a p q = diag(int a phi_i)
    A = (K + sp.diags(lumped)).tocsr()
    b = weighted.assemble(basis, c=per_cell(2))
    t2 = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(A)
    t3 = time.perf_counter()
    residuals: list[float] = []
    x = ml.solve(b, tol=RTOL, maxiter=1000, accel="cg", residuals=residuals)
    t4, c4 = time.perf_counter(), time.process_time()
    rel = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    row = {"code": "scikit-fem + pyamg", "dofs": A.shape[0], "iterations": len(residuals) - 1,
           "mesh_s": t1 - t0, "assembly_s": t2 - t1, "pc_setup_s": t3 - t2, "solve_s": t4 - t3,
           "total_s": t4 - t1, "cpu_s": c4 - c1, "relative_residual": rel, "levels": len(ml.levels)}
    return row, x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,100", help="box sizes n (n^3 x 6 tetrahedra, (n+1)^3 dofs)")
    parser.add_argument("--repeat", type=int, default=1, help="repeat each measurement, keep the fastest")
    parser.add_argument("--tune", action="store_true", help="also time oncotwin with PETSc option variants")
    parser.add_argument("--tune-n", type=int, default=None, help="box size of the --tune runs (default: largest)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    if comm.size != 1:
        parser.error("run serially (the peer is serial)")
    # warm-up: JIT-compile oncotwin's forms, import scikit-fem/pyamg
    tm = box(comm, 4)
    oncotwin_solve(tm)
    skfem_solve(*export(tm))
    print(f"serial; rtol {RTOL}; {machine_note()}")
    rows, tuning = [], []
    for n in [int(s) for s in args.sizes.split(",")]:
        tm = box(comm, n)
        points, cells, tags = export(tm)
        best = {}
        for _ in range(args.repeat):
            for code, fn in (("oncotwin", lambda tm=tm: oncotwin_solve(tm)), ("peer", lambda: skfem_solve(points, cells, tags))):
                row, p = fn()
                if code not in best or row["total_s"] < best[code][0]["total_s"]:
                    best[code] = (row, p)
                gc.collect()
        (ours, p_ours), (peer, p_peer) = best["oncotwin"], best["peer"]
        diff = float(np.max(np.abs(p_ours - p_peer)) / np.max(np.abs(p_peer)))
        for row in (ours, peer):
            row.update(n=n, dofs_per_s=row["dofs"] / row["total_s"], max_rel_difference=diff)
        ours["peer_over_oncotwin"] = peer["total_s"] / ours["total_s"]
        ours["peer_over_oncotwin_cpu"] = peer["cpu_s"] / ours["cpu_s"]
        rows += [ours, peer]
        print(f"n={n}: oncotwin {ours['total_s']:.2f} s, scikit-fem+pyamg {peer['total_s']:.2f} s "
              f"(mesh {peer['mesh_s']:.2f} s not counted), ratio {ours['peer_over_oncotwin']:.2f}, "
              f"max rel diff {diff:.1e}", flush=True)
        if args.tune and n == (args.tune_n or int(args.sizes.split(",")[-1])):
            for label, options in TUNING.items():
                row, p = min((oncotwin_solve(tm, options) for _ in range(args.repeat)), key=lambda r: r[0]["total_s"])
                row.update(variant=label, n=n, dofs_per_s=row["dofs"] / row["total_s"],
                           max_rel_difference=float(np.max(np.abs(p - p_ours)) / np.max(np.abs(p_ours))))
                tuning.append(row)
                print(f"  tune {label}: {row['total_s']:.2f} s, {row['iterations']} its", flush=True)
        del tm
        gc.collect()
    print()
    print_table(rows, [("n", "n", ""), ("code", "code", ""), ("dofs", "dofs", ","),
                       ("assembly_s", "assembly s", ".3f"), ("pc_setup_s", "PC set-up s", ".3f"),
                       ("solve_s", "solve s", ".3f"), ("total_s", "total s", ".3f"),
                       ("iterations", "its", ""), ("dofs_per_s", "dofs/s", ".3g"),
                       ("max_rel_difference", "max rel. diff", ".1e"), ("peer_over_oncotwin", "peer/oncotwin", ".2f"),
                       ("cpu_s", "CPU s", ".3f"), ("peer_over_oncotwin_cpu", "peer/oncotwin (CPU)", ".2f")])
    if tuning:
        print()
        print_table(tuning, [("variant", "oncotwin PETSc variant", ""), ("assembly_s", "assembly s", ".3f"),
                             ("pc_setup_s", "PC set-up s", ".3f"), ("solve_s", "solve s", ".3f"),
                             ("total_s", "total s", ".3f"), ("cpu_s", "CPU s", ".3f"), ("iterations", "its", ""),
                             ("dofs_per_s", "dofs/s", ".3g"), ("max_rel_difference", "max rel. diff vs default", ".1e")])
    if args.json:
        print("wrote", write_json(args.json, {"machine": machine_note(), "rows": rows, "tuning": tuning}))


if __name__ == "__main__":
    main()
