"""``oncotwin forecast``: regimens run on samples of the calibrated parameters, as probabilities.

The Laplace posterior of a calibration (log-normal parameters) is sampled (seeded; samples outside the
bounds are clipped to them), every regimen runs once per sample over MPI groups (as ``compare`` does),
and rank 0 summarises each regimen:

* the probability of progression by a given day (volume above its running nadir by the response
  threshold, as in ``compare``) and of the resistant fraction exceeding a given value by then;
* tumour-volume bands (5 %, 50 %, 95 % across samples) at every output time, and their figure;
* the response category of each sample (how many CR, PR, SD, PD).

Written: ``forecast.json``, ``forecast.csv``, ``bands.csv``, ``samples.csv``, ``forecast_volume.png``,
``manifest.json``, and the member runs under ``members/<regimen>/<sample>/``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin import __version__
from oncotwin.calibration.calibrate import read_posterior
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

    def run(self) -> Path:
        """Run every member, summarise; returns the final folder."""
        started, timer = now(), StageTimer()
        response = self.response
        names = self.posterior["parameters"]
        base = self.regimens[0][2]
        bounds = [(base.calibration.parameters[n].lower, base.calibration.parameters[n].upper)
                  if base.calibration and n in base.calibration.parameters else (0.0, math.inf) for n in names]
        draws = sample_posterior(self.posterior, bounds, self.samples, self.seed)
        group_comm, group, n_groups = split(self.comm, self.ranks_per_member, "--ranks-per-member")
        rundir = RunDirectory.open(self.comm, self.out, self.force, kind="forecast", inputs=(self.case_file,))
        try:
            with timer.stage("mesh"):
                ensure_mesh(self.comm, base, self.mesh_root, progress=log.info)
            jobs = []
            for name, _, case in self.regimens:
                for k, x in enumerate(draws):
                    member = case
                    for pname, value in zip(names, x, strict=True):
                        member = set_parameter(member, pname, math.exp(value))
                    member = replace(member, ("output",), member.output.model_copy(
                        update={"fields": False, "figures": False}))
                    jobs.append(simulation_job(f"regimen '{name}' sample {k}", f"{name}#{k}", member,
                                               rundir.work / "members" / name / f"{k:03d}", self.case_file,
                                               self.case_sha256, self.mesh_root))
            log.info("forecast: %d regimen(s) x %d samples on %d group(s) of %d rank(s)", len(self.regimens),
                     len(draws), n_groups, self.ranks_per_member)
            with timer.stage("members"):
                run_in_groups(self.comm, group_comm, group, n_groups, jobs)
            if self.comm.rank == 0:
                summary = self.summarise(rundir.work, draws, response)
                manifest = {"oncotwin": __version__, "case_file": str(Path(self.case_file).resolve()),
                            "case_sha256": self.case_sha256, "posterior": self.posterior.get("cases"),
                            "prior_file": self.posterior.get("prior_file"),
                            "samples": self.samples, "seed": self.seed, "ranks": self.comm.size,
                            "ranks_per_member": self.ranks_per_member, "groups": n_groups,
                            "packages": package_versions(), "start": started, "end": now(), "stages": timer.stages}
                (rundir.work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
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

    def summarise(self, work: Path, draws: np.ndarray, response) -> dict:
        """Probabilities and bands per regimen (rank 0); writes the tables and the figure."""
        names = self.posterior["parameters"]
        entries, bands = [], []
        for name, description, case in self.regimens:
            members = [read_metrics(work / "members" / name / f"{k:03d}" / "metrics.csv") for k in range(len(draws))]
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
