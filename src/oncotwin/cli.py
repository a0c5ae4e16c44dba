"""The ``oncotwin`` command line: ``main(argv) -> int``, identical under ``mpirun -n N``.

User mistakes end as one line ``oncotwin: error: ...`` on rank 0 and exit status 2 on every rank; so do
operating-system errors (disk full, read-only folder: the path and the errno text). A run stopped by
SIGINT/SIGTERM prints how to resume it and exits 130/143.
Unexpected errors print a traceback; with several ranks the job is then aborted so that no rank hangs.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from mpi4py import MPI

from oncotwin.core.errors import OncotwinError, RunInterrupted
from oncotwin.core.log import configure

EXIT_USER_ERROR = 2
MAX_SAMPLES = 100_000
"""Posterior samples per regimen at most: each is a full simulation, and the draws are held in memory."""


class _Parser(argparse.ArgumentParser):
    """argparse that prints on rank 0 only and raises instead of exiting on bad arguments."""

    def _print_message(self, message, file=None):
        if MPI.COMM_WORLD.rank == 0 and message:
            (file or sys.stderr).write(message)

    def error(self, message):
        raise OncotwinError(f"{self.prog}: {message}")


def _samples(text: str) -> int:
    """``--samples``: a whole number from 1 to :data:`MAX_SAMPLES`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"got {value}; allowed 1 to {MAX_SAMPLES} samples per regimen")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"got {text}; expected a finite number")
    return value


def _day(text: str) -> float:
    """``--by-day``: a day after the start (> 0)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"got {text}; expected a day after the start (> 0)")
    return value


def _fraction(text: str) -> float:
    """``--resistant-above``: a fraction of the carrying capacity in [0, 1)."""
    value = _finite(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"got {text}; expected a fraction in [0, 1)")
    return value


def _series_parser(sub) -> None:
    """``oncotwin series fit|forecast|prior``."""
    p = sub.add_parser("series", help="fit and forecast tumour-size series (RECIST lesion tables)")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, words in (("fit", "fit a model to every lesion"), ("forecast", "fit and forecast to --until")):
        a = actions.add_parser(name, help=words)
        a.add_argument("table", type=Path, help="lesion table (CSV: long form or the Laleh/TumorGrowth layout)")
        a.add_argument("--model", required=True, help="exponential, logistic, gompertz, bertalanffy, "
                       "general_bertalanffy, stein, claret or oncotwin_0d")
        a.add_argument("--population", action="store_true", help="regularise by the cohort's empirical prior")
        a.add_argument("--out", required=True, type=Path, help="result folder")
        a.add_argument("--force", action="store_true", help="replace an existing series result (after success)")
        a.add_argument("--draws", type=_samples, default=100, help="Laplace draws of the bands (default 100)")
        if name == "forecast":
            a.add_argument("--until", type=_day, required=True, help="last forecast day (0 = treatment start)")
    a = actions.add_parser("prior", help="priors of a spatial case from an oncotwin_0d series fit")
    a.add_argument("fit_dir", type=Path, help="folder of `oncotwin series fit --model oncotwin_0d`")
    a.add_argument("--case", type=Path, help="the spatial case the priors are for (written as base:)")
    a.add_argument("--out", required=True, type=Path, help="YAML file to write")
    a.add_argument("--force", action="store_true", help="replace an existing --out file")


def _calibrate_parser(sub) -> None:
    """The ``calibrate`` subcommand's options."""
    p = sub.add_parser("calibrate", help="fit growth and treatment parameters to follow-up segmentations")
    p.add_argument("case", type=Path, nargs="?", help="case file with a 'calibration' section")
    p.add_argument("--observations", type=Path, help="observation file (YAML)")
    p.add_argument("--cohort", type=Path, help="cohort file (YAML): fit a population prior (prior.yaml) instead")
    p.add_argument("--prior", type=Path, help="prior file whose entries replace the case's priors and bounds")
    p.add_argument("--update", type=Path, metavar="CALIBRATION_DIR",
                   help="refine an earlier calibration with the observations it has not used")
    p.add_argument("--reuse", type=Path, metavar="COHORT_DIR", help="with --cohort: take the individual fits of "
                   "an earlier cohort calibration for its patients with unchanged case, observations and priors")
    p.add_argument("--out", type=Path, help="calibration folder (default: results/<case>_calibration)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing calibration (after success)")
    p.add_argument("--ranks-per-run", type=int, help="run the independent forward runs (Jacobian columns, design) "
                   "concurrently on MPI groups of this many ranks (default: every run on all ranks)")


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
    p.add_argument("--prior", type=Path, help="prior file (e.g. prior.yaml of calibrate --cohort): run at its medians")

    p = sub.add_parser("render", help="re-render the figures of a run from its files")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--no-background", action="store_true", help="do not draw the original scan under the fields")

    p = sub.add_parser("probe", help="sample a field of a run at world coordinates (mm) into CSV")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--field", required=True, help="field name, e.g. pressure_mmHg")
    p.add_argument("--points", required=True, type=Path, help="CSV with columns [name,]x,y,z in mm")
    p.add_argument("--time", type=float, action="append", help="output time in s (repeatable; default: all)")
    p.add_argument("--out", type=Path, help="CSV file (default: standard output)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")

    _export_parser(sub)

    p = sub.add_parser("compare", help="run several treatment regimens on one case and rank them")
    p.add_argument("case", type=Path)
    p.add_argument("--regimens", required=True, type=Path, help="regimen file (YAML)")
    p.add_argument("--ranks-per-regimen", type=int, default=1, help="ranks of each MPI group (default 1)")
    p.add_argument("--out", type=Path, help="comparison folder (default: results/<case>_compare)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing comparison (after success)")

    _calibrate_parser(sub)

    p = sub.add_parser("forecast", help="run regimens on samples of a calibration's posterior: probabilities")
    p.add_argument("case", type=Path, help="the calibrated patient's case file")
    p.add_argument("--calibration", type=Path, help="folder of `oncotwin calibrate` (its posterior is sampled)")
    p.add_argument("--prior", type=Path, help="prior file: sampled when there is no --calibration (a new patient)")
    p.add_argument("--regimens", type=Path, help="regimen file (default: the case's own treatment)")
    p.add_argument("--samples", type=_samples, default=16, help="posterior samples per regimen (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the samples (default 0)")
    p.add_argument("--ranks-per-member", type=int, default=1, help="ranks of each MPI group (default 1)")
    p.add_argument("--by-day", type=_day, help="day of the progression and resistance probabilities "
                   "(default: the case's end)")
    p.add_argument("--resistant-above", type=_fraction, default=0.1, help="resistant-fraction threshold (default 0.1)")
    p.add_argument("--out", type=Path, help="forecast folder (default: results/<case>_forecast)")
    p.add_argument("--mesh-dir", type=Path, default=Path("meshes"), help="mesh cache folder")
    p.add_argument("--force", action="store_true", help="replace an existing forecast (after success)")

    p = sub.add_parser("report", help="write a self-contained HTML report of a run, comparison, calibration or forecast")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, help="HTML file (default: RUN_DIR/report.html)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")

    _series_parser(sub)
    _predict_gbm_parser(sub)
    sub.add_parser("version", help="print versions of oncotwin and its stack")
    return parser


COMMANDS = ("validate", "mesh", "run", "render", "probe", "export", "compare", "calibrate", "forecast", "report",
            "series", "predict-gbm", "version")


def _command(name: str) -> Callable[[MPI.Comm, argparse.Namespace], int]:
    """The ``main`` of the command's module in :mod:`oncotwin.commands`.

    The one lazy import of the package: each command loads only its own stack (``oncotwin version``
    0.4 s CPU, ``oncotwin report`` 0.2 s, against 1.2-1.3 s with every command's imports), on every rank.
    """
    return importlib.import_module(f"oncotwin.commands.{name.replace('-', '_')}").main


def _predict_gbm_parser(sub) -> None:
    """``oncotwin predict-gbm [IN_DIR] [OUT_DIR]`` (the benchmark container's /mlcube_io0 and /mlcube_io1)."""
    p = sub.add_parser("predict-gbm", help="PREDICT-GBM benchmark: tumour-cell concentration per patient folder")
    p.add_argument("in_dir", type=Path, nargs="?", default=Path("/mlcube_io0"),
                   help="patients: <id>-gm/-wm/-csf/-tumorseg.nii.gz [+ -pet] (default /mlcube_io0)")
    p.add_argument("out_dir", type=Path, nargs="?", default=Path("/mlcube_io1"),
                   help="writes <id>.nii.gz per patient (default /mlcube_io1)")
    p.add_argument("--extent", choices=("whole_brain", "crop"), default="whole_brain",
                   help="mesh the whole brain (skull boundary, default) or a 15 mm crop around the lesion")
    p.add_argument("--force", action="store_true", help="replace existing outputs")


def _export_parser(sub) -> None:
    """``oncotwin export RUN --field F [--time T] --like IMAGE --out FILE``."""
    p = sub.add_parser("export", help="a field of a run as NIfTI on an input image's grid (3D Slicer)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--field", required=True, help="field name, e.g. tumour_cells, regions")
    p.add_argument("--time", type=float, help="output time in s (default: the last)")
    p.add_argument("--like", required=True, type=Path, help="image (NIfTI/NRRD) whose grid and affine to use")
    p.add_argument("--out", required=True, type=Path, help="NIfTI file (.nii.gz or .nii)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")


def os_error_line(exc: OSError) -> str:
    """``PATH: errno text (errno N NAME)`` of an operating-system error (the path when it has one)."""
    text = exc.strerror or str(exc)
    if exc.errno is not None:
        text += f" (errno {exc.errno} {errno.errorcode.get(exc.errno, '')})".replace(" )", ")")
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return ": ".join([" -> ".join(paths), text]) if paths else text


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
        return _command(args.command)(comm, args)
    except RunInterrupted as exc:
        if comm.rank == 0:
            print(f"oncotwin: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OncotwinError as exc:
        if comm.rank == 0:
            print(f"oncotwin: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # disk full, read-only or vanished folders: the environment, not a bug
        print(f"oncotwin: error: {os_error_line(exc)}", file=sys.stderr)
        sys.stderr.flush()
        if comm.size > 1:  # raised on this rank only: the others may wait in a collective call
            comm.Abort(EXIT_USER_ERROR)
        return EXIT_USER_ERROR
    except Exception:  # noqa: BLE001 - unexpected: report, and never leave other ranks hanging
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.Abort(1)
        return 1


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main(sys.argv[1:]))
