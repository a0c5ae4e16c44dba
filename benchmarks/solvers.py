"""Per-solver cost at three mesh sizes: assembly, preconditioner set-up, solve, iterations, dofs/s per core.

Usage (from the repository root)::

    .venv/bin/python benchmarks/solvers.py                       # all solvers, default sizes
    .venv/bin/python benchmarks/solvers.py --solvers fluid,oxygen --repeat 2 --json solvers_serial.json
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/solvers.py --largest-only --json solvers_np2.json
    .venv/bin/python benchmarks/solvers.py --sizes 10,20,40       # override the box sizes n (all solvers)

Every solver runs on the two-region box of ``common.box`` (20 mm, tumour half / host half, oncotwin's
literature parameters) with the solver's production PETSc defaults. Default sizes (n = cells per edge,
6 tetrahedra per cube):

* scalar P1 (fluid, drug, oxygen, growth): n = 25, 50, 100 -> 17,576 / 132,651 / 1,030,301 dofs;
* P1 elasticity: n = 17, 35, 70 -> 17,496 / 139,968 / 1,073,733 dofs;
* P2 elasticity: n = 8, 16, 32 -> 14,739 / 107,811 / 823,875 dofs (the next step, n = 64, is 6.4M dofs).

What is timed (``total``) is what a simulation pays for a fresh problem: the problem's constructor plus
one solve (fluid: ``solve``; drug: the first backward-Euler step of 10 min, which assembles its operator;
oxygen: the full Newton solve from the default initial guess; growth: one 1-day step with its two
invasion solves; mechanics: ``solve`` with the growth eigenstrain of a tumour at density 0.8). The mesh
is not timed. The forms are compiled by a warm-up on a tiny mesh first, so JIT compilation is excluded.
``dofs/s/core = dofs / total / ranks``; the column ``a+p+s`` uses assembly + PC set-up + solve only.
``CPU s`` is the process CPU time of the slowest rank over the same region: on a shared machine it
approximates the wall time the run would take on an idle core. Iterations: Krylov iterations of the (largest) linear solve; for oxygen the Newton steps and the mean
Krylov iterations per Newton step. Times are the maximum over ranks, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LENGTH, Stages, box, fluid_params, machine_note, print_table, write_json  # noqa: E402

from oncotwin.core.fenics import MPI, PETSc, dolfinx  # noqa: E402
from oncotwin.defaults.tissue import (  # noqa: E402
    DRUG_REGION_SCALES,
    GROWTH_DEFAULTS,
    GROWTH_STRAIN,
    MECHANICS_DEFAULTS,
    NECROSIS_RATE,
    PROLIFERATION_RATE,
)
from oncotwin.defaults.oxygen import (  # noqa: E402
    HYPOXIC_THRESHOLD,
    NECROTIC_THRESHOLD,
    OXYGEN_DEFAULTS,
    TUMOUR_CONSUMPTION_DEFAULT,
)
from oncotwin.core.units import to_internal  # noqa: E402

SIZES = {"fluid": (25, 50, 100), "drug": (25, 50, 100), "oxygen": (25, 50, 100), "growth": (25, 50, 100),
         "elasticity_p1": (17, 35, 70), "elasticity_p2": (8, 16, 32)}
TUMOUR_DENSITY = 0.8  # GROWTH_DEFAULTS['tumour']['initial_density']
DRUG_STEP = 600.0  # s (the demo's min_step)
GROWTH_STEP = 86400.0  # s (physics.growth.step default)


def tumour_density(tm):
    V = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1))
    f = dolfinx.fem.Function(V, name="density")
    f.interpolate(lambda x: np.where(x[0] < LENGTH / 2 + 1e-9, TUMOUR_DENSITY, 0.0))
    return f


# ----------------------------------------------------------------------------------- the solvers
# Each returns (dofs, info dict) and does its timed work inside `stages.active()` (set up by the caller).

def run_fluid(tm, stages, t):
    from oncotwin.problems.fluid import FluidProblem

    params = fluid_params()
    with stages.active():
        t.start()
        problem = FluidProblem(tm, params, degree=1)
        info = problem.solve()
        t.stop()
    return problem.V.dofmap.index_map.size_global, {"iterations": info.iterations}, problem


def run_drug(tm, stages, t):
    from oncotwin.pk.drugs import get_drug
    from oncotwin.problems.drug import DrugProblem, DrugTissue
    from oncotwin.problems.fluid import FluidProblem
    from oncotwin.problems.regions import dg0_space, region_field

    fluid = FluidProblem(tm, fluid_params(), degree=1)  # not timed: the steady flow the drug needs
    fluid.solve()
    velocity = fluid.velocity()
    drug = get_drug("temozolomide")

    def params(kind):
        s = DRUG_REGION_SCALES[kind]
        return DrugTissue(drug.diffusivity * s["diffusivity_scale"], drug.permeability * s["permeability_scale"],
                          drug.reflection_coefficient, drug.tissue_decay_rate)

    fp = fluid_params()
    surface = region_field(dg0_space(tm), tm, {1: fp["tumour"].vessel_surface_density,
                                               2: fp["host"].vessel_surface_density}, "S_V")
    with stages.active():
        t.start()
        problem = DrugProblem(tm, {"tumour": params("tumour"), "host": params("normal")}, velocity,
                              fluid.physics.filtration(fluid.p), surface,
                              fluid.physics.lymphatic_drainage_rate(fluid.p), plasma=lambda _: 1e-6)
        info = problem.step(DRUG_STEP)
        t.stop()
    # a later step with the cached operator (reported separately; not in `total`)
    comm = tm.comm
    comm.barrier()
    t0 = time.perf_counter()
    later = problem.step(DRUG_STEP)
    comm.barrier()
    extra = {"iterations": info.iterations, "later_step_s": time.perf_counter() - t0,
             "later_iterations": later.iterations, "supg": problem.supg}
    fluid.ksp.destroy()
    fluid.A.destroy()
    return problem.V.dofmap.index_map.size_global, extra, problem


def run_oxygen(tm, stages, t):
    from oncotwin.problems.oxygen import OxygenProblem, OxygenTissue

    tissue = {"tumour": OxygenTissue(**OXYGEN_DEFAULTS["tumour"]), "host": OxygenTissue(**OXYGEN_DEFAULTS["normal"])}
    density = tumour_density(tm)
    with stages.active():
        t.start()
        problem = OxygenProblem(tm, tissue, density, TUMOUR_CONSUMPTION_DEFAULT,
                                hypoxic_threshold=HYPOXIC_THRESHOLD, necrotic_threshold=NECROTIC_THRESHOLD)
        info = problem.solve()
        t.stop()
    its = stages.iterations
    return problem.V.dofmap.index_map.size_global, {
        "iterations": round(info.linear_iterations / max(info.iterations, 1), 1), "newton": info.iterations,
        "krylov_per_newton": [int(i) for i in its]}, problem


def run_growth(tm, stages, t):
    from oncotwin.kinetics.response import CloneKinetics
    from oncotwin.problems.growth import GrowthProblem, GrowthTissue

    def tissue(kind):
        g = GROWTH_DEFAULTS[kind]
        return GrowthTissue(to_internal(g["diffusivity"], "mm^2/s"), g["proliferation_scale"], g["initial_density"],
                            g["initial_necrotic"])

    rho = to_internal(PROLIFERATION_RATE, "1/s")
    kinetics = CloneKinetics(rho, 0.5 * rho, 1e-3, to_internal(NECROSIS_RATE, "1/s"))
    with stages.active():
        t.start()
        problem = GrowthProblem(tm, {"tumour": tissue("tumour"), "host": tissue("normal")}, kinetics,
                                initial_resistant_fraction=0.05)
        problem.step(GROWTH_STEP)
        t.stop()
    return problem.V.dofmap.index_map.size_global, {"iterations": max(stages.iterations)}, problem


def run_elasticity(degree):
    def run(tm, stages, t):
        from oncotwin.problems.mechanics import MechanicsProblem, MechanicsTissue

        def tissue(kind):
            m = MECHANICS_DEFAULTS[kind]
            return MechanicsTissue(to_internal(m["young_modulus"], "mmHg"), m["poisson_ratio"], GROWTH_STRAIN)

        density = tumour_density(tm)
        with stages.active():
            t.start()
            problem = MechanicsProblem(tm, {"tumour": tissue("tumour"), "host": tissue("normal")}, density,
                                       ["outer"], degree=degree)
            info = problem.solve()
            t.stop()
        dofs = problem.V.dofmap.index_map.size_global * problem.V.dofmap.index_map_bs  # 3 per node
        return dofs, {"iterations": info.iterations}, problem
    return run


SOLVERS = {"fluid": run_fluid, "drug": run_drug, "oxygen": run_oxygen, "growth": run_growth,
           "elasticity_p1": run_elasticity(1), "elasticity_p2": run_elasticity(2)}


class Clock:
    def __init__(self, comm):
        self.comm, self.elapsed = comm, 0.0

    def start(self):
        self.comm.barrier()
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def stop(self):
        self.cpu = time.process_time() - self._c0  # this rank's CPU time (robust to a shared machine)
        self.comm.barrier()
        self.elapsed = time.perf_counter() - self._t0


def destroy(problem) -> None:
    for name in ("ksp", "A", "b", "_correction"):
        obj = getattr(problem, name, None)
        if obj is not None and hasattr(obj, "destroy"):
            obj.destroy()
    for level in getattr(problem, "_levels", {}).values():
        for obj in level:
            if obj is not None:
                obj.destroy()
    gc.collect()


def measure(comm, name: str, n: int, repeat: int) -> dict:
    best = None
    for _ in range(repeat):
        tm = box(comm, n)
        stages, clock = Stages(), Clock(comm)
        dofs, extra, problem = SOLVERS[name](tm, stages, clock)
        times = {k: comm.allreduce(v, op=MPI.MAX) for k, v in stages.times.items()}
        total = clock.elapsed
        row = {"solver": name, "n": n, "ranks": comm.size, "dofs": dofs, "total_s": total,
               "assembly_s": times.get("assembly", 0.0), "pc_setup_s": times.get("pc_setup", 0.0),
               "solve_s": times.get("solve", 0.0), **extra}
        row["cpu_s"] = comm.allreduce(clock.cpu, op=MPI.MAX)
        row["dofs_per_cpu_s_core"] = dofs / row["cpu_s"] / comm.size
        row["other_s"] = total - row["assembly_s"] - row["pc_setup_s"] - row["solve_s"]
        row["dofs_per_s_core"] = dofs / total / comm.size
        row["dofs_per_s_core_aps"] = dofs / (row["assembly_s"] + row["pc_setup_s"] + row["solve_s"]) / comm.size
        destroy(problem)
        del problem, tm
        gc.collect()
        if best is None or row["total_s"] < best["total_s"]:
            best = row
    return best


def warm_up(comm, names) -> None:
    """Compile every form once on a tiny mesh (FFCx/JIT cache), so no timing below includes compilation."""
    tm = box(comm, 3)
    for name in names:
        stages, clock = Stages(), Clock(comm)
        _, _, problem = SOLVERS[name](tm, stages, clock)
        destroy(problem)


COLUMNS = [("solver", "solver", ""), ("dofs", "dofs", ","), ("assembly_s", "assembly s", ".3f"),
           ("pc_setup_s", "PC set-up s", ".3f"), ("solve_s", "solve s", ".3f"), ("other_s", "other s", ".3f"),
           ("total_s", "total s", ".3f"), ("iterations", "Krylov its", ""), ("newton", "Newton its", ""),
           ("dofs_per_s_core", "dofs/s/core", ".3g"), ("dofs_per_s_core_aps", "dofs/s/core (a+p+s)", ".3g"),
           ("cpu_s", "CPU s (max rank)", ".3f"), ("dofs_per_cpu_s_core", "dofs/CPU-s/core", ".3g")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset of " + ",".join(SOLVERS))
    parser.add_argument("--sizes", default=None, help="box sizes n (comma-separated) for every solver")
    parser.add_argument("--largest-only", action="store_true", help="only the largest size (strong scaling)")
    parser.add_argument("--repeat", type=int, default=1, help="repeat each measurement, keep the fastest")
    parser.add_argument("--json", default=None, help="write rows to this file (bare names: benchmarks/results/)")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    names = [s for s in args.solvers.split(",") if s]
    unknown = [s for s in names if s not in SOLVERS]
    if unknown:
        parser.error(f"unknown solver(s) {unknown}")
    warm_up(comm, names)
    rows = []
    if comm.rank == 0:
        print(f"ranks={comm.size}; PETSc {'.'.join(map(str, PETSc.Sys.getVersion()))}; {machine_note()}")
    for name in names:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES[name])
        if args.largest_only:
            sizes = sizes[-1:]
        for n in sizes:
            row = measure(comm, name, n, args.repeat)
            rows.append(row)
            if comm.rank == 0:
                print(f"  {name} n={n}: dofs={row['dofs']:,} total={row['total_s']:.3f}s "
                      f"its={row['iterations']} newton={row.get('newton', '-')}", flush=True)
    if comm.rank == 0:
        print()
        print_table(rows, [("n", "n", "")] + COLUMNS)
        print()
        print("| solver | iterations smallest -> largest | growth |")
        print("|---|---|---|")
        for name in names:
            r = [row for row in rows if row["solver"] == name]
            if len(r) > 1:
                a, b = r[0]["iterations"], r[-1]["iterations"]
                extra = f" (Newton {r[0]['newton']} -> {r[-1]['newton']})" if name == "oxygen" else ""
                print(f"| {name} | {a} -> {b}{extra} | {100 * (b / a - 1):+.0f}% |")
        if args.json:
            path = write_json(args.json, {"machine": machine_note(), "ranks": comm.size, "rows": rows})
            print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
