"""The report pages of calibration and forecast folders: fast, from small hand-made folders (no simulation)."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from oncotwin.report import write as report_write
from oncotwin.report import write_report
from oncotwin.report.load import is_calibration, is_forecast
from oncotwin.report.pages.calibration import calibration_page, prior_sds
from oncotwin.report.pages.forecast import forecast_page

PACKAGES = {"oncotwin": "0.1.0", "numpy": "2.0"}


# ------------------------------------------------------------------------------------------ fixtures
def _png(path: Path) -> None:
    """A valid 2 x 2 grey PNG, written without any plotting library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([128, 128]) for _ in range(2))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1) if not isinstance(data, str) else data)


def _parameter(map_, unit, interval, prior, prior_sd, log_sd, bounds, at_bound=False, description=""):
    return {"description": description, "unit": unit, "map": map_, "log_sd": log_sd, "interval_95": interval,
            "prior_median": prior, "prior_log_sd": prior_sd, "bounds": bounds, "start": prior, "at_bound": at_bound}


@pytest.fixture
def calibration_dir(tmp_path) -> Path:
    """A calibration folder like ``oncotwin calibrate`` writes (one parameter at a bound, one weakly informed)."""
    folder = tmp_path / "cal"
    folder.mkdir()
    parameters = {
        "proliferation_rate": _parameter(0.10045, "1/day", [0.0974, 0.1036], 0.05, 2.0, 0.0155, [0.0005, 5.0],
                                         description="net proliferation rate of the tumour cells (logistic)"),
        "invasion_diffusivity": _parameter(20.0, "mm^2/day", [19.0, 20.0], 0.2, 2.0, 0.03, [0.002, 20.0],
                                           at_bound=True, description="invasion diffusivity"),
        "radiosensitivity": _parameter(0.031, "1/Gy", [0.0005, 1.9], 0.03, 2.0, 1.9, [0.0003, 3.0],
                                       description="linear-quadratic alpha"),
    }
    observations = {
        "twin3/day8": {"volume_observed_mm3": 400.0, "volume_simulated_mm3": 410.0,
                       "volume_simulated_min_mm3": 410.0, "volume_simulated_max_mm3": 410.0,
                       "dice": 0.91, "dice_min": 0.91, "dice_max": 0.91, "shape_sd": 0.14, "volume_log_sd": 0.02},
        "twin3/week3": {"volume_observed_mm3": 800.0, "volume_simulated_mm3": 784.0,
                        "volume_simulated_min_mm3": 700.0, "volume_simulated_max_mm3": 900.0,
                        "dice": 0.95, "dice_min": 0.93, "dice_max": 0.96, "shape_sd": 0.14, "volume_log_sd": 0.02},
        "twin3/ctDNA": {"scale": 3.5, "rms_log_error": 0.1},
    }
    path = [{"iteration": k, "objective": obj, "data_misfit": obj - 0.1 * k, "prior_misfit": 0.1 * k,
             "lambda": 1e-3, "step": 0.5 / (k + 1), "forward_runs": 1 + 4 * k, "proliferation_rate": 0.05 + 0.02 * k,
             "invasion_diffusivity": 0.2 * (k + 1), "radiosensitivity": 0.03} for k, obj in enumerate((6414.4, 99.5, 6.35))]
    _write(folder / "calibration.json", {
        "parameters": parameters, "correlation": [[1.0, -0.2, 0.1], [-0.2, 1.0, -0.974], [0.1, -0.974, 1.0]],
        "objective": 6.35, "data_misfit": 6.15, "prior_misfit": 0.2, "converged": True, "forward_runs": 9,
        "observations": observations, "path": path})
    _write(folder / "posterior.json", {
        "parameters": list(parameters), "internal_units": ["1/s", "mm^2/s", "1/Gy"],
        "mean_log": [-13.7, -8.4, -3.5], "covariance_log": [[2e-4, 0, 0], [0, 9e-4, 0], [0, 0, 3.6]],
        "prior_mean_log": [-14.4, -13.0, -3.5], "prior_precision_log": [[0.25, 0, 0], [0, 0.25, 0], [0, 0, 0.25]],
        "observations": [
            {"subject": "twin3", "observation": {"name": "day8", "start": 691200.0, "end": 691200.0}},
            {"subject": "twin3", "observation": {"name": "week3", "start": 1209600.0, "end": 1814400.0}},
            {"subject": "twin3", "scalar": {"name": "ctDNA"}}],
        "cases": [{"name": "twin3", "file": "/cases/case3.yaml", "sha256": "ab" * 32}]})
    _write(folder / "calibrated.yaml", "# Calibrated case fragment: run it with `oncotwin run calibrated.yaml`\n"
                                       "base: /cases/case3.yaml\nname: twin3_calibrated\nphysics:\n  growth:\n"
                                       "    proliferation_rate: 0.10045 1/day\nregions:\n  tumour:\n    growth:\n"
                                       "      diffusivity: 20 mm^2/day\n")
    (folder / "path.csv").write_text("iteration,objective\n0,6414.4\n")
    (folder / "fit.csv").write_text("subject,time_day,tumour_volume_mm3\ntwin3,0.0,433.3\n")
    _png(folder / "fit.png")
    _write(folder / "manifest.json", {
        "oncotwin": "0.1.0", "case_file": "/cases/case3.yaml", "case_sha256": "ab" * 32,
        "observations_file": "/cases/obs3/observations.yaml", "observations_sha256": "cd" * 32,
        "updated_from": "/results/cal_early", "ranks": 1, "cells": 16483, "forward_runs": 9, "forward_seconds": 18.0,
        "packages": PACKAGES, "start": "2026-11-27T16:58:25+00:00", "end": "2026-11-27T16:59:14+00:00",
        "stages": {"mesh": {"seconds": 0.33}, "optimise": {"seconds": 40.08}}})
    return folder


@pytest.fixture
def forecast_dir(tmp_path) -> Path:
    """A forecast folder like ``oncotwin forecast`` writes, with two regimens."""
    folder = tmp_path / "fc"
    folder.mkdir()

    def regimen(name, description, p, q, p50, responses):
        return {"regimen": name, "description": description, "by_day": 30.0, "p_progression": p,
                "p_resistant_above": q, "resistant_threshold": 0.1, "final_volume_p50_mm3": p50,
                "final_volume_p5_mm3": 0.8 * p50, "final_volume_p95_mm3": 1.9 * p50, "responses": responses,
                "samples": 4}

    _write(folder / "forecast.json", {
        "parameters": ["proliferation_rate", "invasion_diffusivity"], "samples": 4, "seed": 7,
        "response_thresholds": {"volume": "tumour_volume_mm3", "complete": 0.01, "partial": -0.65,
                                "progression": 0.4},
        "regimens": [regimen("as_planned", "the case's own treatment", 1.0, 0.0, 2192.94,
                             {"CR": 0, "PR": 0, "SD": 0, "PD": 4}),
                     regimen("rt_boost", "radiotherapy boost", 0.25, 0.5, 812.3, {"CR": 0, "PR": 1, "SD": 2, "PD": 1})]})
    (folder / "bands.csv").write_text("regimen,time_day,volume_p5_mm3,volume_p50_mm3,volume_p95_mm3\n"
                                      "as_planned,0.0,1268.5,1335.1,1371.4\nas_planned,30.0,1754.4,2192.9,4166.6\n")
    (folder / "samples.csv").write_text("sample,proliferation_rate,invasion_diffusivity\n0,0.0709,0.123\n"
                                        "1,0.0701,0.0826\n2,0.128,0.382\n3,0.0352,0.0701\n")
    _png(folder / "forecast_volume.png")
    (folder / "members" / "as_planned" / "000").mkdir(parents=True)
    _write(folder / "manifest.json", {
        "oncotwin": "0.1.0", "case_file": "/cases/twin.yaml", "case_sha256": "ef" * 32,
        "posterior": [{"name": "twin", "file": "/cases/twin.yaml", "sha256": "ef" * 32}], "samples": 4, "seed": 7,
        "ranks": 2, "ranks_per_member": 1, "groups": 2, "packages": PACKAGES,
        "start": "2026-11-27T16:52:06+00:00", "end": "2026-11-27T16:52:14+00:00",
        "stages": {"mesh": {"seconds": 0.18}, "members": {"seconds": 4.79}}})
    return folder


def _text(page: str) -> str:
    """The visible text of a page (tags dropped, whitespace collapsed)."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _assert_self_contained(page: str, images: int) -> None:
    assert "http://" not in page and "https://" not in page
    assert 'src="file' not in page and "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    sources = re.findall(r"""<img[^>]*\bsrc="([^"]*)\"""", page)
    assert len(sources) == images
    assert all(s.startswith("data:image/png;base64,") for s in sources)


# --------------------------------------------------------------------------------------- calibration
def test_calibration_folder_is_recognised(calibration_dir, forecast_dir):
    assert is_calibration(calibration_dir) and not is_forecast(calibration_dir)
    assert is_forecast(forecast_dir) and not is_calibration(forecast_dir)


def test_calibration_report(calibration_dir):
    out = write_report(calibration_dir)
    assert out == calibration_dir / "report.html"
    page = out.read_text()
    _assert_self_contained(page, images=1)
    text = _text(page)
    # bottom line: fitted values with intervals, volume agreement and Dice, caveats
    assert "Bottom line" in text and "calibration of 3 parameters" in text
    assert "proliferation rate is 0.100 per day (95 % interval 0.0974–0.104)" in text
    assert "within 2.5 %" in text  # largest |relative volume error|: 410/400 - 1
    assert "Dice overlap 0.93 on average" in text
    assert "ended at a bound" in text and "barely inform radiosensitivity" in text
    # parameter table flags
    assert text.count("at a bound") >= 2 and "barely informed by the data" in text
    # observations: relative error, window range of volume and Dice, day window, scalar series
    assert "+2.5 %" in text and "−2.0 %" in text
    assert "784 (700–900)" in text and "0.95 (0.93–0.96)" in text and "14–21" in text
    assert "twin3/ctDNA" in text and "3.5" in text
    # optimiser path, correlations, usage, provenance
    assert "6,414" in text and "converged after 9 forward runs" in text
    assert "−0.97" in text and "Strongly correlated: invasion diffusivity and radiosensitivity" in text
    assert f"oncotwin run {calibration_dir / 'calibrated.yaml'}" in text
    assert f"oncotwin forecast /cases/case3.yaml --calibration {calibration_dir}" in text
    assert "diffusivity: 20 mm^2/day" in text  # the fragment verbatim, units not prettified
    assert "/cases/obs3/observations.yaml" in text and "/results/cal_early" in text and "16,483" in text
    assert "Provenance" in text and "optimise" in text


def test_calibration_report_without_optional_files(tmp_path, calibration_dir):
    for name in ("posterior.json", "fit.png", "manifest.json", "calibrated.yaml"):
        (calibration_dir / name).unlink()
    page = calibration_page(calibration_dir)
    _assert_self_contained(page, images=0)
    assert "fit.png) was not found" in page and "twin3" in page


def test_prior_sd_is_marginal_for_a_correlated_prior():
    info = {"parameters": {"a": {"prior_log_sd": 0.1}, "b": {"prior_log_sd": 0.1}}}
    precision = [[200.0, -180.0], [-180.0, 200.0]]  # strongly correlated prior
    sds = prior_sds(info, {"parameters": ["a", "b"], "prior_precision_log": precision})
    assert sds["a"] == pytest.approx((200.0 / (200.0 ** 2 - 180.0 ** 2)) ** 0.5)
    assert prior_sds(info, {}) == {"a": 0.1, "b": 0.1}


# ------------------------------------------------------------------------------------------ forecast
def test_forecast_report(forecast_dir, tmp_path):
    out = write_report(forecast_dir, tmp_path / "forecast.html")
    page = out.read_text()
    _assert_self_contained(page, images=1)
    text = _text(page)
    assert "forecast of 2 regimens" in text
    assert "rt_boost (radiotherapy boost) has the lowest probability of progression by day 30: 25 % (1/4 samples)" \
        in text
    assert "The highest is as_planned at 100 %" in text
    assert "812" in text and "2,193" in text and "50 % (2/4)" in text
    assert '<tr class="best"><td class=num>1</td><td><b>rt_boost</b>' in page
    # response counts and thresholds
    assert "progressive disease" in text and "−65 %" in text and "more than 40 %" in text
    # sampled parameters: median and range
    assert "0.0705" in text and "0.0352" in text and "0.128" in text and "random seed 7" in text
    # what the bands mean, provenance
    assert "5th to the 95th percentile" in text and "not include model error" in text
    assert "/cases/twin.yaml" in text and "2 group(s) of 1 rank(s)" in text and "1 under members" in text


def test_forecast_report_single_regimen(forecast_dir):
    info = json.loads((forecast_dir / "forecast.json").read_text())
    info["regimens"] = info["regimens"][:1]
    (forecast_dir / "forecast.json").write_text(json.dumps(info))
    (forecast_dir / "forecast_volume.png").unlink()
    text = _text(forecast_page(forecast_dir))
    assert "Under as_planned (the case's own treatment), the probability of progression by day 30 is 100 % (4/4" in text
    assert "steps of 25 %" in text and "forecast_volume.png) was not found" in text


# ------------------------------------------------------------------------------------------- routing
@pytest.fixture
def routed(monkeypatch):
    """``write_report`` with the run and comparison pages replaced by markers (no rendering)."""
    monkeypatch.setattr(report_write, "run_page", lambda run: f"RUN PAGE {run.name}")
    monkeypatch.setattr(report_write, "comparison_page", lambda data: f"COMPARISON PAGE {data.name}")
    return report_write.write_report


def test_run_and_comparison_folders_are_routed_as_before(routed, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "summary.json", {"case": "synthetic"})
    _write(run / "manifest.json", {"oncotwin": "0.1.0"})
    assert routed(run).read_text() == "RUN PAGE synthetic"
    comparison = tmp_path / "cmp"
    comparison.mkdir()
    _write(comparison / "comparison.json", {"case": "synthetic", "regimens": []})
    _write(comparison / "manifest.json", {"oncotwin": "0.1.0"})
    assert routed(comparison).read_text() == "COMPARISON PAGE synthetic"


def test_calibration_and_forecast_are_not_routed_as_runs(routed, calibration_dir, forecast_dir):
    assert "RUN PAGE" not in routed(calibration_dir).read_text()
    assert "RUN PAGE" not in routed(forecast_dir).read_text()
