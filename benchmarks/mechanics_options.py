"""Mechanics solver options on a real case's elasticity operator: multigrid set-up, solve, iterations.

Usage (from the repository root; the BraTS case needs ``../shared/data``)::

    .venv/bin/python benchmarks/mechanics_options.py
    .venv/bin/python benchmarks/mechanics_options.py --case cases/brats2013_pat0001.yaml \\
        --variants '[{}, {"pc_gamg_aggressive_coarsening": 1}, {"pc_gamg_agg_nsmooths": 0}]'

Builds the case's coupled model at t = 0 (mesh from the cache, fluid, drugs, tumour with its first
mechanics solve), then solves the same elasticity system from a zero initial guess with the production
options (``MECHANICS_PETSC_DEFAULTS``) changed by each variant, and reports the multigrid set-up time,
the solve time, the CG iterations and the difference from the production solution.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_note, print_table, timed_solve, write_json

from oncotwin.case.load import load_case
from oncotwin.core.fenics import MPI
from oncotwin.la.petsc import create_ksp
from oncotwin.problems.mechanics import MECHANICS_PETSC_DEFAULTS
from oncotwin.run.simulation import Simulation

VARIANTS = [{}, {"pc_gamg_aggressive_coarsening": 1}, {"pc_gamg_threshold": -1}, {"pc_gamg_agg_nsmooths": 0},
            {"mg_levels_ksp_max_it": 1}, {"mg_levels_ksp_max_it": 3}]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="cases/brats2013_pat0001.yaml")
    parser.add_argument("--mesh-dir", default="meshes")
    parser.add_argument("--variants", default=None, help="JSON list of option dicts (prefix-free)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    note = machine_note()
    case, sha = load_case(comm, Path(args.case))
    sim = Simulation(comm, case, Path(args.case), sha, Path("/nonexistent"), Path(args.mesh_dir),
                     show_progress=False)
    tmesh, _ = sim.initialise()
    fluid = sim.solve_fluid(tmesh)[0] if case.physics.fluid.enabled else None
    drugs = sim.create_drugs(tmesh, fluid) if case.physics.drug.enabled else {}
    mechanics = sim.create_tumour(tmesh, fluid, drugs).mechanics
    if mechanics is None:
        raise SystemExit(f"{args.case}: physics.mechanics is not enabled")
    A, b, reference = mechanics.A, mechanics.b, mechanics.displacement.x.petsc_vec
    dofs = A.getSize()[0]
    rows = []
    for variant in json.loads(args.variants) if args.variants else VARIANTS:
        ksp = create_ksp(comm, A, "bench_mechanics_", MECHANICS_PETSC_DEFAULTS, variant)
        x = A.createVecRight()
        setup, solve_s, info = timed_solve(comm, ksp, b, x)
        x.axpy(-1.0, reference)
        rows.append({"variant": json.dumps(variant), "dofs": dofs, "setup_s": setup, "solve_s": solve_s,
                     "iterations": info.iterations, "difference": x.norm() / reference.norm()})
        ksp.destroy()
        x.destroy()
    if comm.rank == 0:
        print(f"{args.case}: {dofs:,} displacement dofs, {comm.size} rank(s)")
        print_table(rows, [("variant", "options changed", ""), ("setup_s", "set-up s", ".2f"),
                           ("solve_s", "solve s", ".2f"), ("iterations", "CG its", "d"),
                           ("difference", "|x - x_production| / |x|", ".1e")])
        if args.json:
            write_json(args.json, {"machine": note, "case": args.case, "ranks": comm.size, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
