"""``oncotwin report RUNDIR``: one self-contained HTML file (inline CSS, images as data URIs, no JS).

Works for a run folder (``oncotwin run``), a comparison folder (``oncotwin compare``, recognised
by its ``comparison.json``), a calibration folder (``oncotwin calibrate``, its ``calibration.json``) and a
forecast folder (``oncotwin forecast``, its ``forecast.json``); each kind has its page module in
:mod:`oncotwin.report.pages`. Runs on one process; nothing here needs MPI.
"""

from __future__ import annotations

from pathlib import Path

from oncotwin.report.load import is_calibration, is_comparison, is_forecast, read_comparison, read_run
from oncotwin.report.pages.calibration import calibration_page
from oncotwin.report.pages.comparison import comparison_page
from oncotwin.report.pages.forecast import forecast_page
from oncotwin.report.pages.run import run_page
from oncotwin.report.pages.series import series_page


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of a run, comparison, calibration or forecast folder.

    Args:
        run_dir: a run folder (``metrics.csv``, ``summary.json``, ``manifest.json``, ``figures/``,
            ``fields.pvd``), a comparison folder (``comparison.json`` and ``regimens/<name>/``), a
            calibration folder (``calibration.json``) or a forecast folder (``forecast.json``).
        out: the HTML file to write; default ``run_dir/report.html``.

    Returns:
        The path of the written HTML file.

    Raises:
        FileNotFoundError: ``run_dir`` is not a folder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"not a folder: {run_dir}")
    out = Path(out) if out is not None else run_dir / "report.html"
    if is_comparison(run_dir):
        page = comparison_page(read_comparison(run_dir))
    elif is_calibration(run_dir):
        page = calibration_page(run_dir)
    elif is_forecast(run_dir):
        page = forecast_page(run_dir)
    elif (run_dir / "series.json").is_file():
        page = series_page(run_dir)
    else:
        page = run_page(read_run(run_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
