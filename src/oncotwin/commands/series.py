"""``oncotwin series``: fit and forecast tumour-size series (RECIST lesion tables); priors for a spatial case.

* ``series fit TABLE --model M [--population] --out DIR``: fitted parameters, the model at every scan
  and on a grid to 12 weeks after the last scan, RECIST categories, week-8 change, figures, report.html;
* ``series forecast TABLE --model M --until DAY ...``: the same, with the forecast to ``DAY``;
* ``series prior FIT_DIR [--case CASE] --out prior.yaml``: the ``calibration.parameters`` priors of a spatial
  case from an ``oncotwin_0d`` fit (a case file deriving from CASE when given).

Serial (rank 0 does the work; other ranks wait and share the exit status).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import RunDirectory, new_file
from oncotwin.report.pages.series import FIGURES, figure_name, patient_figure, series_page
from oncotwin.run.manifest import package_versions
from oncotwin.series.prior import prior_block, prior_document
from oncotwin.series.registry import get_model
from oncotwin.series.table import check_forecastable, read_table
from oncotwin.series.workflow import SeriesFit, fit_table, write_outputs


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Run ``series fit``, ``series forecast`` or ``series prior``; returns the exit status."""
    if args.action == "prior":
        path = on_root(comm, _prior, args)
        if comm.rank == 0:
            print(f"series prior: {path}")
        return 0
    model = get_model(args.model)  # an unknown name fails before anything is read or created
    lesions = on_root(comm, _read, args)
    rundir = RunDirectory.open(comm, args.out, args.force, kind="series", inputs=[args.table])
    try:
        fitted = on_root(comm, _write, args, model, lesions, rundir.work)
        final = rundir.commit(comm)
    except BaseException:
        rundir.abandon(comm)
        raise
    if comm.rank == 0:
        _print(final, fitted)
    return 0


def _read(args: argparse.Namespace):
    lesions = read_table(args.table)
    check_forecastable(lesions, args.table)
    return lesions


def _write(args: argparse.Namespace, model, lesions, work: Path) -> list[str]:
    start = dt.datetime.now(dt.UTC)
    fitted = fit_table(lesions, model, args.population, getattr(args, "until", None), args.draws)
    write_outputs(work, fitted, args.table)
    (work / FIGURES).mkdir()
    for patient in dict.fromkeys(les.patient for les in lesions):
        rows = [r for r in fitted.forecast if r["patient"] == patient]
        (work / FIGURES / figure_name(patient)).write_bytes(patient_figure(rows))
    manifest = {"oncotwin": __version__, "command": f"series {args.action}", "table": str(args.table),
                "table_sha256": hashlib.sha256(Path(args.table).read_bytes()).hexdigest(),
                "model": model.name, "population_prior": args.population, "ranks": 1,
                "start": start.isoformat(), "end": dt.datetime.now(dt.UTC).isoformat(),
                "packages": package_versions()}
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (work / "report.html").write_text(series_page(work), encoding="utf-8")
    return _summary_lines(fitted)  # plain text: the fit holds the model's functions, which ranks cannot share


def _summary_lines(fitted: SeriesFit) -> list[str]:
    lines = [f"({fitted.model.name}, {len(fitted.lesions)} lesions{', population prior' if fitted.population else ''})"]
    for metric in fitted.tgi[:20]:
        categories = [s.category for s in fitted.recist if s.patient == metric.patient]
        lines.append(f"  {metric.patient}: week-8 change {100 * metric.week8_change:+.1f} %, RECIST "
                     f"{' '.join(c for c in categories if c != 'baseline') or '-'}")
    if len(fitted.tgi) > 20:
        lines.append(f"  ... {len(fitted.tgi) - 20} more patients in tgi.csv")
    return lines


def _print(final: Path, lines: list[str]) -> None:
    print(f"series: {final} {lines[0]}")
    for line in lines[1:]:
        print(line)
    print(f"  report: {final / 'report.html'}")


def _prior(args: argparse.Namespace) -> Path:
    summary_path = args.fit_dir / "series.json"
    if not summary_path.is_file():
        raise InputDataError(f"{args.fit_dir}: not a folder of `oncotwin series fit` (series.json expected)")
    summary = json.loads(summary_path.read_text())
    if summary.get("model") != "oncotwin_0d":
        raise CaseError(str(summary_path), "model", summary.get("model"), "priors for a spatial case come from "
                        "a fit with --model oncotwin_0d (the spatial model's kinetics)")
    values: dict[str, list[float]] = {"proliferation_rate": [], "kill_rate": []}
    with (args.fit_dir / "parameters.csv").open() as fh:
        header = fh.readline().strip().split(",")
        for line in fh:
            row = dict(zip(header, line.strip().split(","), strict=False))
            if row.get("parameter") in values:
                values[row["parameter"]].append(float(row["value"]))
    block = prior_block(values)
    only = None
    if args.case is not None:
        case, _ = read_case(args.case)
        only = [name for name in block if PARAMETERS[name].requires(case) is None]
        if not only:
            raise CaseError(str(args.case), "physics.growth", "<none>", "the case needs physics.growth (and one "
                            "drug effect for drug_kill_rate) to take these priors")
    text = prior_document(block, args.case, args.out, str(args.fit_dir), len(values["kill_rate"]), only)
    with new_file(args.out, args.force) as tmp:
        tmp.write_text(text)
    return args.out
