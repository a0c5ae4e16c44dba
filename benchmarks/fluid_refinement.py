"""Fluid pressure solve under uniform refinement: Krylov iterations and cost per stage.

Usage (from the repository root)::

    .venv/bin/python benchmarks/fluid_refinement.py [N0 [levels]]
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/fluid_refinement.py 20 3

Unit cube split into a 'tumour' half (Baxter & Jain tumour values) and a 'host' half (normal tissue with
lymphatics), in mm; P1 pressure, CG + GAMG (oncotwin defaults). Each level doubles N (8x the dofs).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


from oncotwin.core.fenics import MPI
from oncotwin.problems.fluid import FluidProblem

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import box as cube  # noqa: E402  (the benchmarks' shared two-region box)
from common import fluid_tissue as tissue  # noqa: E402


def main() -> None:
    comm = MPI.COMM_WORLD
    n0 = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    levels = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    params = {"tumour": tissue("tumour"), "host": tissue("normal")}
    if comm.rank == 0:
        print(f"ranks={comm.size}")
        print("N, dofs, iterations, setup_s (spaces+forms+assembly+KSP), solve_s (rhs+PC setup+solve), "
              "total_s, dofs_per_s_per_core")
    for level in range(levels):
        n = n0 * 2**level
        tm = cube(comm, n)
        comm.barrier()
        t0 = time.perf_counter()
        problem = FluidProblem(tm, params, degree=1)
        comm.barrier()
        t1 = time.perf_counter()
        info = problem.solve()
        comm.barrier()
        t2 = time.perf_counter()
        dofs = problem.V.dofmap.index_map.size_global
        if comm.rank == 0:
            total = t2 - t0
            print(f"{n}, {dofs}, {info.iterations}, {t1 - t0:.3f}, {t2 - t1:.3f}, {total:.3f}, "
                  f"{dofs / total / comm.size:.3g}", flush=True)


if __name__ == "__main__":
    main()
