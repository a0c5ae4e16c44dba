"""Cost of drug transport time steps: first step (assembly + preconditioner) vs the following ones.

Usage (from the repository root)::

    .venv/bin/python benchmarks/drug_steps.py [N]
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/drug_steps.py 60

Box of 20 mm split into tumour and host halves with the steady Baxter & Jain pressure and the
doxorubicin library parameters; backward Euler with a constant step (operator cached after step 1).
"""

from __future__ import annotations

import sys
import time

from fluid_refinement import cube, tissue

from oncotwin.core.fenics import MPI
from oncotwin.pk.drugs import get_drug
from oncotwin.problems.drug import DrugProblem, DrugTissue
from oncotwin.problems.fluid import FluidProblem
from oncotwin.problems.regions import dg0_space, region_field


def main() -> None:
    comm = MPI.COMM_WORLD
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    tm = cube(comm, n)
    fluid = FluidProblem(tm, {"tumour": tissue("tumour"), "host": tissue("normal")}, degree=1)
    fluid.solve()
    velocity = fluid.velocity()
    drug = get_drug("doxorubicin")
    params = DrugTissue(drug.diffusivity, drug.permeability, drug.reflection_coefficient, drug.tissue_decay_rate)
    surface = region_field(dg0_space(tm), tm, {1: 20.0, 2: 7.0}, "S_V")
    problem = DrugProblem(tm, {"tumour": params, "host": params}, velocity, fluid.physics.filtration(fluid.p),
                          surface, fluid.physics.lymphatic_drainage_rate(fluid.p), plasma=lambda t: 1e-6)
    times = []
    for _ in range(6):
        comm.barrier()
        t0 = time.perf_counter()
        info = problem.step(600.0)
        comm.barrier()
        times.append((time.perf_counter() - t0, info.iterations))
    if comm.rank == 0:
        dofs = problem.V.dofmap.index_map.size_global
        first, later = times[0][0], sum(t for t, _ in times[1:]) / (len(times) - 1)
        print(f"ranks={comm.size} N={n} dofs={dofs} supg={problem.supg}")
        print(f"first step {first:.3f} s ({times[0][1]} its); later steps {later:.3f} s "
              f"({times[1][1]} its); ratio {later / first:.3f}; mass balance {problem.balance.error:.1e}")


if __name__ == "__main__":
    main()
