"""The floor under any assembled-matrix solve on this machine: sparsity, assembly and AMG set-up alone.

Usage (from the repository root)::

    .venv/bin/python benchmarks/assembly_floor.py                 # n = 100: 1,030,301 P1 dofs, 6M cells
    .venv/bin/python benchmarks/assembly_floor.py --n 50 --json assembly_floor.json

Times, on the unit-free box ``[0, 20]^3`` with ``n^3 x 6`` tetrahedra, for the fluid's matrix type
(P1 ``K grad.grad`` with a DG0 coefficient + lumped reaction, no oncotwin code involved):

* ``sparsity``: ``dolfinx.fem.petsc.create_matrix`` (the pattern and the PETSc preallocation);
* ``assembly``: ``assemble_matrix`` into it (element kernels + PETSc insertion), and again (reassembly);
* ``native reassembly``: the same into DOLFINx's own CSR matrix (no PETSc insertion);
* ``native matrix`` and ``native reassembly to PETSc``: oncotwin's :class:`~oncotwin.la.assembly.NativeMatrix`
  (shared pattern + CSR handed to PETSc) created on a fresh mesh pattern, and reassembled;
* ``vector``: the lumped right-hand side;
* ``GAMG set-up`` and ``CG solve`` with oncotwin's multigrid options (rtol 1e-10).

``dofs/s if only sparsity + assembly`` is the ceiling of "assembly + set-up + solve" throughput that no
preconditioner choice can lift.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_note, write_json

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.la.assembly import NativeMatrix
from oncotwin.la.petsc import MULTIGRID, create_ksp, set_up, solve


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    note = machine_note()
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [20, 20, 20]], [args.n] * 3)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    k = dolfinx.fem.Function(Q)
    k.x.array[:] = 0.27**2  # a pressure layer of 0.27 mm, as in the tumour half of the fluid benchmark
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    lumped = ufl.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    a = dolfinx.fem.form(k * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx + u * v * lumped)
    L = dolfinx.fem.form(v * lumped)
    # warm-up on the compiled forms (JIT cache) is implicit: dolfinx.fem.form compiled them above
    times, cpu = {}, {}

    def timed(name, fn):
        comm.barrier()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        c1 = time.process_time()
        comm.barrier()
        times[name] = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
        cpu[name] = comm.allreduce(c1 - c0, op=MPI.MAX)  # on a shared machine: the wall time on an idle core
        return out

    A = timed("sparsity", lambda: dolfinx.fem.petsc.create_matrix(a))

    def assemble():
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, a)
        A.assemble()

    timed("assembly", assemble)
    timed("reassembly", assemble)
    C = dolfinx.fem.assemble_matrix(a)

    def native():
        C.set_value(0.0)
        dolfinx.fem.assemble_matrix(C, a)
        C.scatter_reverse()

    timed("native reassembly", native)
    matrix = timed("native matrix", lambda: NativeMatrix(a, space=V))
    timed("native reassembly to PETSc", matrix.assemble)

    def vector():
        b = dolfinx.fem.petsc.assemble_vector(L)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b

    b = timed("vector", vector)
    ksp = create_ksp(comm, A, "floor_", {"ksp_type": "cg", **MULTIGRID, "ksp_rtol": 1e-10})
    x = A.createVecRight()
    timed("GAMG set-up", lambda: set_up(ksp))
    info = timed("CG solve", lambda: solve(ksp, b, x, "floor"))
    dofs = V.dofmap.index_map.size_global
    cells = mesh.topology.index_map(3).size_global
    total = times["sparsity"] + times["assembly"] + times["vector"] + times["GAMG set-up"] + times["CG solve"]
    rows = {**times, "total": total, "dofs": dofs, "cells": cells, "iterations": info.iterations,
            "ranks": comm.size,
            "dofs_per_s_per_core": dofs / total / comm.size,
            "dofs_per_s_per_core_if_only_sparsity_and_assembly":
                dofs / (times["sparsity"] + times["assembly"]) / comm.size,
            "assembly_us_per_cell": 1e6 * times["reassembly"] / cells * comm.size,
            "native_assembly_us_per_cell": 1e6 * times["native reassembly"] / cells * comm.size,
            "native_to_petsc_us_per_cell": 1e6 * times["native reassembly to PETSc"] / cells * comm.size,
            "dofs_per_s_per_core_if_only_native_matrix": dofs / times["native matrix"] / comm.size,
            **{f"cpu {k}": v for k, v in cpu.items()},
            "cpu_speedup_create_and_assemble": (cpu["sparsity"] + cpu["assembly"]) / cpu["native matrix"],
            "cpu_speedup_reassembly": cpu["reassembly"] / cpu["native reassembly to PETSc"]}
    if comm.rank == 0:
        print(f"{dofs:,} dofs, {cells:,} cells, {comm.size} rank(s)")
        for key, value in rows.items():
            print(f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value:,} |")
        if args.json:
            write_json(args.json, {"machine": note, **rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
