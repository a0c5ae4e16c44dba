"""Shared pieces of the benchmark scripts: the two-region box, tissue parameters, stage timers, output.

The box is ``[0, L]^3`` (L = 20 mm) cut into ``n^3`` hexahedra of 6 tetrahedra each (DOLFINx
``create_box``), split at ``x = L/2`` into a 'tumour' half (tag 1) and a 'host' half (tag 2); every
exterior facet is tagged 'outer' (1). Parameters are oncotwin's literature defaults (tumour / normal
tissue) in internal units (mm, s, mmHg).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.problems.fluid import FluidTissue
from oncotwin.defaults.tissue import FLUID_DEFAULTS
from oncotwin.core.units import to_internal

LENGTH = 20.0  # mm
RESULTS = Path(__file__).resolve().parent / "results"
FLUID_UNITS = {"hydraulic_conductivity": "mm^2/(mmHg*s)", "vascular_permeability": "mm/(mmHg*s)",
               "vessel_surface_density": "1/mm", "lymphatic_filtration": "1/(mmHg*s)"}


def fluid_tissue(kind: str) -> FluidTissue:
    """oncotwin's default Starling/Darcy parameters of a tissue kind, in internal units."""
    values = {k: (to_internal(v, FLUID_UNITS.get(k, "mmHg")) if isinstance(v, str) else v)
              for k, v in FLUID_DEFAULTS[kind].items()}
    return FluidTissue(**values)


def fluid_params() -> dict[str, FluidTissue]:
    return {"tumour": fluid_tissue("tumour"), "host": fluid_tissue("normal")}


def box(comm, n: int, length: float = LENGTH) -> TaggedMesh:
    """The two-region box with n^3 x 6 tetrahedra; exterior facets tagged 'outer'."""
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [length] * 3], [n] * 3,
                                   ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = mesh.topology.dim
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    mid = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)
    tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.where(mid[:, 0] < length / 2, 1, 2).astype(np.int32))
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    ftags = dolfinx.mesh.meshtags(mesh, tdim - 1, facets, np.full(facets.size, 1, dtype=np.int32))
    return TaggedMesh(mesh, tags, ftags, {"tumour": 1, "host": 2}, {"outer": 1}, ("tumour",))


# ------------------------------------------------------------------------------------------ timers
class Stages:
    """Wall time per stage, collected by patching the assembly and linear-solver entry points.

    * ``assembly``: DOLFINx ``create_matrix`` / ``assemble_matrix`` / ``assemble_vector`` /
      ``apply_lifting`` (PETSc and native; includes sparsity-pattern creation of first assemblies);
    * ``pc_setup``: ``KSPSetUp`` (forced before every solve, so it is the preconditioner set-up that the
      solve would otherwise do internally; ~0 when the preconditioner is reused);
    * ``solve``: the Krylov iterations;
    * ``other`` (total minus the above): function spaces and dofmaps, region coefficient fields, form
      objects (JIT cache hits: every script warms the cache first), M-matrix corrections, kinetics.
    """

    ASSEMBLY = [("dolfinx.fem.petsc", n) for n in ("create_matrix", "assemble_matrix", "assemble_vector",
                                                    "apply_lifting", "create_vector")]
    ASSEMBLY += [("dolfinx.fem", n) for n in ("assemble_matrix", "assemble_vector", "assemble_scalar")]
    SOLVER_MODULES = ("fluid", "drug", "oxygen", "growth", "mechanics")

    def __init__(self):
        self.times: dict[str, float] = defaultdict(float)
        self.iterations: list[int] = []
        self._depth = 0

    def _timed(self, stage: str, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times[stage] += time.perf_counter() - t0
                self._depth -= 1
        return wrapper

    @contextmanager
    def active(self):
        import importlib

        import oncotwin.la.petsc as la

        patched = []

        def patch(module, name, new):
            patched.append((module, name, getattr(module, name)))
            setattr(module, name, new)

        for modname, name in self.ASSEMBLY:
            module = importlib.import_module(modname)
            patch(module, name, self._timed("assembly", getattr(module, name)))

        setup = self._timed("pc_setup", la.set_up)
        inner = self._timed("solve", la.solve)

        def solve(ksp, b, x, what):
            setup(ksp)
            info = inner(ksp, b, x, what)
            self.iterations.append(info.iterations)
            return info

        for short in self.SOLVER_MODULES:
            module = importlib.import_module(f"oncotwin.problems.{short}")
            if hasattr(module, "solve"):
                patch(module, "solve", solve)
            if hasattr(module, "set_up"):
                patch(module, "set_up", setup)
        try:
            yield self
        finally:
            for module, name, old in reversed(patched):
                setattr(module, name, old)


def timed_solve(comm, ksp, b, x) -> tuple[float, float, object]:
    """Set-up seconds, solve seconds and the :class:`~oncotwin.la.petsc.SolveInfo` of ``ksp`` on ``b``
    (the preconditioner set-up forced first, so it is timed on its own)."""
    from oncotwin.la.petsc import set_up, solve

    t0 = barrier_time(comm)
    set_up(ksp)
    t1 = barrier_time(comm)
    info = solve(ksp, b, x, "benchmark")
    return t1 - t0, barrier_time(comm) - t1, info


def barrier_time(comm) -> float:
    comm.barrier()
    return time.perf_counter()


def max_over_ranks(comm, value: float) -> float:
    return comm.allreduce(value, op=MPI.MAX)


# ------------------------------------------------------------------------------------------ output
def machine_note() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_1min_at_start": load[0], "date": time.strftime("%Y-%m-%dT%H:%M:%S")}


def write_json(path: str | Path, payload: dict) -> Path:
    path = Path(path)
    if not path.is_absolute() and path.parent == Path("."):
        path = RESULTS / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=float))
    return path


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """Markdown table: columns are (key, header, format)."""
    print("| " + " | ".join(h for _, h, _ in columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            v = row.get(key, "")
            cells.append(format(v, fmt) if isinstance(v, int | float) and fmt else str(v))
        print("| " + " | ".join(cells) + " |", flush=True)
