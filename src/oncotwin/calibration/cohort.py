"""``oncotwin calibrate --cohort``: a population prior from earlier patients (two-stage empirical Bayes).

Pipeline: read the cohort file and every patient's case and observations -> mesh each case -> fit
each patient on its own (:class:`~oncotwin.calibration.calibrate.Calibrator`: Levenberg-Marquardt and
Laplace posterior, with the case's own priors) -> population mean and between-patient spread of the
log-parameters (:func:`~oncotwin.calibration.population.two_stage`, no further forward run) -> files.
The first patient's priors double as the weak hyperprior of the population mean.

Written into the output folder (rank 0; the folder appears only on success):

* ``prior.yaml``: the prior of a new patient (:mod:`oncotwin.case.prior_file`): per parameter the
  population median, the log sd combining the between-patient spread and the uncertainty of the median,
  and the bounds (those of the cohort's cases, widest); use it with ``calibration.prior`` or ``--prior``.
  A parameter with a covariate of the cohort file (``covariates``) gets the fitted power model: its
  median at the cohort's reference value (the geometric mean of the patients' values), the exponent with
  its standard error and correlation; a new patient's case evaluates it at its own value;
* ``cohort.json``: the population estimate (median with its 95 % interval, spread, whether the data
  inform each parameter), per patient (by cohort label) the individual MAP and sd, the shrunk random
  effect, convergence and forward runs;
* ``manifest.json``: versions, content hashes of the cohort, case and observation files, timings.

``--reuse DIR`` takes the individual fit of every patient whose case and observation files (content
hashes) and case priors are those of a patient of the earlier cohort calibration ``DIR``, instead of
fitting it again: a patient's fit does not depend on the other patients, so sub-cohorts (a cohort grown
by one patient, the folds of a leave-one-out) cost no forward run for the patients already fitted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import yaml
from mpi4py import MPI

from oncotwin import __version__
from oncotwin.calibration.calibrate import Calibrator, Prior, Subject
from oncotwin.calibration.optimise import Result
from oncotwin.calibration.population import Individual, Population, two_stage
from oncotwin.case import load_case
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.cohort import Cohort, read_cohort
from oncotwin.case.covariates import COVARIATES, covariate_value
from oncotwin.case.observations import read_observations
from oncotwin.case.prior_file import KIND
from oncotwin.core.errors import InputDataError, OncotwinError
from oncotwin.core.hashing import file_sha256
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import RunDirectory
from oncotwin.core.units import convert
from oncotwin.io.tables import json_safe
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh
from oncotwin.run.manifest import StageTimer, now, package_versions

log = get_logger("calibrate")
METHOD = ("two-stage empirical Bayes: per-patient Laplace fits, population mean and between-patient spread of "
          "the log-parameters by EM (Steimer et al. 1984); prior_log_sd = sqrt(spread^2 + var(mean))")


def covariate_matrix(comm: MPI.Comm, cohort: Cohort, patients: list, names: list[str]) -> tuple[
        np.ndarray | None, dict[str, float], list[dict[str, float]]]:
    """``z_ik = log(c_i / c_ref)`` (NaN for parameters without a covariate), the reference values
    ``c_ref`` (geometric means over the cohort) and every patient's covariate values (internal units).

    Raises:
        OncotwinError: a covariate of a parameter the cases do not calibrate, or one a case cannot give.
    """
    if not cohort.covariates:
        return None, {}, [{} for _ in patients]
    for parameter in cohort.covariates:
        if parameter not in names:
            raise OncotwinError(f"{cohort.file}: covariates.{parameter}: the cases do not calibrate {parameter} "
                                f"(they calibrate {', '.join(names)})")
    values: list[dict[str, float]] = []
    for k, (case, _, _) in enumerate(patients):
        own = {}
        for covariate in sorted(set(cohort.covariates.values())):
            try:
                own[covariate] = on_root(comm, covariate_value, case, covariate)
            except (ValueError, InputDataError) as exc:
                raise OncotwinError(f"{cohort.file}: patients.{k}.case ({cohort.cases[k]}): covariate "
                                    f"{covariate}: {exc}") from None
        values.append(own)
    reference = {c: float(np.exp(np.mean([np.log(v[c]) for v in values]))) for c in values[0]}
    z = np.full((len(patients), len(names)), np.nan)
    for j, name in enumerate(names):
        covariate = cohort.covariates.get(name)
        if covariate is not None:
            z[:, j] = [math.log(v[covariate] / reference[covariate]) for v in values]
    return z, reference, values


def read_patients(comm: MPI.Comm, cohort: Cohort) -> list[tuple[object, str, object]]:
    """Every patient's case, its hash and its validated observations; the cases must name the same parameters."""
    patients, names = [], None
    for k, (case_file, observations_file) in enumerate(zip(cohort.cases, cohort.observations, strict=True)):
        case, digest = load_case(comm, case_file)
        where = f"{cohort.file}: patients.{k}.case ({case_file})"
        if case.calibration is None:
            raise OncotwinError(f"{where}: the case has no 'calibration' section (parameters to fit, priors)")
        if not case.physics.growth.enabled:
            raise OncotwinError(f"{where}: calibration fits the growth model: enable physics.growth")
        own = list(case.calibration.parameters)
        if names is not None and own != names:
            raise OncotwinError(f"{where}: calibration.parameters name {own}; every case of a cohort must name "
                                f"{names} (as patients.0 does), in that order")
        names = own
        observations = on_root(comm, read_observations, observations_file, case)
        patients.append((case, digest, observations))
    return patients


def earlier_fits(folder: Path) -> dict[tuple[str, str], dict]:
    """The individual fits of an earlier cohort calibration, by (case, observations) content hashes (one rank).

    Raises:
        OncotwinError: ``folder`` holds no readable ``cohort.json`` and ``manifest.json`` of a cohort calibration.
    """
    try:
        summary = json.loads((folder / "cohort.json").read_text())
        manifest = json.loads((folder / "manifest.json").read_text())
        pairs = zip(summary["patients"], manifest["patients"], strict=True)
        return {(m["case_sha256"], m["observations_sha256"]): p for p, m in pairs if "log_map" in p}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OncotwinError(f"--reuse {folder}: not an earlier cohort calibration (cohort.json and manifest.json "
                            f"of `oncotwin calibrate --cohort`): {exc}") from None


def reused_result(earlier: dict | None, names: list[str], prior: Prior) -> Result | None:
    """The earlier fit as a :class:`Result` (no forward run), or None when it used other parameters or priors."""
    if earlier is None or list(earlier["individual"]) != names:
        return None
    if not (np.allclose(earlier["prior_mean_log"], prior.mean, rtol=0, atol=1e-12)
            and np.allclose(earlier["prior_precision_log"], prior.precision, rtol=1e-12, atol=0)):
        return None
    return Result(x=np.asarray(earlier["log_map"], float), covariance=np.asarray(earlier["log_covariance"], float),
                  objective=earlier["objective"], data_misfit=math.nan, prior_misfit=math.nan,
                  converged=earlier["converged"], runs=0, flat=earlier["flat"])


def fit_patients(comm: MPI.Comm, cohort: Cohort, patients: list, mesh_root: Path, timer: StageTimer,
                 reuse: dict[tuple[str, str], dict] | None = None) -> list[dict]:
    """The individual Laplace fit of every patient (meshes are cached under ``mesh_root``; ``reuse``: earlier
    fits by content hashes, see :func:`earlier_fits`, which need neither mesh nor forward run)."""
    fits = []
    for label, case_file, (case, digest, observations) in zip(cohort.labels, cohort.cases, patients, strict=True):
        prior = Prior.from_case(case.calibration)
        earlier = (reuse or {}).get((digest, observations.sha256))
        result = reused_result(earlier, list(case.calibration.parameters), prior)
        fit = {"label": label, "prior": prior, "spec": case.calibration, "result": result, "reused": True,
               "cells": earlier and earlier["cells"], "forward_seconds": 0.0}
        if result is not None:
            log.info("calibrate --cohort: %s: the earlier fit is reused (same case, observations and priors)", label)
            fits.append(fit)
            continue
        with timer.stage(f"mesh {label}"):
            folder, _ = ensure_mesh(comm, case, mesh_root, progress=log.info)
            tmesh = read_tagged_mesh(comm, folder)
        with timer.stage(f"fit {label}"):
            calibrator = Calibrator(comm, [Subject(case, Path(case_file), digest, observations, tmesh)], prior)
            log.info("calibrate --cohort: fitting %s (%d observation(s))", label,
                     len(observations.segmentations) + len(observations.scalars))
            fit["result"] = calibrator.run()
        fits.append(fit | {"reused": False, "cells": tmesh.mesh.topology.index_map(3).size_global,
                           "forward_seconds": calibrator.forward_seconds()})
    return fits


def covariate_entry(population: Population, j: int, covariate: str, reference: float) -> dict:
    """The ``covariate`` entry of parameter ``j`` in ``prior.yaml`` (reference in the reporting unit)."""
    exponent, exponent_sd, correlation = population.slope_moments(j)
    unit = COVARIATES[covariate]
    shown = convert(reference, unit.internal_unit, unit.unit)
    return {"name": covariate, "reference": f"{shown:.6g} {unit.unit}", "exponent": round(exponent, 6),
            "exponent_sd": round(exponent_sd, 6), "correlation": round(correlation, 6)}


def prior_document(names: list[str], population: Population, fits: list[dict], n: int,
                   covariates: dict[str, str] | None = None, references: dict[str, float] | None = None) -> dict:
    """The ``prior.yaml`` content (quantities in the reporting units)."""
    first = fits[0]["prior"]
    mean, sd = population.predictive(first.mean, first.precision)
    covariates, parameters = covariates or {}, {}
    for j, name in enumerate(names):
        kind = PARAMETERS[name]
        specs = [f["spec"].parameters[name] for f in fits]
        lower, upper = min(s.lower for s in specs), max(s.upper for s in specs)
        median = min(max(math.exp(mean[j]), lower), upper)
        parameters[name] = {"prior": kind.text(median), "prior_log_sd": round(float(sd[j]), 6),
                            "bounds": [kind.text(lower), kind.text(upper)],
                            "between_patient_log_sd": round(float(population.spread[j]), 6),
                            "mean_log_sd": round(float(math.sqrt(population.mean_covariance[j, j])), 6)}
        if not population.informed[j]:
            log.warning("calibrate --cohort: the cohort's data do not inform %s: prior.yaml keeps the case's prior",
                        name)
        elif name in covariates:
            parameters[name]["covariate"] = covariate_entry(population, j, covariates[name],
                                                            references[covariates[name]])
    return {"kind": KIND, "oncotwin": __version__, "method": METHOD, "patients": n, "parameters": parameters}


def cohort_summary(names: list[str], population: Population, fits: list[dict], covariates: dict[str, str] | None = None,
                   references: dict[str, float] | None = None, values: list[dict] | None = None) -> dict:
    """``cohort.json``: the population and per-patient estimates in readable units."""
    covariates = covariates or {}
    mean_sd = np.sqrt(np.diag(population.mean_covariance))
    parameters = {}
    for j, name in enumerate(names):
        kind = PARAMETERS[name]
        parameters[name] = {
            "description": kind.description, "unit": kind.unit, "informed": population.informed[j],
            "population_median": kind.user_value(math.exp(population.mean[j])),
            "population_median_interval_95": [kind.user_value(math.exp(population.mean[j] - 1.96 * mean_sd[j])),
                                              kind.user_value(math.exp(population.mean[j] + 1.96 * mean_sd[j]))],
            "median_log_sd": float(mean_sd[j]), "between_patient_log_sd": float(population.spread[j]),
            "new_patient_log_sd": float(population.predictive_log_sd[j])}
        if name in covariates:
            parameters[name]["covariate"] = covariate_entry(population, j, covariates[name],
                                                            references[covariates[name]])
    patients = []
    for k, (fit, effect, S) in enumerate(zip(fits, population.effects, population.effect_covariances, strict=True)):
        result = fit["result"]
        sd = np.sqrt(np.diag(result.covariance))
        patients.append({
            "label": fit["label"], "converged": result.converged, "flat": result.flat, "forward_runs": result.runs,
            "objective": result.objective, "cells": fit["cells"], "reused": fit["reused"],
            "log_map": result.x.tolist(), "log_covariance": np.asarray(result.covariance).tolist(),
            "prior_mean_log": fit["prior"].mean.tolist(),
            "prior_precision_log": fit["prior"].precision.tolist(),
            "individual": {n: {"map": PARAMETERS[n].user_value(math.exp(result.x[j])), "log_sd": float(sd[j])}
                           for j, n in enumerate(names)},
            "random_effect": {n: {"value": PARAMETERS[n].user_value(math.exp(effect[j])),
                                  "log_sd": float(math.sqrt(S[j, j]))} for j, n in enumerate(names)},
            "covariates": {c: convert(v, COVARIATES[c].internal_unit, COVARIATES[c].unit)
                           for c, v in (values[k] if values else {}).items()}})
    return {"method": METHOD, "parameters": parameters, "patients": patients,
            "em": {"iterations": population.iterations, "converged": population.converged}}


def calibrate_cohort(comm: MPI.Comm, cohort_file: Path, out: Path, mesh_root: Path,
                     force: bool = False, reuse: Path | None = None) -> tuple[Path, dict]:
    """The ``oncotwin calibrate --cohort`` pipeline; returns the folder and the ``cohort.json`` summary."""
    started, timer = now(), StageTimer()
    cohort = on_root(comm, read_cohort, cohort_file)
    earlier = on_root(comm, earlier_fits, reuse) if reuse is not None else None
    patients = read_patients(comm, cohort)
    names = list(patients[0][0].calibration.parameters)
    z, references, values = covariate_matrix(comm, cohort, patients, names)
    rundir = RunDirectory.open(comm, out, force, kind="cohort",
                               inputs=(cohort.file, *cohort.cases, *cohort.observations))
    try:
        fits = fit_patients(comm, cohort, patients, mesh_root, timer, earlier)
        individuals = [Individual(f["result"].x, f["result"].covariance, f["prior"].mean,
                                  f["prior"].precision) for f in fits]
        population = on_root(comm, two_stage, individuals, covariates=z)
        summary = cohort_summary(names, population, fits, cohort.covariates, references, values)
        if comm.rank == 0:
            prior = prior_document(names, population, fits, len(fits), cohort.covariates, references)
            (rundir.work / "prior.yaml").write_text(
                "# Population prior of a new patient: use it with `calibration.prior: prior.yaml` or `--prior`\n"
                + yaml.safe_dump(prior, sort_keys=False))
            (rundir.work / "cohort.json").write_text(json.dumps(json_safe(summary), indent=2) + "\n")
            manifest = {"oncotwin": __version__, "cohort_sha256": file_sha256(cohort.file),
                        "patients": [{"label": label, "case_sha256": digest, "observations_sha256": obs.sha256}
                                     for label, (_, digest, obs) in zip(cohort.labels, patients, strict=True)],
                        "ranks": comm.size, "forward_runs": sum(f["result"].runs for f in fits),
                        "forward_seconds": round(sum(f["forward_seconds"] for f in fits), 3),
                        "packages": package_versions(), "start": started, "end": now(), "stages": timer.stages}
            (rundir.work / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        final = rundir.commit(comm)
    except BaseException:
        rundir.abandon(comm)
        raise
    return final, summary
