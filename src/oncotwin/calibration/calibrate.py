"""``oncotwin calibrate``: fit a case's growth and treatment parameters to follow-up observations.

One readable pipeline: mesh -> forward model and misfits per subject -> Levenberg-Marquardt ->
Laplace posterior -> files. A subject is one patient (a case with its observations); several subjects
share the parameters (a population fit, e.g. the radiosensitivity of a cohort).

Written into the calibration folder (rank 0; the folder appears only on success):

* ``calibration.json``: parameters (MAP, posterior sd of the log, 95 % interval, prior, bounds),
  correlation, misfit at the MAP per observation (volumes, Dice), the optimiser's path, forward runs;
* ``posterior.json``: the Laplace posterior (log-parameter mean and covariance) that ``forecast`` samples,
  with the observations it has used (``calibrate --update`` refines from it);
* ``calibrated.yaml``: a case fragment (``base:`` the case file) with the MAP values; it runs directly;
* ``path.csv``, ``fit.csv`` (MAP volume curve with the observations), ``fit.png`` and ``manifest.json``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from mpi4py import MPI

from oncotwin import __version__
from oncotwin.calibration.forward import ForwardModel
from oncotwin.calibration.grouped import GroupedRuns, Layout, check_group_size, original_cells
from oncotwin.calibration.misfit import (
    Residual,
    ScalarMisfit,
    SegmentationMisfit,
    concatenate,
)
from oncotwin.calibration.multilevel import coarse_start
from oncotwin.calibration.optimise import Result, levenberg_marquardt
from oncotwin.calibration.parameters import case_fragment
from oncotwin.calibration.surrogate import SurrogateSearch
from oncotwin.case import load_case
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import with_prior
from oncotwin.case.load import deep_merge
from oncotwin.case.observations import Observation, Scalar, read_observations
from oncotwin.core.errors import OncotwinError
from oncotwin.core.fenics import dolfinx
from oncotwin.core.hashing import file_sha256
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import RunDirectory
from oncotwin.imaging.images import read_label_map, world_to_voxel
from oncotwin.io.tables import json_safe
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh
from oncotwin.model.tumour_problems import readout_threshold
from oncotwin.problems.regions import owned_cells
from oncotwin.run.manifest import StageTimer, now, package_versions

log = get_logger("calibrate")
DAY = 86400.0
POSTERIOR = "posterior.json"


@dataclass
class Subject:
    """One patient: the case, its file, its validated observations and the distributed mesh."""

    case: object
    case_file: Path
    case_sha256: str
    observations: object
    tmesh: object
    mesh_folder: Path | None = None
    forward: ForwardModel | None = None
    misfits: list = field(default_factory=list)
    scalars: list = field(default_factory=list)

    @property
    def name(self) -> str:
        """The case's name."""
        return self.case.name


@dataclass
class Prior:
    """Gaussian prior of the log-parameters."""

    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def from_case(cls, spec) -> Prior:
        """Independent log-normal priors from a case's calibration section."""
        mean = np.log([p.prior for p in spec.parameters.values()])
        return cls(mean, np.diag([1.0 / p.prior_log_sd ** 2 for p in spec.parameters.values()]))


def subcell_centroids(levels: int = 2) -> np.ndarray:
    """Barycentric centroids of the 8^levels equal-volume tetrahedra of a regular refinement."""
    corners = [np.eye(4)]
    for _ in range(levels):
        children = []
        for c in corners:
            m = {(i, j): 0.5 * (c[i] + c[j]) for i in range(4) for j in range(i + 1, 4)}
            children += [np.array([c[0], m[0, 1], m[0, 2], m[0, 3]]), np.array([m[0, 1], c[1], m[1, 2], m[1, 3]]),
                         np.array([m[0, 2], m[1, 2], c[2], m[2, 3]]), np.array([m[0, 3], m[1, 3], m[2, 3], c[3]])]
            # the inner octahedron, split along the diagonal m02-m13 into four tetrahedra
            ring = [m[0, 1], m[1, 2], m[2, 3], m[0, 3]]
            children += [np.array([m[0, 2], m[1, 3], ring[k], ring[(k + 1) % 4]]) for k in range(4)]
        corners = children
    return np.array([c.mean(axis=0) for c in corners])


def observed_fractions(V, cells: np.ndarray, observation, levels: int = 2) -> np.ndarray:
    """Fraction of every cell covered by the observed segmentation (its labels).

    The mask is read at the centroids of the 8^levels equal-volume sub-tetrahedra of each cell (nearest
    voxel): an unbiased estimate of the covered volume, whatever the voxel and cell sizes.
    """
    image = read_label_map(observation.segmentation, "segmentation")
    mask = np.isin(image.array, observation.labels)
    weights = subcell_centroids(levels)
    coordinates = V.tabulate_dof_coordinates()
    out = np.empty(len(cells))
    for start in range(0, len(cells), 20_000):  # bounded memory: 64 points per cell
        chunk = cells[start:start + 20_000]
        points = np.einsum("sv,cvd->csd", weights, coordinates[chunk]).reshape(-1, 3)
        index = np.rint(world_to_voxel(points, image.affine)).astype(np.int64)
        inside = np.all((index >= 0) & (index < np.array(mask.shape)), axis=1)
        hits = np.zeros(len(points), dtype=bool)
        i, j, k = index[inside].T
        hits[inside] = mask[i, j, k]
        out[start:start + len(chunk)] = hits.reshape(len(chunk), len(weights)).mean(axis=1)
    return out


class Calibrator:
    """Fits the parameters named in the first subject's ``calibration`` section to every subject's data.

    Args:
        comm: communicator (every subject's mesh lives on it).
        subjects: patients with their observations and meshes.
        prior: prior of the log-parameters (default: the case's priors).
        start: starting log-parameters (default: the case's initial values).
        ranks_per_run: run independent forward runs (Jacobian columns, scans) concurrently on groups of
            this many ranks (:class:`~oncotwin.calibration.grouped.GroupedRuns`; the subjects need their
            ``mesh_folder``); None: every run on all ranks.
    """

    def __init__(self, comm: MPI.Comm, subjects: list[Subject], prior: Prior | None = None,
                 start: np.ndarray | None = None, ranks_per_run: int | None = None):
        self.comm, self.subjects = comm, subjects
        self.spec = subjects[0].case.calibration
        self.names = list(self.spec.parameters)
        for s in subjects[1:]:
            if s.case.calibration is None or list(s.case.calibration.parameters) != self.names:
                raise OncotwinError(f"{s.case_file}: calibration.parameters must name {self.names} like "
                                    f"{subjects[0].case_file}")
        self.prior = prior or Prior.from_case(self.spec)
        p = self.spec.parameters.values()
        self.lower = np.log([q.lower for q in p])
        self.upper = np.log([q.upper for q in p])
        self.start = np.log([q.start for q in p]) if start is None else np.asarray(start, dtype=float)
        misfit = self.spec.misfit
        for s in subjects:
            times = s.observations.times()
            s.forward = ForwardModel(s.case, s.tmesh, times, s.case_file)
            V = dolfinx.fem.functionspace(s.tmesh.mesh, ("Lagrange", 1))
            cells, volumes = owned_cells(V)
            s.misfits = [SegmentationMisfit(comm, cells, volumes, observed_fractions(V, cells, o), o.times,
                                            readout_threshold(s.case, o.readout), misfit.volume_sd,
                                            misfit.shape_discordance)
                         for o in s.observations.segmentations]
            s.scalars = [ScalarMisfit(x.metric, x.times, x.values, x.log_sd or misfit.scalar_sd)
                         for x in s.observations.scalars]
        self.diagnostics: dict = {}
        self.surrogate: dict | None = None
        self.grouped = None
        if ranks_per_run is not None and ranks_per_run != comm.size:
            check_group_size(comm, ranks_per_run)
            missing = [str(s.case_file) for s in subjects if s.mesh_folder is None]
            if missing:
                raise OncotwinError(f"{', '.join(missing)}: concurrent forward runs need the subject's mesh folder")
            self.grouped = GroupedRuns(comm, ranks_per_run, self._group_copy, self.layout())

    def layout(self) -> Layout:
        """Where the spatial residual entries sit (original cell numbers, blocks per subject)."""
        return Layout.create(self.comm, [original_cells(s.tmesh) for s in self.subjects],
                             [sum(len(m.times) for m in s.misfits) for s in self.subjects])

    def forward_seconds(self) -> float:
        """Wall time spent in forward runs: the subjects' own runs plus the concurrent batches on groups."""
        own = sum(s.forward.seconds for s in self.subjects)
        return own + (self.grouped.seconds if self.grouped is not None else 0.0)

    def _group_copy(self, group_comm: MPI.Comm):
        """The residual function and layout of this calibration on a group's copy of the meshes."""
        subjects = [Subject(s.case, s.case_file, s.case_sha256, s.observations,
                            read_tagged_mesh(group_comm, s.mesh_folder), s.mesh_folder) for s in self.subjects]
        inner = Calibrator(group_comm, subjects, self.prior, self.start)
        return inner.evaluate, inner.layout(), inner.readouts

    def readouts(self, x: np.ndarray) -> np.ndarray:
        """One forward run: per segmentation (in order) the log volumes, then the shape terms, per model time
        (:meth:`~oncotwin.calibration.misfit.SegmentationMisfit.terms`; the same on every rank)."""
        out = []
        for s in self.subjects:
            trajectory = s.forward.run(self.values(x))
            for misfit in s.misfits:
                out.extend(misfit.terms(trajectory.density))
        return np.concatenate(out) if out else np.zeros(0)

    def readouts_many(self, points: list[np.ndarray]) -> list[np.ndarray]:
        """:meth:`readouts` at several points (concurrently on the groups when there are groups)."""
        if self.grouped is not None:
            return self.grouped.scalars(points)
        return [self.readouts(x) for x in points]

    def evaluate_many(self, points: list[np.ndarray]) -> list[Residual]:
        """:meth:`evaluate` at several points (concurrently on the groups when there are groups)."""
        return self.grouped(points) if self.grouped is not None else [self.evaluate(x) for x in points]

    def values(self, x: np.ndarray) -> dict[str, float]:
        """Log-parameters -> parameter values (internal units)."""
        return {name: float(math.exp(v)) for name, v in zip(self.names, x, strict=True)}

    def evaluate(self, x: np.ndarray) -> Residual:
        """The weighted residuals of every subject's observations for log-parameters ``x``."""
        parts, diagnostics = [], {}
        for s in self.subjects:
            trajectory = s.forward.run(self.values(x))
            for obs, misfit in zip(s.observations.segmentations, s.misfits, strict=True):
                r, info = misfit.residual(trajectory.seen(obs.readout))
                parts.append(r)
                diagnostics[f"{s.name}/{obs.name}"] = info
            for series, misfit in zip(s.observations.scalars, s.scalars, strict=True):
                r, info = misfit.residual(trajectory)
                parts.append(r)
                diagnostics[f"{s.name}/{series.name}"] = info
        self.diagnostics = diagnostics
        return concatenate(parts)

    def run(self) -> Result:
        """The MAP estimate with its Laplace posterior."""
        opt = self.spec.optimiser

        def report(entry: dict) -> None:
            shown = ", ".join(f"{n} {PARAMETERS[n].text(math.exp(v))}" for n, v in zip(self.names, entry["x"],
                                                                                       strict=True))
            log.info("calibrate: iteration %d: misfit %.4g (data %.4g, prior %.4g) at %s; %d forward runs",
                     entry["iteration"], entry["objective"], entry["data_misfit"], entry["prior_misfit"], shown,
                     entry["forward_runs"])

        start = self.start
        if self.spec.surrogate_on(sum(len(s.scalars) for s in self.subjects)):
            if any(s.scalars for s in self.subjects):
                raise OncotwinError(f"{self.subjects[0].case_file}: calibration.surrogate: on emulates segmentation "
                                    "observations only, not scalar series; use surrogate: off or auto")
            search = SurrogateSearch(self, self.spec.design_size)
            start = search.run()
            self.surrogate = search.report.as_dict()
            log.info("calibrate: surrogate MAP after %d full runs (held-back volume error %.2g %%); finishing "
                     "with the full model", search.report.full_runs, 100 * search.report.held_back_volume_error_max)
        result = levenberg_marquardt(self.comm, self.evaluate, start, self.prior.mean, self.prior.precision,
                                     self.lower, self.upper, max_iterations=opt.max_iterations,
                                     tolerance=opt.tolerance, fd_step=opt.fd_step, report=report,
                                     evaluate_many=self.grouped,
                                     width=self.grouped.n_groups if self.grouped is not None else 1)
        if self.surrogate is not None:
            result.runs += self.surrogate["full_runs"]
            result.rounds += self.surrogate["full_rounds"]
        self.evaluate(result.x)  # diagnostics at the MAP
        return result

    def summary(self, result: Result) -> dict:
        """Parameters, uncertainty and misfit at the MAP in readable units."""
        sd = np.sqrt(np.diag(result.covariance))
        correlation = result.covariance / np.outer(sd, sd)
        parameters = {}
        for j, name in enumerate(self.names):
            kind, spec = PARAMETERS[name], self.spec.parameters[name]
            parameters[name] = {
                "description": kind.description, "unit": kind.unit,
                "map": kind.user_value(math.exp(result.x[j])),
                "log_sd": float(sd[j]),
                "interval_95": [kind.user_value(math.exp(result.x[j] - 1.96 * sd[j])),
                                kind.user_value(math.exp(result.x[j] + 1.96 * sd[j]))],
                "prior_median": kind.user_value(math.exp(self.prior.mean[j])),
                "prior_log_sd": float(1.0 / math.sqrt(self.prior.precision[j, j])),
                "bounds": [kind.user_value(spec.lower), kind.user_value(spec.upper)],
                "start": kind.user_value(math.exp(self.start[j])),
                "at_bound": result.at_bound[j],
            }
        path = [{**{k: v for k, v in e.items() if k != "x"},
                 **{n: PARAMETERS[n].user_value(math.exp(v)) for n, v in zip(self.names, e["x"], strict=True)}}
                for e in result.path]
        return {"parameters": parameters, "correlation": correlation.tolist(), "objective": result.objective,
                "data_misfit": result.data_misfit, "prior_misfit": result.prior_misfit,
                "converged": result.converged, "flat": result.flat, "forward_runs": result.runs,
                "forward_rounds": result.rounds, "observations": self.diagnostics, "path": path,
                "surrogate": self.surrogate}

    def posterior(self, result: Result) -> dict:
        """The Laplace posterior, machine-readable (internal units; log-parameters)."""
        used = [{"subject": s.name, "observation": json.loads(o.model_dump_json())}
                for s in self.subjects for o in s.observations.segmentations]
        used += [{"subject": s.name, "scalar": json.loads(x.model_dump_json())}
                 for s in self.subjects for x in s.observations.scalars]
        return {"parameters": self.names, "internal_units": [PARAMETERS[n].internal_unit for n in self.names],
                "mean_log": result.x.tolist(), "covariance_log": result.covariance.tolist(),
                "prior_mean_log": self.prior.mean.tolist(), "prior_precision_log": self.prior.precision.tolist(),
                "observations": used, "cases": [{"name": s.name, "file": str(Path(s.case_file).resolve()),
                                                 "sha256": s.case_sha256} for s in self.subjects]}

    def fit_curve(self, x: np.ndarray, subject: Subject) -> list[dict]:
        """Tumour volume at the MAP on a daily grid to the last observation (one more forward run)."""
        end = subject.forward.times[-1]
        times = sorted({*(float(t) for t in np.arange(DAY, end, DAY)), end})
        forward = ForwardModel(subject.case, subject.tmesh, times, subject.case_file)
        rows = forward.run(self.values(x)).rows
        return [{"time_day": r["time_s"] / DAY, "tumour_volume_mm3": r["tumour_volume_mm3"],
                 "tumour_cells": r["tumour_cells"]} for r in rows]


def read_posterior(folder: Path) -> dict:
    """The posterior of an earlier calibration (one-line error when missing)."""
    path = Path(folder) / POSTERIOR
    if not path.is_file():
        raise OncotwinError(f"{folder}: not a calibration folder ({POSTERIOR} expected)")
    return json.loads(path.read_text())


def continue_from(posterior: dict, names: list[str], observations):
    """Start and observations for refining an earlier calibration with new observations.

    The refined fit uses every observation (the earlier ones, carried over from the earlier
    calibration's record, plus the new ones of ``observations``), the case's own prior, and starts at
    the earlier MAP: the same optimum as a fit of all observations from scratch, reached in fewer
    forward runs. (Using the earlier Laplace posterior as the prior would be cheaper still but is exact
    only for a linear model; with few early scans it can be far from Gaussian.)

    Returns:
        The starting log-parameters and the merged observations.

    Raises:
        OncotwinError: other parameters than before, a changed or missing earlier observation, or no new
            observation.
    """
    if posterior["parameters"] != names:
        raise OncotwinError(f"the earlier calibration fitted {posterior['parameters']}, this case names {names}")
    earlier = [Observation.model_validate(o["observation"]) for o in posterior["observations"] if "observation" in o]
    for o in earlier:
        if not o.segmentation.is_file() or file_sha256(o.segmentation) != o.sha256:
            raise OncotwinError(f"{o.segmentation}: an observation of the earlier calibration is missing or has "
                                "changed since (its content hash differs)")
    scalars = [Scalar.model_validate(o["scalar"]) for o in posterior["observations"] if "scalar" in o]
    known = {(o.sha256, o.start, o.end) for o in earlier}
    fresh = [o for o in observations.segmentations if (o.sha256, o.start, o.end) not in known]
    fresh_scalars = [x for x in observations.scalars if x.name not in {y.name for y in scalars}]
    if not fresh and not fresh_scalars:
        raise OncotwinError(f"{observations.file}: no observation that the earlier calibration has not used")
    names_taken = {o.name for o in earlier}
    fresh = [o if o.name not in names_taken else o.model_copy(update={"name": f"{o.name}_new"}) for o in fresh]
    merged = observations.model_copy(update={"segmentations": earlier + fresh, "scalars": scalars + fresh_scalars})
    return np.array(posterior["mean_log"]), merged


def write_results(work: Path, calibrator: Calibrator, result: Result, summary: dict, curves: dict,
                  manifest: dict) -> None:
    """Every output file of a calibration (rank 0)."""
    (work / "calibration.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
    (work / POSTERIOR).write_text(json.dumps(calibrator.posterior(result), indent=2) + "\n")
    names = calibrator.names
    with open(work / "path.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary["path"][0]))
        writer.writeheader()
        writer.writerows(summary["path"])
    for s in calibrator.subjects:
        case = s.forward.case_for(calibrator.values(result.x))
        fragment: dict = {"base": str(Path(s.case_file).resolve()), "name": f"{s.case.name}_calibrated",
                          "description": f"{s.case.name} with parameters calibrated by oncotwin {__version__} "
                                         f"from {s.observations.file.name}"}
        for name in names:
            fragment = deep_merge(fragment, case_fragment(case, name))
        fragment.pop("calibration", None)
        target = work / ("calibrated.yaml" if len(calibrator.subjects) == 1 else f"calibrated_{s.name}.yaml")
        header = "# Calibrated case fragment: run it with `oncotwin run " + target.name + "`\n"
        target.write_text(header + yaml.safe_dump(fragment, sort_keys=False))
    rows = []
    for subject, curve in curves.items():
        rows += [{"subject": subject, **row} for row in curve]
    if rows:
        with open(work / "fit.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        _plot_fit(work / "fit.png", calibrator, curves)
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")


def _plot_fit(path: Path, calibrator: Calibrator, curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for s in calibrator.subjects:
        curve = curves[s.name]
        line, = ax.plot([r["time_day"] for r in curve], [r["tumour_volume_mm3"] / 1000 for r in curve],
                        label=f"{s.name}: model at MAP")
        for o in s.observations.segmentations:
            info = calibrator.diagnostics.get(f"{s.name}/{o.name}", {})
            volume = info.get("volume_observed_mm3", o.voxel_volume_mm3) / 1000
            mid, half = 0.5 * (o.start + o.end) / DAY, 0.5 * (o.end - o.start) / DAY
            ax.errorbar([mid], [volume], xerr=[[half], [half]], fmt="o", color=line.get_color(), capsize=3)
    ax.set_xlabel("days after baseline")
    ax.set_ylabel("visible tumour volume [cm$^3$]")
    ax.set_title("calibration fit (points: observations; bars: date windows)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def calibrate(comm: MPI.Comm, case_file: Path, observations_file: Path, out: Path, mesh_root: Path,
              update: Path | None = None, force: bool = False, prior: Path | None = None,
              ranks_per_run: int | None = None) -> tuple[Path, dict]:
    """The ``oncotwin calibrate`` pipeline for one patient; returns the folder and the summary.

    ``prior`` (``--prior``): a prior file whose entries replace the case's priors and bounds (it wins over
    the case's ``calibration.prior``). ``ranks_per_run`` (``--ranks-per-run``): concurrent forward runs on
    groups of this many ranks.
    """
    started, timer = now(), StageTimer()
    if ranks_per_run is not None:
        check_group_size(comm, ranks_per_run)
    case, digest = load_case(comm, case_file)
    if prior is not None:
        case = on_root(comm, with_prior, case, prior)
    if case.calibration is None:
        raise OncotwinError(f"{case_file}: the case has no 'calibration' section (parameters to fit, priors)")
    if not case.physics.growth.enabled:
        raise OncotwinError(f"{case_file}: calibration fits the growth model: enable physics.growth")
    observations = on_root(comm, read_observations, observations_file, case)
    start = None
    if update is not None:
        posterior = on_root(comm, read_posterior, update)
        before = len(posterior["observations"])
        start, observations = on_root(comm, continue_from, posterior, list(case.calibration.parameters),
                                      observations)
        log.info("calibrate: refining %s: %d earlier and %d new observation(s), from its MAP", update, before,
                 len(observations.segmentations) + len(observations.scalars) - before)
    rundir = RunDirectory.open(comm, out, force, kind="calibration", inputs=(case_file, observations_file))
    try:
        with timer.stage("mesh"):
            folder, _ = ensure_mesh(comm, case, mesh_root, progress=log.info)
            tmesh = read_tagged_mesh(comm, folder)
        subject = Subject(case, Path(case_file), digest, observations, tmesh, folder)
        coarse = None
        if case.calibration.multilevel is not None:
            with timer.stage("coarse level"):
                start, coarse = coarse_start(comm, subject, mesh_root, Calibrator, start, ranks_per_run)
        with timer.stage("setup"):
            calibrator = Calibrator(comm, [subject], start=start, ranks_per_run=ranks_per_run)
        with timer.stage("optimise"):
            result = calibrator.run()
        summary = dict(calibrator.summary(result), multilevel=coarse)
        with timer.stage("fit curve"):
            curves = {subject.name: calibrator.fit_curve(result.x, subject)}
        if comm.rank == 0:
            manifest = {"oncotwin": __version__, "case_file": str(Path(case_file).resolve()), "case_sha256": digest,
                        "observations_file": str(observations.file), "observations_sha256": observations.sha256,
                        "updated_from": str(Path(update).resolve()) if update else None, "ranks": comm.size,
                        "prior_file": str(case.calibration.prior) if case.calibration.prior else None,
                        "prior_sha256": file_sha256(case.calibration.prior) if case.calibration.prior else None,
                        "cells": tmesh.mesh.topology.index_map(3).size_global,
                        "ranks_per_run": ranks_per_run or comm.size,
                        "forward_runs": result.runs, "forward_seconds": round(calibrator.forward_seconds(), 3),
                        "packages": package_versions(), "start": started, "end": now(), "stages": timer.stages}
            write_results(rundir.work, calibrator, result, summary, curves, manifest)
        final = rundir.commit(comm)
    except BaseException:
        rundir.abandon(comm)
        raise
    return final, summary
