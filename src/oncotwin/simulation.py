"""One run of a case: the readable pipeline mesh -> physics -> outputs -> manifest."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.case.schema import Case
from oncotwin.log import get_logger
from oncotwin.manifest import StageTimer, now, package_versions
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import TaggedMesh, read_tagged_mesh
from oncotwin.rundir import RunDirectory

log = get_logger("run")
FIELDS_FILE = "fields.pvd"


@dataclass
class Simulation:
    """Runs one case into a run directory.

    Args:
        comm: communicator of the run.
        case: the validated case.
        case_file: path of the case file (recorded in the manifest).
        case_sha256: hash of the case file.
        out: final run folder.
        mesh_root: folder of the mesh cache.
        force: replace an existing result.
        remesh: ignore the mesh cache.
    """

    comm: MPI.Comm
    case: Case
    case_file: Path
    case_sha256: str
    out: Path
    mesh_root: Path
    force: bool = False
    remesh: bool = False
    timer: StageTimer = field(default_factory=StageTimer)
    metrics: dict[str, float] = field(default_factory=dict)

    def run(self) -> Path:
        """Execute the pipeline; returns the final run folder."""
        started = now()
        rundir = RunDirectory.open(self.comm, self.out, self.force)
        try:
            tmesh, mesh_info = self.initialise()
            fields = []
            if self.case.physics.fluid.enabled:
                with self.timer.stage("fluid"):
                    fields += self.solve_fluid(tmesh)
            with self.timer.stage("output"):
                self.write_outputs(rundir.work, tmesh, fields)
            if self.case.output.figures and self.case.output.fields:
                with self.timer.stage("figures"):
                    self.render(rundir.work)
            self.write_manifest(rundir.work, started, mesh_info)
            final = rundir.commit(self.comm)
        except BaseException:
            rundir.abandon(self.comm)
            raise
        return final

    # ------------------------------------------------------------------ stages
    def initialise(self) -> tuple[TaggedMesh, dict]:
        """Mesh (or reuse the cached mesh) and distribute it."""
        with self.timer.stage("mesh"):
            folder, reused = ensure_mesh(self.comm, self.case, self.mesh_root, force=self.remesh,
                                         progress=log.info)
            log.info("mesh: %s %s", "reusing" if reused else "wrote", folder)
        with self.timer.stage("distribute"):
            tmesh = read_tagged_mesh(self.comm, folder)
        cells = tmesh.mesh.topology.index_map(3).size_global
        log.info("mesh: %d cells on %d rank(s)", cells, self.comm.size)
        return tmesh, {"folder": str(folder), "reused": reused, "cells": cells}

    def solve_fluid(self, tmesh: TaggedMesh) -> list:
        """Steady interstitial flow: pressure, velocity (um/s) and net fluid source."""
        from oncotwin.problems.fluid import UM_PER_MM, FluidProblem

        opts = self.case.physics.fluid
        tissue = {name: region.fluid for name, region in self.case.regions.items()}
        problem = FluidProblem(tmesh, tissue, opts.boundary_conditions, degree=opts.degree,
                               petsc_options=self.case.solver.get("fluid"), ifp_threshold=opts.ifp_threshold)
        problem.warn_unresolved_layers()
        info = problem.solve()
        log.info("fluid: %d %s iterations, residual %.2e (%s), %d dofs", info.iterations,
                 problem.ksp.getType(), info.residual_norm, info.reason,
                 problem.V.dofmap.index_map.size_global)
        velocity = problem.velocity()
        velocity.x.array[:] *= UM_PER_MM
        velocity.name = "velocity_um_per_s"
        problem.p.name = "pressure_mmHg"
        source = problem.net_source()
        source.name = "fluid_source_per_s"
        self.metrics.update(problem.metrics())
        self.metrics["fluid_residual_norm"] = info.residual_norm
        log.info("fluid: IFP max %.2f mmHg, mean %.2f mmHg in the tumour; rim velocity %.3g um/s",
                 self.metrics["ifp_max_tumour_mmHg"], self.metrics["ifp_mean_tumour_mmHg"],
                 self.metrics["rim_outward_velocity_mean_um_per_s"])
        return [problem.p, velocity, source]

    def write_outputs(self, work: Path, tmesh: TaggedMesh, fields: list) -> None:
        """Fields (VTK XML, all ranks), metrics.csv and summary.json (rank 0)."""
        if self.case.output.fields:
            from oncotwin.io.fields import VtkSeries

            series = VtkSeries(self.comm, work / FIELDS_FILE, tmesh.mesh, fields, tmesh.cell_tags)
            series.write(0.0)
            series.close()
        if self.comm.rank == 0:
            row = {"time_s": 0.0, **self.metrics}
            with open(work / "metrics.csv", "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                writer.writeheader()
                writer.writerow(row)
            summary = {"case": self.case.name, "final": row, "regions": tmesh.regions,
                       "tumour_regions": list(tmesh.tumour_regions), "boundaries": tmesh.boundaries}
            (work / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_float) + "\n")

    def render(self, work: Path) -> None:
        """Figures from the written files (rank 0)."""
        from oncotwin.io.figures import render_run
        from oncotwin.parallel import on_root

        on_root(self.comm, render_run, work)

    def write_manifest(self, work: Path, started: str, mesh_info: dict) -> None:
        """manifest.json: provenance of the run (rank 0)."""
        if self.comm.rank != 0:
            return
        manifest = {
            "oncotwin": __version__,
            "case_file": str(Path(self.case_file).resolve()),
            "case_sha256": self.case_sha256,
            "resolved_case": json.loads(self.case.model_dump_json()),
            "mesh": mesh_info,
            "ranks": self.comm.size,
            "packages": package_versions(),
            "start": started,
            "end": now(),
            "stages": self.timer.stages,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_float) + "\n")


def _json_float(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
