"""``oncotwin forecast``: regimens run on samples of the calibrated parameters, as probabilities.

The Laplace posterior of a calibration (log-normal parameters) is sampled (seeded; samples outside the
bounds are clipped to them), every regimen runs once per sample over MPI groups (as ``compare`` does),
and rank 0 summarises each regimen:

* the probability of progression by a given day (volume above its running nadir by the response
  threshold, as in ``compare``) and of the resistant fraction exceeding a given value by then;
* tumour-volume bands (5 %, 50 %, 95 % across samples) at every output time, and their figure;
* the response category of each sample (how many CR, PR, SD, PD).

With ``calibration.surrogate: on`` (or ``auto`` when it saves runs) a Gaussian-process emulator trained on a
design of full runs stands in for the members it reproduces within the bands' Monte Carlo error, checked
against full runs of some samples (:mod:`oncotwin.calibration.forecast_surrogate`); a regimen whose check
fails runs all its samples with the full model.

Written: ``forecast.json``, ``forecast.csv``, ``bands.csv``, ``samples.csv``, ``forecast_volume.png``,
``manifest.json`` (with the number of full runs), ``surrogate.json`` (the check of every regimen's
emulator, with the surrogate), and the member runs under ``members/<regimen>/<sample>/`` (the design's under
``members/<regimen>/design/``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin import __version__
from oncotwin.calibration.calibrate import read_posterior
from oncotwin.calibration.forecast_surrogate import SeriesSurrogate, check, check_count, design_points
from oncotwin.calibration.parameters import replace, set_parameter
from oncotwin.case import load_case
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import with_prior
from oncotwin.case.regimens import ResponseThresholds, read_regimens, response_volume
from oncotwin.core.errors import OncotwinError
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import RunDirectory
from oncotwin.io.tables import write_csv
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import DistributedMeshes
from oncotwin.run.manifest import StageTimer, now, package_versions
from oncotwin.studies.groups import run_in_groups, simulation_job, split
from oncotwin.studies.outcome import read_metrics, regimen_metrics

log = get_logger("forecast")
DAY = 86400.0
PERCENTILES = (5, 50, 95)


def sample_posterior(posterior: dict, bounds: list[tuple[float, float]], n: int, seed: int) -> np.ndarray:
    """``n`` log-parameter samples of the Laplace posterior, clipped to the (internal-unit) bounds."""
    rng = np.random.default_rng(seed)
    mean = np.asarray(posterior["mean_log"])
    cov = np.asarray(posterior["covariance_log"])
    samples = rng.multivariate_normal(mean, cov, size=n, method="cholesky")
    lower = np.log([b[0] for b in bounds])
    upper = np.log([b[1] for b in bounds])
    return np.clip(samples, lower, upper)


@dataclass
class Forecast:
    """Runs regimens on posterior samples and writes the probabilities.

    Args:
        comm: world communicator.
        regimens: (name, description, case) per regimen; each case has the calibrated parameters.
        posterior: the calibration's ``posterior.json`` content.
        case_file: the patient case file.
        case_sha256: its hash.
        out: final forecast folder.
        mesh_root: mesh cache.
        samples: posterior samples per regimen.
        seed: random seed.
        ranks_per_member: ranks of each MPI group.
        progression_by: day by which progression and resistance probabilities are reported (None: end).
        resistant_above: resistant-fraction threshold.
        response: response thresholds (as in compare), with the readout resolved (not ``auto``).
        force: replace an existing forecast.
    """

    comm: MPI.Comm
    regimens: list[tuple[str, str, object]]
    posterior: dict
    case_file: Path
    case_sha256: str
    out: Path
    mesh_root: Path
    samples: int = 16
    seed: int = 0
    ranks_per_member: int = 1
    progression_by: float | None = None
    resistant_above: float = 0.1
    response: object = None
    force: bool = False
    _full_runs: int = field(default=0, init=False)
    _meshes: DistributedMeshes = field(default_factory=DistributedMeshes, init=False)  # one read per group

    def run(self) -> Path:
        """Run every member (or the surrogate's design and checks), summarise; returns the final folder."""
        started, timer = now(), StageTimer()
        names = self.posterior["parameters"]
        base = self.regimens[0][2]
        bounds = [(base.calibration.parameters[n].lower, base.calibration.parameters[n].upper)
                  if base.calibration and n in base.calibration.parameters else (0.0, math.inf) for n in names]
        draws = sample_posterior(self.posterior, bounds, self.samples, self.seed)
        group_comm, group, n_groups = split(self.comm, self.ranks_per_member, "--ranks-per-member")
        groups = (group_comm, group, n_groups)
        rundir = RunDirectory.open(self.comm, self.out, self.force, kind="forecast", inputs=(self.case_file,))
        try:
            with timer.stage("mesh"):
                ensure_mesh(self.comm, base, self.mesh_root, progress=log.info)
            log.info("forecast: %d regimen(s) x %d samples on %d group(s) of %d rank(s)", len(self.regimens),
                     len(draws), n_groups, self.ranks_per_member)
            with timer.stage("members"):
                if self._surrogate_wanted(base, len(draws)):
                    emulated, surrogate = self._emulated_members(rundir.work, draws, bounds, groups)
                else:
                    self._run(groups, [(name, case, k, x) for name, _, case in self.regimens
                                       for k, x in enumerate(draws)], rundir.work)
                    emulated, surrogate = {}, None
            if self.comm.rank == 0:
                summary = self.summarise(rundir.work, draws, self.response, emulated)
                manifest = {"oncotwin": __version__, "case_file": str(Path(self.case_file).resolve()),
                            "case_sha256": self.case_sha256, "posterior": self.posterior.get("cases"),
                            "prior_file": self.posterior.get("prior_file"),
                            "samples": self.samples, "seed": self.seed, "ranks": self.comm.size,
                            "ranks_per_member": self.ranks_per_member, "groups": n_groups,
                            "full_runs": self._full_runs, "surrogate": surrogate,
                            "packages": package_versions(), "start": started, "end": now(), "stages": timer.stages}
                (rundir.work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
                if surrogate is not None:
                    (rundir.work / "surrogate.json").write_text(json.dumps(surrogate, indent=2) + "\n")
                log.info("forecast: %s", "; ".join(
                    f"{r['regimen']}: P(progression by day {r['by_day']:g}) {r['p_progression']:.2f}"
                    for r in summary["regimens"]))
            final = rundir.commit(self.comm)
        except BaseException:
            rundir.abandon(self.comm)
            raise
        finally:
            group_comm.Free()
        return final

    # ------------------------------------------------------------------ members
    def _surrogate_wanted(self, base, samples: int) -> bool:
        """``calibration.surrogate``: ``on``, or ``auto`` when it represents every parameter and its design
        and checks need fewer full runs than the samples."""
        spec = base.calibration
        if spec is None or spec.surrogate == "off":
            return False
        runs = spec.design_size + check_count(samples, len(spec.parameters))
        if spec.surrogate == "auto":
            return spec.surrogate_on() and runs < samples
        if runs >= samples:
            log.warning("forecast: the surrogate's design and checks (%d full runs per regimen) are not fewer "
                        "than the %d samples", runs, samples)
        return True

    def _run(self, groups, members: list[tuple], work: Path) -> None:
        """Run ``(regimen, case, label, log-parameters)`` members on the MPI groups (full model)."""
        names = self.posterior["parameters"]
        jobs = []
        for name, case, label, x in members:
            member = case
            for pname, value in zip(names, x, strict=True):
                member = set_parameter(member, pname, math.exp(value))
            member = replace(member, ("output",), member.output.model_copy(update={"fields": False, "figures": False}))
            folder = work / "members" / name / (label if isinstance(label, str) else f"{label:03d}")
            jobs.append(simulation_job(f"regimen '{name}' sample {label}", f"{name}#{label}", member, folder,
                                       self.case_file, self.case_sha256, self.mesh_root, self._meshes))
        run_in_groups(self.comm, *groups, jobs)
        self._full_runs += len(jobs)

    def _emulated_members(self, work: Path, draws: np.ndarray, bounds, groups) -> tuple[dict, dict]:
        """Design and check runs, the emulator's check per regimen, full runs where it fails.

        Returns the emulated metrics rows (regimen -> sample -> rows) and the surrogate's report.
        """
        spec = self.regimens[0][2].calibration
        checks = check_count(len(draws), len(spec.parameters))
        with np.errstate(divide="ignore"):
            lower, upper = np.log([b[0] for b in bounds]), np.log([b[1] for b in bounds])
        design = design_points(self.posterior, draws, lower, upper, spec.design_size, self.seed)
        log.info("forecast: surrogate design of %d full runs and %d checked samples per regimen", len(design), checks)
        self._run(groups, [(name, case, f"design/{i:03d}", x) for name, _, case in self.regimens
                           for i, x in enumerate(design)]
                  + [(name, case, k, draws[k]) for name, _, case in self.regimens for k in range(checks)], work)
        emulated, report = on_root(self.comm, self._emulate, work, draws, design, checks)
        failed = [name for name, entry in report["regimens"].items() if not entry["used"]]
        if failed:
            log.warning("forecast: the surrogate missed the bands' Monte Carlo error for %s: their other samples "
                        "run with the full model", ", ".join(failed))
            self._run(groups, [(name, case, k, draws[k]) for name, _, case in self.regimens if name in failed
                               for k in range(checks, len(draws))], work)
        report["full_runs"] = self._full_runs
        return emulated, report

    def _emulate(self, work: Path, draws: np.ndarray, design: np.ndarray, checks: int) -> tuple[dict, dict]:
        """Fit each regimen's emulator on its design, check it (rank 0); see :mod:`.forecast_surrogate`."""
        key = self.response.volume
        emulated, entries = {}, {}
        lower, upper = np.minimum(design.min(axis=0), draws.min(axis=0)), np.maximum(design.max(axis=0),
                                                                                  draws.max(axis=0))
        for name, _, _ in self.regimens:
            folder = work / "members" / name
            runs = [read_metrics(folder / "design" / f"{i:03d}" / "metrics.csv") for i in range(len(design))]
            full = [read_metrics(folder / f"{k:03d}" / "metrics.csv") for k in range(checks)]
            days = [r["time_day"] for r in full[0]]
            volume = np.array([[r[key] for r in rows] for rows in runs])
            resistant = np.array([[r.get("resistant_fraction", math.nan) for r in rows] for rows in runs])
            floor = max(self.response.min_measurable_volume, 1e-3 * float(np.max(volume[:, 0])))
            series = SeriesSurrogate(lower, upper, floor).fit(design, volume, resistant)
            volumes, fractions = series.predict(draws)
            actual = np.array([[r[key] for r in rows] for rows in full])
            ensemble = np.vstack([actual, volumes[checks:]])
            result = check(volumes[:checks], actual, ensemble, PERCENTILES, seed=self.seed)
            entries[name] = {"design": len(design), "checks": checks, **result.as_dict()}
            # the time furthest above (or least below) its tolerance; a ratio is 0/0 where every volume is 0
            worst = int(np.argmax(np.asarray(result.error_max_mm3) - np.asarray(result.tolerance_mm3)))
            log.info("forecast: surrogate of '%s': largest volume error over the %d checks %.2g %% (of nonzero "
                     "volumes); at day %g %.3g mm^3 against a tolerance of %.3g mm^3: %s", name, checks,
                     100 * result.relative_error_max, days[worst], result.error_max_mm3[worst],
                     result.tolerance_mm3[worst], "used" if result.used else "not used (above the bands' "
                     "Monte Carlo error)")
            if result.used:
                emulated[name] = {k: [{"time_day": d, key: v, "resistant_fraction": f}
                                      for d, v, f in zip(days, volumes[k], fractions[k], strict=True)]
                                  for k in range(checks, len(draws))}
        return emulated, {"percentiles": list(PERCENTILES), "regimens": entries}

    def summarise(self, work: Path, draws: np.ndarray, response, emulated: dict | None = None) -> dict:
        """Probabilities and bands per regimen (rank 0); writes the tables and the figure.

        ``emulated``: regimen -> sample -> metrics rows of the samples the surrogate stands in for.
        """
        names = self.posterior["parameters"]
        emulated = emulated or {}
        entries, bands = [], []
        for name, description, case in self.regimens:
            members = [emulated.get(name, {}).get(k)
                       or read_metrics(work / "members" / name / f"{k:03d}" / "metrics.csv") for k in range(len(draws))]
            days = np.array([r["time_day"] for r in members[0]])
            by = self.progression_by / DAY if self.progression_by is not None else float(days[-1])
            at = int(np.argmin(np.abs(days - by)))
            outcomes = [regimen_metrics(rows, case.treatment.drug_names(), response) for rows in members]
            progressed = [o["time_to_progression_day"] is not None and o["time_to_progression_day"] <= by + 1e-9
                          for o in outcomes]
            resistant = [rows[at].get("resistant_fraction", math.nan) > self.resistant_above for rows in members]
            volumes = np.array([[r[response.volume] for r in rows] for rows in members])
            low, mid, high = np.percentile(volumes, PERCENTILES, axis=0)
            for d, a, b, c in zip(days, low, mid, high, strict=True):
                bands.append({"regimen": name, "time_day": d, "volume_p5_mm3": a, "volume_p50_mm3": b,
                              "volume_p95_mm3": c})
            finals = volumes[:, -1]
            categories = {c: sum(o["response"] == c for o in outcomes) for c in ("CR", "PR", "SD", "PD")}
            entries.append({"regimen": name, "description": description, "by_day": by,
                            "p_progression": float(np.mean(progressed)),
                            "p_resistant_above": float(np.mean(resistant)), "resistant_threshold": self.resistant_above,
                            "final_volume_p50_mm3": float(np.median(finals)),
                            "final_volume_p5_mm3": float(np.percentile(finals, 5)),
                            "final_volume_p95_mm3": float(np.percentile(finals, 95)),
                            "responses": categories, "samples": len(draws)})
        summary = {"parameters": names, "samples": len(draws), "seed": self.seed,
                   "response_thresholds": response.model_dump(), "regimens": entries}
        (work / "forecast.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_csv(work / "forecast.csv", [{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in e.items()}
                                           for e in entries])
        write_csv(work / "bands.csv", bands)
        write_csv(work / "samples.csv", [{"sample": k, **{n: PARAMETERS[n].user_value(math.exp(v))
                                                           for n, v in zip(names, x, strict=True)}}
                                          for k, x in enumerate(draws)])
        _plot_bands(work / "forecast_volume.png", bands, [e["regimen"] for e in entries])
        return summary


def _plot_bands(path: Path, bands: list[dict], regimens: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name in regimens:
        rows = [b for b in bands if b["regimen"] == name]
        days = [r["time_day"] for r in rows]
        line, = ax.plot(days, [r["volume_p50_mm3"] / 1000 for r in rows], label=f"{name} (median)")
        ax.fill_between(days, [r["volume_p5_mm3"] / 1000 for r in rows], [r["volume_p95_mm3"] / 1000 for r in rows],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("days after baseline")
    ax.set_ylabel("tumour volume [cm$^3$]")
    ax.set_title("forecast: median and 90 % band over the calibrated parameters")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def prior_posterior(case) -> dict:
    """The case's calibration prior (e.g. a population prior) in the form of a posterior, to be sampled."""
    spec = case.calibration
    names = list(spec.parameters)
    return {"parameters": names, "internal_units": [PARAMETERS[n].internal_unit for n in names],
            "mean_log": [math.log(p.prior) for p in spec.parameters.values()],
            "covariance_log": np.diag([p.prior_log_sd ** 2 for p in spec.parameters.values()]).tolist(),
            "prior_file": str(spec.prior) if spec.prior else None, "observations": [], "cases": None}


def _posterior(comm: MPI.Comm, case, case_file: Path, calibration_dir: Path | None, prior: Path | None) -> dict:
    """What the forecast samples: a calibration's posterior, or (no calibration) the case's prior file."""
    if calibration_dir is not None and prior is not None:
        raise OncotwinError(f"forecast: give --calibration (a patient's posterior) or --prior (a population prior "
                            f"for a new patient), not both: {calibration_dir}, {prior}")
    if calibration_dir is not None:
        return on_root(comm, read_posterior, calibration_dir)
    if case.calibration is None or case.calibration.prior is None:
        raise OncotwinError(f"{case_file}: a forecast samples a calibration (--calibration DIR) or a prior file "
                            "(--prior FILE, or the case's calibration.prior)")
    return prior_posterior(case)


def forecast(comm: MPI.Comm, case_file: Path, calibration_dir: Path | None, out: Path, mesh_root: Path,
             regimens_file: Path | None = None, samples: int = 16, seed: int = 0, ranks_per_member: int = 1,
             progression_by: float | None = None, resistant_above: float = 0.1, force: bool = False,
             prior: Path | None = None) -> Path:
    """The ``oncotwin forecast`` pipeline; returns the final folder.

    Without ``calibration_dir`` it samples the prior file (``prior``, ``--prior``, which wins over the
    case's ``calibration.prior``): a new patient forecast from a population prior.
    """
    response = None
    if regimens_file is not None:
        case, digest, spec, regimens, _ = on_root(comm, read_regimens, case_file, regimens_file)
        members = [(r.name, r.description, r.case) for r in regimens]
        response = spec.response
    else:
        case, digest = load_case(comm, case_file)
        members = [("as_planned", "the case's own treatment", case)]
        default = ResponseThresholds()
        response = default.model_copy(update={"volume": response_volume(default, case, str(case_file), {})})
    if prior is not None:
        members = [(n, d, on_root(comm, with_prior, c, prior)) for n, d, c in members]
        case = members[0][2]
    posterior = _posterior(comm, case, case_file, calibration_dir, prior)
    names = list(case.calibration.parameters) if case.calibration else []
    if names != posterior["parameters"]:
        raise OncotwinError(f"{case_file}: its calibration names {names}, the posterior in {calibration_dir} "
                            f"{posterior['parameters']}")
    if case.time is None:
        raise OncotwinError(f"{case_file}: a forecast needs a 'time' section (its end is the horizon)")
    if samples < 2:
        raise OncotwinError(f"--samples {samples}: at least 2 samples are needed for probabilities")
    return Forecast(comm, members, posterior, case_file, digest, out, mesh_root, samples, seed, ranks_per_member,
                    progression_by, resistant_above, response, force).run()
