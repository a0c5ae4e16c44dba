"""The ``oncotwin`` command line: ``main(argv) -> int``, identical under ``mpirun -n N``.

User mistakes end as one line ``oncotwin: error: ...`` on rank 0 and exit status 2 on every rank.
Unexpected errors print a traceback; with several ranks the job is then aborted so that no rank hangs.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.core.errors import OncotwinError
from oncotwin.core.log import configure

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that prints on rank 0 only and raises instead of exiting on bad arguments."""

    def _print_message(self, message, file=None):  # noqa: D102
        if MPI.COMM_WORLD.rank == 0 and message:
            (file or sys.stderr).write(message)

    def error(self, message):  # noqa: D102
        raise OncotwinError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oncotwin", description="Finite-element digital twin of tumour mechanics and transport.")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check a case file and print it resolved in internal units")
    p.add_argument("case", type=Path)

    p = sub.add_parser("mesh", help="mesh a case into <mesh dir>/<case name>/ (cached)")
    p.add_argument("case", type=Path)
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder (default: meshes)")
    p.add_argument("--force", action="store_true", help="remesh even when the cache is valid")

    p = sub.add_parser("run", help="run a case into results/<case name>/ (or --out)")
    p.add_argument("case", type=Path)
    p.add_argument("--out", type=Path, help="run folder (default: results/<case name>)")
    p.add_argument("--force", action="store_true", help="replace an existing result (after success)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder (default: meshes)")
    p.add_argument("--remesh", action="store_true", help="ignore the mesh cache")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run of this case from its last checkpoint (same ranks)")

    p = sub.add_parser("render", help="re-render the figures of a run from its files")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--no-background", action="store_true", help="do not draw the original scan under the fields")

    p = sub.add_parser("probe", help="sample a field of a run at world coordinates (mm) into CSV")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--field", required=True, help="field name, e.g. pressure_mmHg")
    p.add_argument("--points", required=True, type=Path, help="CSV with columns [name,]x,y,z in mm")
    p.add_argument("--time", type=float, action="append", help="output time in s (repeatable; default: all)")
    p.add_argument("--out", type=Path, help="CSV file (default: standard output)")

    p = sub.add_parser("compare", help="run several treatment regimens on one case and rank them")
    p.add_argument("case", type=Path)
    p.add_argument("--regimens", required=True, type=Path, help="regimen file (YAML)")
    p.add_argument("--ranks-per-regimen", type=int, default=1, help="ranks of each MPI group (default 1)")
    p.add_argument("--out", type=Path, help="comparison folder (default: results/<case>_compare)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing comparison (after success)")

    p = sub.add_parser("calibrate", help="fit growth and treatment parameters to follow-up segmentations")
    p.add_argument("case", type=Path, help="case file with a 'calibration' section")
    p.add_argument("--observations", required=True, type=Path, help="observation file (YAML)")
    p.add_argument("--update", type=Path, metavar="CALIBRATION_DIR",
                   help="refine an earlier calibration with the observations it has not used")
    p.add_argument("--out", type=Path, help="calibration folder (default: results/<case>_calibration)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing calibration (after success)")

    p = sub.add_parser("forecast", help="run regimens on samples of a calibration's posterior: probabilities")
    p.add_argument("case", type=Path, help="the calibrated patient's case file")
    p.add_argument("--calibration", required=True, type=Path, help="folder of `oncotwin calibrate`")
    p.add_argument("--regimens", type=Path, help="regimen file (default: the case's own treatment)")
    p.add_argument("--samples", type=int, default=16, help="posterior samples per regimen (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the samples (default 0)")
    p.add_argument("--ranks-per-member", type=int, default=1, help="ranks of each MPI group (default 1)")
    p.add_argument("--by-day", type=float, help="day of the progression and resistance probabilities "
                   "(default: the case's end)")
    p.add_argument("--resistant-above", type=float, default=0.1, help="resistant-fraction threshold (default 0.1)")
    p.add_argument("--out", type=Path, help="forecast folder (default: results/<case>_forecast)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing forecast (after success)")

    p = sub.add_parser("report", help="write a self-contained HTML report of a run, comparison, calibration or forecast")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, help="HTML file (default: RUN_DIR/report.html)")

    sub.add_parser("version", help="print versions of oncotwin and its stack")
    return parser


def _validate(comm, args) -> int:
    from oncotwin.case import load_case

    case, digest = load_case(comm, args.case)
    if comm.rank == 0:
        resolved = json.loads(case.model_dump_json())
        print(json.dumps({"case_file": str(args.case), "sha256": digest, "case": resolved}, indent=2))
    return 0


def _mesh(comm, args) -> int:
    from oncotwin.case import load_case
    from oncotwin.core.log import get_logger
    from oncotwin.mesh.cache import ensure_mesh

    log = get_logger("mesh")
    case, _ = load_case(comm, args.case)
    folder, reused = ensure_mesh(comm, case, args.mesh_dir, force=args.force, progress=log.info)
    if comm.rank == 0:
        quality = json.loads((folder / "quality.json").read_text())
        state = "up to date (cached)" if reused else "written"
        print(f"mesh {state}: {folder}")
        print(f"  {quality['cells']} tetrahedra, {quality['nodes']} nodes; radius ratio min "
              f"{quality['min_radius_ratio']:.3f} mean {quality['mean_radius_ratio']:.3f}; dihedral angles "
              f"{quality['min_dihedral_deg']:.1f}-{quality['max_dihedral_deg']:.1f} deg; inverted {quality['inverted']}")
        for name, region in quality["regions"].items():
            print(f"  region {name:>14s} (tag {region['tag']}): {region['cells']:>8d} cells, "
                  f"{region['volume_mm3']:.1f} mm^3")
    return 0


def _run(comm, args) -> int:
    from oncotwin.case import load_case
    from oncotwin.run.simulation import Simulation

    case, digest = load_case(comm, args.case)
    out = args.out or Path("results") / case.name
    final = Simulation(comm, case, args.case, digest, out, args.mesh_dir, force=args.force,
                       remesh=args.remesh, resume=args.resume).run()
    if comm.rank == 0:
        print(f"results: {final}")
        print(f"  open in ParaView: paraview {final / 'fields.pvd'}")
        print(f"  metrics: {final / 'metrics.csv'}; provenance: {final / 'manifest.json'}")
    return 0


def _render(comm, args) -> int:
    from oncotwin.core.errors import InputDataError
    from oncotwin.core.parallel import on_root
    from oncotwin.io.figures import render_run

    def render():
        if not (args.run_dir / "fields.pvd").is_file() or not (args.run_dir / "summary.json").is_file():
            raise InputDataError(f"{args.run_dir}: not a run folder (fields.pvd and summary.json expected)")
        return render_run(args.run_dir, background=not args.no_background)

    written = on_root(comm, render)
    if comm.rank == 0:
        for path in written:
            print(path)
    return 0


def _probe(comm, args) -> int:
    from oncotwin.core.parallel import on_root
    from oncotwin.io.probe import probe, read_points, write_probe_csv

    def run():
        names, points = read_points(args.points)
        times, values = probe(args.run_dir, args.field, points, args.time)
        if args.out:
            with open(args.out, "w", newline="") as fh:
                write_probe_csv(fh, names, points, args.field, times, values)
        else:
            write_probe_csv(sys.stdout, names, points, args.field, times, values)

    on_root(comm, run)
    return 0


def _version(comm, args) -> int:
    from oncotwin.run.manifest import package_versions

    if comm.rank == 0:
        print(f"oncotwin {__version__}")
        for name, version in package_versions().items():
            if name != "oncotwin":
                print(f"  {name} {version}")
    return 0


def _compare(comm, args) -> int:
    from oncotwin.case.regimens import read_regimens
    from oncotwin.core.parallel import on_root
    from oncotwin.studies.compare import Comparison

    case, digest, spec, regimens, regimens_digest = on_root(comm, read_regimens, args.case, args.regimens)
    out = args.out or Path("results") / f"{case.name}_compare"
    final = Comparison(comm, regimens, spec, args.case, digest, args.regimens, regimens_digest, out,
                       args.mesh_dir, args.ranks_per_regimen, args.force).run()
    if comm.rank == 0:
        table = json.loads((final / "comparison.json").read_text())
        print(f"comparison: {final}")
        print(f"  objective: {table['objective']['description']}")
        for entry in table["regimens"]:
            m = entry["metrics"]
            rank = entry["rank"] if entry["rank"] is not None else "-"
            print(f"  {rank!s:>2} {entry['name']:<20s} {m['response']:>2s}  final volume "
                  f"{m['final_tumour_volume_mm3']:.4g} mm^3 ({m['percent_change']:+.1f} %)"
                  + ("" if m["feasible"] else "  infeasible: " + "; ".join(m["violations"])))
        print(f"  table: {final / 'comparison.csv'}; report: oncotwin report {final}")
    return 0


def _calibrate(comm, args) -> int:
    from oncotwin.calibration.calibrate import calibrate

    out = args.out or Path("results") / f"{args.case.stem}_calibration"
    final, summary = calibrate(comm, args.case, args.observations, out, args.mesh_dir, args.update, args.force)
    if comm.rank == 0:
        state = ("converged" if summary["converged"] else
                 "NOT informed by the observations: the result is the prior" if summary.get("flat") else
                 "stopped at the iteration limit")
        print(f"calibration: {final} ({state}, {summary['forward_runs']} forward runs, misfit "
              f"{summary['objective']:.4g})")
        for name, p in summary["parameters"].items():
            low, high = p["interval_95"]
            print(f"  {name:<22s} {p['map']:.4g} {p['unit']}  (95 % {low:.4g}-{high:.4g}; prior {p['prior_median']:.4g})"
                  + ("  at a bound" if p["at_bound"] else ""))
        for name, o in summary["observations"].items():
            if "volume_observed_mm3" in o:
                print(f"  {name}: volume {o['volume_simulated_mm3']:.4g} mm^3 simulated vs "
                      f"{o['volume_observed_mm3']:.4g} observed, Dice {o['dice']:.3f}")
        print(f"  run the calibrated case: oncotwin run {final / 'calibrated.yaml'}")
    return 0


def _forecast(comm, args) -> int:
    from oncotwin.calibration.forecast import forecast

    out = args.out or Path("results") / f"{args.case.stem}_forecast"
    by = None if args.by_day is None else args.by_day * 86400.0
    final = forecast(comm, args.case, args.calibration, out, args.mesh_dir, args.regimens, args.samples, args.seed,
                     args.ranks_per_member, by, args.resistant_above, args.force)
    if comm.rank == 0:
        summary = json.loads((final / "forecast.json").read_text())
        print(f"forecast: {final} ({summary['samples']} samples per regimen)")
        for r in summary["regimens"]:
            print(f"  {r['regimen']:<20s} P(progression by day {r['by_day']:g}) {r['p_progression']:.2f}, "
                  f"P(resistant > {r['resistant_threshold']:g}) {r['p_resistant_above']:.2f}, final volume "
                  f"{r['final_volume_p50_mm3']:.4g} mm^3 (90 % {r['final_volume_p5_mm3']:.4g}-"
                  f"{r['final_volume_p95_mm3']:.4g})")
        print(f"  bands: {final / 'bands.csv'}; figure: {final / 'forecast_volume.png'}")
    return 0


def _report(comm, args) -> int:
    from oncotwin.core.errors import InputDataError
    from oncotwin.core.parallel import on_root

    def write():
        from oncotwin.report.write import write_report

        if not (args.run_dir / "manifest.json").is_file():
            raise InputDataError(f"{args.run_dir}: not a run, comparison, calibration or forecast folder (manifest.json expected)")
        return write_report(args.run_dir, args.out)

    path = on_root(comm, write)
    if comm.rank == 0:
        print(f"report: {path}")
    return 0


COMMANDS = {"validate": _validate, "mesh": _mesh, "run": _run, "render": _render, "probe": _probe,
            "compare": _compare, "calibrate": _calibrate, "forecast": _forecast,
            "report": _report, "version": _version}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    comm = MPI.COMM_WORLD
    try:
        args = _parser().parse_args(argv)
    except OncotwinError as exc:
        if comm.rank == 0:
            print(f"oncotwin: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    configure(comm, level=30 if args.quiet else 20)
    try:
        return COMMANDS[args.command](comm, args)
    except OncotwinError as exc:
        if comm.rank == 0:
            print(f"oncotwin: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - unexpected: report, and never leave other ranks hanging
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.Abort(1)
        return 1


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main(sys.argv[1:]))
