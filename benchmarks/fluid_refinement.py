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

import numpy as np

from oncotwin.fenics import MPI, dolfinx
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.case.schema import FluidTissue
from oncotwin.problems.fluid import FluidProblem
from oncotwin.parameters import FLUID_DEFAULTS
from oncotwin.units import to_internal

UNITS = {"hydraulic_conductivity": "mm^2/(mmHg*s)", "vascular_permeability": "mm/(mmHg*s)",
         "vessel_surface_density": "1/mm", "lymphatic_filtration": "1/(mmHg*s)"}


def tissue(kind: str) -> FluidTissue:
    values = {k: (to_internal(v, UNITS.get(k, "mmHg")) if isinstance(v, str) else v)
              for k, v in FLUID_DEFAULTS[kind].items()}
    return FluidTissue.model_construct(**values)


def cube(comm, n: int, length: float = 20.0) -> TaggedMesh:
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [length] * 3], [n] * 3,
                                   ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = mesh.topology.dim
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    mid = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)
    tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.where(mid[:, 0] < length / 2, 1, 2).astype(np.int32))
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facets = dolfinx.mesh.meshtags(mesh, tdim - 1, np.zeros(0, np.int32), np.zeros(0, np.int32))
    return TaggedMesh(mesh, tags, facets, {"tumour": 1, "host": 2}, {}, ("tumour",))


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
