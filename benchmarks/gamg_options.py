"""Algebraic-multigrid option variants on oncotwin's two scalar operator types: set-up, solve, iterations.

Usage (from the repository root)::

    .venv/bin/python benchmarks/gamg_options.py                        # n = 25, 50, 100
    .venv/bin/python benchmarks/gamg_options.py --sizes 50 --json gamg_options.json

Operators, on the two-region box of ``common.box`` (P1):

* ``fluid``: oncotwin's Darcy-Starling pressure matrix (``FluidProblem``: ``K`` stiffness + lumped
  exchange), reaction-dominated at these sizes (pressure layers 0.22-0.27 mm);
* ``time step``: ``M + dt D K`` at the diffusion number ``dt D / h^2`` given by ``--diffusion-number`` at
  the largest size (default 10, a drug step on a fine mesh), diffusion-dominated.

Each variant is the production multigrid (:data:`oncotwin.la.petsc.MULTIGRID`, CG) with the listed
options changed. The right-hand side is
the fluid's own, resp. the lumped mass times one; relative tolerance 1e-10.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import box, fluid_params, machine_note, print_table, timed_solve, write_json

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.la.petsc import MULTIGRID, create_ksp
from oncotwin.problems.regions import typical_cell_size

BASE = {"ksp_type": "cg", **MULTIGRID, "ksp_rtol": 1e-10, "ksp_atol": 1e-30, "ksp_max_it": 1000}
VARIANTS = {
    "production": {},
    "MIS-2 aggressive coarsening": {"pc_gamg_aggressive_square_graph": False},
    "coarsest grid up to 2000 equations": {"pc_gamg_coarse_eq_limit": 2000},
    "unsmoothed aggregation": {"pc_gamg_agg_nsmooths": 0},
    "no aggressive coarsening": {"pc_gamg_aggressive_coarsening": 0},
    "one smoothing step": {"mg_levels_ksp_max_it": 1},
    "ICC(0), no multigrid": {"pc_type": "icc"},
}


def fluid_operator(tm):
    from oncotwin.problems.fluid import FluidProblem

    problem = FluidProblem(tm, fluid_params(), degree=1)
    problem.solve()  # assembles the right-hand side
    return problem.A, problem.b


def time_step_operator(tm, number_at_largest: float, h_largest: float):
    V = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    lumped = ufl.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    dtD = number_at_largest * h_largest ** 2
    a = dolfinx.fem.form(u * v * lumped + dtD * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    A = dolfinx.fem.petsc.assemble_matrix(a)
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(v * lumped))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    return A, b


def measure(comm, A, b, options):
    ksp = create_ksp(comm, A, "bench_gamg_", BASE, options)
    x = A.createVecRight()
    setup, solve_s, info = timed_solve(comm, ksp, b, x)
    ksp.destroy()
    x.destroy()
    return {"setup_s": setup, "solve_s": solve_s, "total_s": setup + solve_s, "iterations": info.iterations}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="25,50,100")
    parser.add_argument("--diffusion-number", type=float, default=10.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    h_largest = None
    note = machine_note()
    for n in sorted(sizes, reverse=True):
        tm = box(comm, n)
        h = typical_cell_size(comm, tm.mesh)
        h_largest = h_largest or h
        number = args.diffusion_number * (h_largest / h) ** 2
        operators = {"fluid": fluid_operator(tm),
                     "time step": time_step_operator(tm, args.diffusion_number, h_largest)}
        for operator, (A, b) in operators.items():
            for name, options in VARIANTS.items():
                r = measure(comm, A, b, options)
                rows.append({"n": n, "dofs": (n + 1) ** 3, "operator": operator, "variant": name,
                             **({"diffusion_number": number} if operator == "time step" else {}), **r})
                if comm.rank == 0:
                    print(f"n={n} {operator:9s} {name:40s} set-up {r['setup_s']:.2f} s solve "
                          f"{r['solve_s']:.2f} s its {r['iterations']}", flush=True)
            A.destroy()
            b.destroy()
    rows.sort(key=lambda r: (r["operator"], list(VARIANTS).index(r["variant"]), r["n"]))
    if comm.rank == 0:
        print_table(rows, [("operator", "operator", ""), ("variant", "variant", ""), ("n", "n", ""),
                           ("dofs", "dofs", ",d"), ("setup_s", "set-up s", ".2f"), ("solve_s", "solve s", ".2f"),
                           ("total_s", "total s", ".2f"), ("iterations", "its", "d")])
        if args.json:
            write_json(args.json, {"ranks": comm.size, "machine": note, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
