"""One run of a case: the readable pipeline mesh -> physics -> outputs -> manifest."""

from __future__ import annotations

import json
import math
import signal
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.case.schema import Case
from oncotwin.core.errors import RunInterrupted
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import collective
from oncotwin.core.rundir import RunDirectory
from oncotwin.io.fields import VtkSeries
from oncotwin.io.figures import render_run
from oncotwin.io.tables import write_csv
from oncotwin.la.petsc import release_garbage
from oncotwin.mesh.cache import ensure_mesh, mesh_inputs
from oncotwin.mesh.distribute import DistributedMeshes, TaggedMesh, read_tagged_mesh
from oncotwin.model.delivery import create_drug_problems, plasma_metrics, plasma_only_curves, write_plasma_csv
from oncotwin.model.fluid import solve_steady_flow
from oncotwin.model.immune import immune_response
from oncotwin.model.tumour import TumourModel
from oncotwin.run import checkpoint, interrupt, partition
from oncotwin.run.manifest import StageTimer, now, package_versions
from oncotwin.run.progress import Progress
from oncotwin.run.timestepping import step_sequence

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
        resume: continue from the last checkpoint of an interrupted run of this case (if any).
        label: progress-bar label (a regimen's name in comparisons).
        meshes: meshes this communicator distributed for earlier runs (an MPI group's jobs), reused
            when the case's mesh is among them; None: read and distribute the mesh.
    """

    comm: MPI.Comm
    case: Case
    case_file: Path
    case_sha256: str
    out: Path
    mesh_root: Path
    force: bool = False
    remesh: bool = False
    resume: bool = False
    label: str = "transient"
    meshes: DistributedMeshes | None = None
    show_progress: bool = True
    timer: StageTimer = field(default_factory=StageTimer)
    steady_metrics: dict[str, float] = field(default_factory=dict)
    rows: list[dict[str, float]] = field(default_factory=list)
    steps: list[dict[str, float]] = field(default_factory=list)
    resumed_from: float | None = None
    physics_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    layouts: dict = field(default_factory=dict)  # partition-independent keys of the state arrays (checkpoints)
    plasma_only: dict = field(default_factory=dict)  # plasma curves of the drugs without a tissue problem

    def run(self) -> Path:
        """Execute the pipeline; returns the final run folder.

        The run's problems are dropped before its mesh, and their parallel PETSc objects (which petsc4py parks
        on the mesh's communicator when Python collects them) destroyed while the mesh is alive: parked, they
        kept about 25 MPI communicators per run on 2 ranks, so a group of a comparison or a forecast ran out of
        MPICH's 2048 after about 80 runs (BENCHMARKS.md, issue 21, session 17).
        """
        started = now()
        rundir, restart = self.open_run_directory()
        try:
            final, tmesh = self._execute(rundir, restart, started)
        except RunInterrupted:
            if checkpoint.saved_time(self.comm, rundir.work) is None:
                rundir.abandon(self.comm)
            else:
                rundir.release(self.comm)
            raise
        except BaseException:
            rundir.abandon(self.comm)
            raise
        release_garbage(tmesh.mesh.comm)
        return final

    def _execute(self, rundir: RunDirectory, restart: checkpoint.Stored | None, started) -> tuple[Path, TaggedMesh]:
        """The stages of :meth:`run`; returns the final folder and the mesh (which outlives the problems)."""
        tmesh, mesh_info = self.initialise()
        fields = []
        fluid = None
        if self.case.physics.fluid.enabled:
            with self.timer.stage("fluid"):
                fluid, fluid_fields = self.solve_fluid(tmesh)
                fields += fluid_fields
        drugs, self.plasma_only = {}, plasma_only_curves(self.case)
        if self.case.physics.drug.enabled:
            with self.timer.stage("drug setup"):
                drugs = self.create_drugs(tmesh, fluid)
                fields += [f for problem in drugs.values() for f in problem.output_fields()]
        tumour = None
        if any(p.enabled for p in (self.case.physics.oxygen, self.case.physics.growth)):
            with self.timer.stage("tumour setup"):
                tumour = self.create_tumour(tmesh, fluid, drugs)
                fields += tumour.output_fields()
        self.layouts = partition.layouts(tmesh.mesh, fields)
        writer = self.open_writer(rundir.work, tmesh, fields, restart.meta["fields"] if restart else ())
        start = 0.0
        if restart is None:
            self.record(0.0, drugs, writer, tumour)
        else:
            start = self.restore(restart, drugs, tumour)
        if self.case.time is not None and (drugs or (tumour is not None and tumour.growth is not None)):
            with self.timer.stage("transient"), interrupt.deferred_stop():
                self.march(drugs, tumour, writer, rundir.work, start)
        with self.timer.stage("output"):
            if writer is not None:
                writer.close()
            self.write_tables(rundir.work, tmesh, drugs)
            checkpoint.discard(self.comm, rundir.work)
        if self.case.output.figures and self.case.output.fields:
            with self.timer.stage("figures"):
                self.render(rundir.work)
        self.write_manifest(rundir.work, started, mesh_info)
        return rundir.commit(self.comm), tmesh

    # ------------------------------------------------------------------ stages
    def open_run_directory(self) -> tuple[RunDirectory, checkpoint.Stored | None]:
        """A new working folder, or with ``resume`` the one of an interrupted run and its checkpoint."""
        if self.resume:
            work = checkpoint.find_resumable(self.comm, self.out, self.case_sha256)
            if work is not None:
                rundir = RunDirectory.reuse(self.comm, self.out, work, self.force, inputs=(self.case_file,))
                try:
                    stored = checkpoint.load(self.comm, work)
                except BaseException:
                    rundir.release(self.comm)
                    raise
                log.info("resuming from the checkpoint at day %.4g in %s (written by %d rank(s))",
                         stored.meta["time"] / 86400.0, work, stored.meta["ranks"])
                return rundir, stored
            rundir = RunDirectory.open(self.comm, self.out, self.force, inputs=(self.case_file,))
            for stale in checkpoint.discard_stale(self.comm, self.out, self.case_sha256):
                log.warning("the case file changed since the interrupted run: discarded its checkpoint %s", stale)
            log.info("no checkpoint of this case to resume from: starting at t = 0")
            return rundir, None
        return RunDirectory.open(self.comm, self.out, self.force, inputs=(self.case_file,)), None

    @contextmanager
    def _clock(self, name: str):
        start = perf_counter()
        try:
            yield
        finally:
            self.physics_seconds[name] += perf_counter() - start

    def restore(self, restart: checkpoint.Stored, drugs: dict, tumour) -> float:
        """Set every evolving state from the checkpoint (on this run's partition); returns its time [s]."""
        meta, arrays = restart.meta, restart.arrays(self.comm, self.layouts)
        self.rows, self.steps = list(meta["rows"]), list(meta["steps"])
        for name, delivery in drugs.items():
            prefix = f"drug.{name}."
            delivery.restore({k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)})
        if tumour is not None:
            tumour.restore({k.removeprefix("tumour."): v for k, v in arrays.items() if k.startswith("tumour.")},
                           meta["time"])
        self.resumed_from = meta["time"]
        return float(meta["time"])

    def save_checkpoint(self, work: Path, t: float, drugs: dict, tumour, writer) -> None:
        """Everything needed to continue from ``t`` exactly as an uninterrupted run would."""
        arrays = {f"drug.{name}.{k}": v for name, d in drugs.items() for k, v in d.state().items()}
        if tumour is not None:
            arrays.update({f"tumour.{k}": v for k, v in tumour.state().items()})
        meta = {"time": t, "case_sha256": self.case_sha256, "rows": self.rows, "steps": self.steps,
                "fields": writer.entries if writer is not None else []}
        checkpoint.save(self.comm, work, meta, arrays, self.layouts)

    def initialise(self) -> tuple[TaggedMesh, dict]:
        """Mesh (or reuse the cached mesh) and distribute it."""
        with self.timer.stage("mesh"):
            folder, reused = ensure_mesh(self.comm, self.case, self.mesh_root, force=self.remesh,
                                         progress=log.info)
            log.info("mesh: %s %s", "reusing" if reused else "wrote", folder)
        with self.timer.stage("distribute"):
            tmesh = (read_tagged_mesh(self.comm, folder) if self.meshes is None
                     else self.meshes.read(self.comm, folder))
        cells = tmesh.mesh.topology.index_map(3).size_global
        log.info("mesh: %d cells on %d rank(s)", cells, self.comm.size)
        return tmesh, {"folder": str(folder), "reused": reused, "cells": cells}

    def solve_fluid(self, tmesh: TaggedMesh):
        """Steady interstitial flow: the problem and its output fields (pressure, velocity, source)."""
        problem, outputs, metrics = solve_steady_flow(self.case, tmesh)
        self.steady_metrics.update(metrics)
        return problem, outputs

    def create_drugs(self, tmesh: TaggedMesh, fluid) -> dict:
        """One transport problem per drug of the treatment that needs one, fed by its plasma curve."""
        return create_drug_problems(self.case, tmesh, fluid)

    def create_tumour(self, tmesh: TaggedMesh, fluid, drugs: dict):
        """Growth, oxygen and mechanics with their treatment effects, in their state at t = 0."""
        tumour = TumourModel(self.case, tmesh, fluid, drugs)
        tumour.start()
        return tumour

    def open_writer(self, work: Path, tmesh: TaggedMesh, fields: list, entries=()):
        """The field time series (VTK XML), or None when fields are off."""
        if not self.case.output.fields:
            return None
        return VtkSeries(self.comm, work / FIELDS_FILE, tmesh.mesh, fields, tmesh.cell_tags, entries)

    def record(self, t: float, drugs: dict, writer, tumour=None) -> None:
        """Metrics row (and fields) at an output time."""
        row = {"time_s": t, "time_day": t / 86400.0, **self.steady_metrics}
        if tumour is not None:
            tumour.prepare_outputs()
            row.update(tumour.metrics())
        for problem in drugs.values():
            row.update(problem.metrics())
        for name, curve in self.plasma_only.items():
            row.update(plasma_metrics(name, curve, t))
        self.rows.append(row)
        if writer is not None:
            writer.write(t)

    def evolve(self, tmesh: TaggedMesh, times: list[float], observe) -> list[dict[str, float]]:
        """In memory, no files: build the physics on ``tmesh`` and march to ``max(times)``.

        ``observe(t, tumour, drugs)`` is called at t = 0 and at each of ``times`` (the step sequence lands
        on them); returns the metrics rows at those times. Used by calibration and ensembles.
        """
        fluid = self.solve_fluid(tmesh)[0] if self.case.physics.fluid.enabled else None
        drugs = self.create_drugs(tmesh, fluid) if self.case.physics.drug.enabled else {}
        self.plasma_only = plasma_only_curves(self.case)
        tumour = self.create_tumour(tmesh, fluid, drugs)
        self.record(0.0, drugs, None, tumour)
        observe(0.0, tumour, drugs)
        self.march(drugs, tumour, None, None, outputs=sorted(set(times)), observe=observe)
        return self.rows

    def march(self, drugs: dict, tumour, writer, work: Path | None, start: float = 0.0,
              outputs: list[float] | None = None, observe=None) -> None:
        """Time loop: drug transport steps (refined after doses), tumour steps at their stops, outputs.

        A checkpoint follows every output (none without ``work``). From a checkpoint at ``start`` the same
        step sequence is followed (it is generated from t = 0 and the steps already done are skipped).
        ``outputs`` replaces the case's output times (the last one ends the run); ``observe(t, tumour,
        drugs)`` is called at each output.
        """
        time = self.case.time
        if outputs is None:
            n_out = int(round(time.end / time.output_every))
            outputs = [k * time.output_every for k in range(1, n_out + 1) if k * time.output_every < time.end]
            outputs.append(time.end)
        end = outputs[-1]
        events = sorted({float(t) for problem in drugs.values() for t in problem.event_times(end)})
        stops = sorted(set(outputs) | set(tumour.stop_times(end) if tumour is not None else []))
        max_step = min(time.max_step, end)
        if tumour is not None and tumour.growth is not None:
            max_step = min(max_step, self.case.physics.growth.step)
        min_step = min(time.min_step, max_step)
        progress = Progress(self.comm, end, label=self.label)
        progress.active = progress.active and self.show_progress
        tol = 1e-9 * end
        clock = self._clock
        next_output = iter([t for t in outputs if t > start + tol])
        next_stop = iter([t for t in stops if t > start + tol])
        target, stop = next(next_output, float("inf")), next(next_stop, float("inf"))
        for t, dt in step_sequence(end, min_step, max_step, events=events, stops=stops):
            if t <= start + tol:
                continue
            step = {"time_s": t, "dt_s": dt}
            with clock("drugs"):
                for name, problem in drugs.items():
                    info = problem.step(dt)
                    step[f"{name}_iterations"] = info.iterations
                    step[f"{name}_mass_balance_error"] = problem.problem.balance.error
            if tumour is not None:
                tumour.after_transport_step(dt)
                if t >= stop - tol:
                    step.update(tumour.advance(t))
                    stop = next(next_stop, float("inf"))
            self.steps.append(step)
            progress.update(t)
            if t >= target - tol:
                with clock("outputs"):
                    self.record(t, drugs, writer, tumour)
                    if observe is not None:
                        observe(t, tumour, drugs)
                target = next(next_output, float("inf"))
                if target != float("inf") and work is not None:  # no checkpoint after the last output: the run is done
                    with clock("checkpoints"):
                        self.save_checkpoint(work, t, drugs, tumour, writer)
            if work is not None and (signum := interrupt.requested(self.comm)):
                raise self.interrupted(signum, t, work)
        progress.close()
        if tumour is not None:
            for name, seconds in tumour.seconds.items():
                self.physics_seconds[name] += seconds
        for name, problem in drugs.items():
            log.info("drug %s: mass balance error %.2e, min concentration %.3g mg/L, %d operators",
                     name, problem.balance_error_max, problem.min_concentration_mg_per_l, problem.operators)

    def interrupted(self, signum: int, t: float, work: Path) -> RunInterrupted:
        """The one-line stop message: where the last checkpoint is and the command that continues."""
        name = signal.Signals(signum).name
        saved = checkpoint.saved_time(self.comm, work)
        if saved is None:
            return RunInterrupted(f"interrupted by {name} at day {t / 86400.0:.4g}, before the first "
                                  "checkpoint: nothing to resume", interrupt.exit_code(signum))
        mpirun = f"mpirun -n {self.comm.size} " if self.comm.size > 1 else ""
        mesh = f" --mesh-dir {self.mesh_root}" if Path(self.mesh_root) != Path("meshes") else ""
        return RunInterrupted(
            f"interrupted by {name} at day {t / 86400.0:.4g}; the checkpoint of day {saved / 86400.0:.4g} is "
            f"kept in {work}; continue with: {mpirun}oncotwin run {self.case_file} --out {self.out}{mesh} "
            "--resume", interrupt.exit_code(signum))

    def write_tables(self, work: Path, tmesh: TaggedMesh, drugs: dict) -> None:
        """metrics.csv, steps.csv, plasma.csv and summary.json (rank 0)."""
        if self.comm.rank != 0:
            return
        write_csv(work / "metrics.csv", self.rows)
        if self.steps:  # every time step: size, Krylov iterations and mass balance of each drug
            write_csv(work / "steps.csv", self.steps)
        curves = {**{name: d.curve for name, d in drugs.items()}, **self.plasma_only}
        if curves and self.case.time is not None:
            write_plasma_csv(work / "plasma.csv", curves, self.case.time.end, self.case.time.min_step)
        summary = {"case": self.case.name, "final": self.rows[-1], "regions": tmesh.regions,
                   "tumour_regions": list(tmesh.tumour_regions), "boundaries": tmesh.boundaries}
        if (category := immune_response(self.rows)) is not None:
            summary["immune_response"] = category
            log.info("response under immunotherapy (iRECIST-style, lesion cells): %s", category)
        (work / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_float) + "\n")

    def render(self, work: Path) -> None:
        """Figures from the written files, shared out over the ranks (each draws its own figures)."""
        collective(self.comm, render_run, work, geometry=self.case.geometry.model_dump(mode="json"),
                   share=(self.comm.rank, self.comm.size))

    def write_manifest(self, work: Path, started: str, mesh_info: dict) -> None:
        """manifest.json: provenance of the run (rank 0)."""
        if self.comm.rank != 0:
            return
        manifest = {
            "oncotwin": __version__,
            "case_file": str(Path(self.case_file).resolve()),
            "case_sha256": self.case_sha256,
            "resolved_case": json.loads(self.case.model_dump_json()),
            "input_files": _input_hashes(self.case),
            "mesh": mesh_info,
            "ranks": self.comm.size,
            "packages": package_versions(),
            "start": started,
            "end": now(),
            "stages": self.timer.stages,
            "resumed_from_s": self.resumed_from,
            "transient_seconds": {k: round(v, 4) for k, v in self.physics_seconds.items()},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_float) + "\n")


def _input_hashes(case: Case) -> dict:
    """Content hashes of the geometry's input files (inputs are identified by content, not headers)."""
    return mesh_inputs(case)["geometry"]


def _json_float(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
