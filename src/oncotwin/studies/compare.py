"""Regimen comparison: every regimen on the same patient mesh, in parallel over MPI groups.

``MPI_COMM_WORLD`` is split into groups of ``ranks_per_regimen`` ranks; group ``g`` runs regimens
``g, g + G, g + 2G, ...`` one after the other (``G`` groups). Each regimen is an ordinary run written to
``regimens/<name>/``; rank 0 then reads their metrics and writes the comparison table (CSV, JSON) with
response categories and the ranking. The whole folder is written beside its final place and renamed on
success, like a run.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.case.regimens import CONTROL, RegimenFile, ResponseThresholds
from oncotwin.core.log import get_logger
from oncotwin.core.rundir import RunDirectory
from oncotwin.io.tables import json_safe
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import DistributedMeshes
from oncotwin.outcomes.dvh import eqd2
from oncotwin.outcomes.ntcp import ntcp_lkb, organ_parameters
from oncotwin.pk.limits import cumulative_limit
from oncotwin.run.manifest import StageTimer, now, package_versions
from oncotwin.studies.clinical import NORMAL_ALPHA_BETA_GY, clinical_outcomes
from oncotwin.studies.groups import run_in_groups, simulation_job, split
from oncotwin.studies.outcome import read_metrics, regimen_metrics

log = get_logger("compare")
TABLE_CSV, TABLE_JSON = "comparison.csv", "comparison.json"


@dataclass
class Comparison:
    """Runs a regimen file's regimens on a case and tabulates them.

    Args:
        comm: world communicator.
        regimens: validated regimens (control first).
        spec: the regimen file (objective, response thresholds).
        case_file: the patient case file.
        case_sha256: its hash.
        regimens_file: the regimen file.
        regimens_sha256: its hash.
        out: final comparison folder.
        mesh_root: mesh cache.
        ranks_per_regimen: group size.
        force: replace an existing comparison.
    """

    comm: MPI.Comm
    regimens: list
    spec: RegimenFile
    case_file: Path
    case_sha256: str
    regimens_file: Path
    regimens_sha256: str
    out: Path
    mesh_root: Path
    ranks_per_regimen: int = 1
    force: bool = False

    def run(self) -> Path:
        """Run every regimen, write the table; returns the final folder."""
        started, timer = now(), StageTimer()
        group_comm, group, n_groups = split(self.comm, self.ranks_per_regimen)
        rundir = RunDirectory.open(self.comm, self.out, self.force, kind="comparison",
                                   inputs=(self.case_file, self.regimens_file))
        try:
            with timer.stage("mesh"):  # once, before the groups read it concurrently
                ensure_mesh(self.comm, self.regimens[0].case, self.mesh_root, progress=log.info)
            log.info("compare: %d regimens on %d group(s) of %d rank(s)", len(self.regimens), n_groups,
                     self.ranks_per_regimen)
            with timer.stage("regimens"):
                meshes = DistributedMeshes()  # each group distributes the mesh once for all its regimens
                jobs = [simulation_job(f"regimen '{r.name}'", r.name, r.case, rundir.work / "regimens" / r.name,
                                       self.case_file, self.case_sha256, self.mesh_root, meshes)
                        for r in self.regimens]
                run_in_groups(self.comm, group_comm, group, n_groups, jobs)
            if self.comm.rank == 0:
                table = tabulate(rundir.work, self.regimens, self.spec)
                write_table(rundir.work, table, self.spec, self.case_file, self.regimens[0].case.name)
                manifest = {"oncotwin": __version__, "case_file": str(Path(self.case_file).resolve()),
                            "case_sha256": self.case_sha256,
                            "regimens_file": str(Path(self.regimens_file).resolve()),
                            "regimens_sha256": self.regimens_sha256, "ranks": self.comm.size,
                            "ranks_per_regimen": self.ranks_per_regimen, "groups": n_groups,
                            "packages": package_versions(), "start": started, "end": now(),
                            "stages": timer.stages}
                (rundir.work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            final = rundir.commit(self.comm)
        except BaseException:
            rundir.abandon(self.comm)
            raise
        finally:
            group_comm.Free()
        return final


# ------------------------------------------------------------------------------------------ table
_OBJECTIVE_KEYS = {"final_tumour_volume": "final_tumour_volume_mm3", "min_tumour_volume": "min_tumour_volume_mm3",
                   "final_tumour_cells": "final_tumour_cells", "final_viable_volume": "final_viable_volume_mm3"}


def tabulate(work: Path, regimens: list, spec: RegimenFile) -> list[dict]:
    """One entry per regimen with its metrics, clinical outcomes, feasibility, objective value and rank."""
    objective = spec.objective
    entries = []
    for regimen in regimens:
        drugs = regimen.case.treatment.drug_names()
        rows = read_metrics(work / "regimens" / regimen.name / "metrics.csv")
        metrics = regimen_metrics(rows, drugs, spec.response)
        clinical = clinical_outcomes(regimen.case, rows, spec.outcomes)
        violated, binding = [], []
        for c in objective.constraints:
            value, limit = constraint_value(c, metrics, clinical)
            if value is None:
                continue
            text = f"{c.describe(limit).split(' <= ')[0]} {value:.4g} > {limit:g}"
            if value > limit:
                violated.append(text)
            binding.append((value / limit, c.describe(limit)))
        metrics["feasible"] = not violated
        metrics["violations"] = violated
        metrics["closest_constraint"] = max(binding)[1] if binding else None
        metrics["objective_value"] = objective_value(objective, metrics, clinical)
        entries.append({"name": regimen.name, "description": regimen.description,
                        "run_dir": f"regimens/{regimen.name}", "summary": treatment_summary(regimen.case.treatment),
                        "treatment": json.loads(regimen.case.treatment.model_dump_json()), "metrics": metrics,
                        "clinical": clinical})
    sign = -1.0 if objective.maximise else 1.0
    feasible = sorted((e for e in entries if e["metrics"]["feasible"] and e["metrics"]["objective_value"] is not None),
                      key=lambda e: (sign * e["metrics"]["objective_value"], e["name"]))
    for rank, entry in enumerate(feasible, start=1):
        entry["rank"] = rank
    for entry in entries:
        entry.setdefault("rank", None)
    return entries


def objective_value(objective, metrics: dict, clinical: dict) -> float | None:
    """The value the ranking sorts by (``None``: not available for this regimen)."""
    if objective.minimise:
        return metrics[_OBJECTIVE_KEYS[objective.minimise]]
    if objective.maximise == "median_os":
        return clinical["survival"].get("median_os_months")
    return clinical["radiotherapy"].get("tcp", 0.0) if clinical["radiotherapy"] else 0.0


def constraint_value(c, metrics: dict, clinical: dict) -> tuple[float | None, float]:
    """(value of the constrained outcome for this regimen or ``None`` if it does not apply, limit)."""
    if c.metric in ("normal_auc", "normal_cmax"):
        table = metrics["normal_auc_mg_h_per_L" if c.metric == "normal_auc" else "normal_cmax_mg_per_L"]
        return table.get(c.drug), c.max
    if c.metric.endswith("_neutropenia"):
        summary = clinical["neutropenia"].get(c.drug)
        return (summary[f"{c.metric.removesuffix('_neutropenia')}_neutropenia"] if summary else None), c.max
    if c.metric == "cumulative_dose":
        dose = clinical["cumulative_dose_mg_per_m2"].get(c.drug)
        limit = c.max if c.max is not None else dose["limit_mg_per_m2"] if dose else math.inf
        return (dose["mg_per_m2"] if dose else None), limit
    entry = next((v for v in (clinical["radiotherapy"] or {}).get("ntcp", {}).values()
                  if v["region"] == c.region and v["organ"] == organ_parameters(c.organ).organ), None)
    if entry is None and clinical["radiotherapy"]:
        dose = eqd2_of(clinical, c.region)
        return float(ntcp_lkb([dose], [1.0], organ_parameters(c.organ))), c.max
    return (entry["ntcp"] if entry else None), c.max


def eqd2_of(clinical: dict, region: str) -> float:
    """EQD2 (alpha/beta 3 Gy) of a region's uniform dose, 0 outside the dosed regions."""
    r = clinical["radiotherapy"]["regions"].get(region)
    return float(eqd2(r["dose_Gy"], r["fractions"], NORMAL_ALPHA_BETA_GY)) if r else 0.0


def clinical_columns(clinical: dict) -> dict[str, object]:
    """The clinical numbers of one regimen as flat table columns."""
    row: dict[str, object] = {}
    for drug, f in clinical["neutropenia"].items():
        row.update({f"{drug}_anc_nadir_1e9_per_L": f["nadir_anc_1e9_per_L"], f"{drug}_anc_nadir_day": f["nadir_day"],
                    f"{drug}_p_grade3_neutropenia": f["p_grade3_neutropenia"],
                    f"{drug}_p_grade4_neutropenia": f["p_grade4_neutropenia"]})
    for drug, d in clinical["cumulative_dose_mg_per_m2"].items():
        row[f"{drug}_cumulative_mg_per_m2"] = d["mg_per_m2"]
    surv = clinical["survival"]
    row.update({"median_os_months": surv.get("median_os_months"), "p_alive_1y": surv.get("p_alive_1y"),
                "p_alive_2y": surv.get("p_alive_2y"), "survival_note": surv.get("note")})
    rt = clinical["radiotherapy"]
    if rt:
        row["tcp"] = rt["tcp"]
        row.update({f"ntcp_{k.replace(':', '_')}": v["ntcp"] for k, v in rt["ntcp"].items()})
    res = clinical["resistance"]
    row.update({"p_resistant_at_start": res.get("p_resistant_at_start"),
                "p_resistance_emergence": res.get("p_emergence_by_horizon")})
    return row


def treatment_summary(treatment) -> str:
    """A treatment in words, e.g. 'RT 30 x 2 Gy; temozolomide 75 mg/m^2 oral, daily x 42'."""
    parts = []
    rt = treatment.radiotherapy
    if rt is not None:
        parts.append(f"RT {len(rt.fraction_times())} x {rt.dose_per_fraction:g} Gy ({rt.schedule})")
    for adm in treatment.drugs:
        parts.append(f"{adm.drug} {adm.dose.text} {adm.effective_route}, {adm.schedule or 'once'}")
    aa = treatment.antiangiogenic
    if aa is not None:
        parts.append(f"anti-angiogenic ({aa.schedule}, permeability x{aa.permeability_scale:g})")
    return "; ".join(parts) or "no treatment"


def _limits(spec: RegimenFile) -> dict[int, float]:
    """Library limits of cumulative-dose constraints written without 'max'."""
    out = {}
    for i, c in enumerate(spec.objective.constraints):
        if c.metric == "cumulative_dose" and c.max is None:
            out[i] = cumulative_limit(c.drug).mg_per_m2
    return out


def write_table(work: Path, entries: list[dict], spec: RegimenFile, case_file: Path, case_name: str) -> None:
    """comparison.json (everything) and comparison.csv (one flat row per regimen)."""
    ranking = [e["name"] for e in sorted((e for e in entries if e["rank"] is not None), key=lambda e: e["rank"])]
    document = {
        "case": case_name,
        "case_file": str(Path(case_file).resolve()),
        "objective": {**spec.objective.model_dump(), "description": spec.objective.describe(_limits(spec))},
        "outcomes": spec.outcomes.model_dump(),
        "follow_up_day": spec.follow_up / 86400.0,
        "note": "model, not a medical device: outcomes are model predictions with the sources named, not advice",
        "response_thresholds": {**spec.response.model_dump(), "description": " ".join(
            (ResponseThresholds.__doc__ or "").split())},
        "regimens": entries,
        "ranking": ranking,
    }
    (work / TABLE_JSON).write_text(json.dumps(json_safe(document), indent=2, default=str) + "\n")
    flat = []
    for e in entries:
        m = e["metrics"]
        row = {"regimen": e["name"], "rank": e["rank"] or "", "treatment": e["summary"]}
        clinical = {k: ("" if v is None else v) for k, v in clinical_columns(e["clinical"]).items()}
        for key, value in m.items():
            if isinstance(value, dict):
                row.update({f"{key.removesuffix('_mg_h_per_L').removesuffix('_mg_per_L')}_{d}"
                            f"{'_mg_h_per_L' if 'auc' in key else '_mg_per_L'}": v for d, v in value.items()})
            elif isinstance(value, list):
                row[key] = "; ".join(value)
            else:
                row[key] = "" if value is None else value
        row.update(clinical)
        flat.append(row)
    keys = list(dict.fromkeys(k for row in flat for k in row))
    with open(work / TABLE_CSV, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(flat)


__all__ = ["CONTROL", "Comparison", "tabulate", "treatment_summary", "write_table"]
