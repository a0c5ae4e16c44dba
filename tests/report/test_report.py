"""The HTML report of a comparison folder: self-contained, complete, and rendered by a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from oncotwin.report import write_report

REGIMENS = {
    "control": ({}, 1.0, None),
    "stupp_rt_tmz": ({"drugs": [{"drug": "temozolomide", "dose": [7.5e-5, "bsa", "75 mg/m^2"], "route": "oral",
                                 "schedule": "daily x 42"}],
                      "radiotherapy": {"dose_per_fraction": 2.0, "schedule": "days 1-5 every 7 days x 6",
                                       "alpha": 0.06, "alpha_beta": 10.0, "oer_max": 3.0, "oer_k": 3.0}},
                     0.4, 1),
    "high_dose_tmz": ({"drugs": [{"drug": "temozolomide", "dose": [2e-4, "bsa", "200 mg/m^2"], "route": "oral",
                                  "schedule": "days 1-5 every 28 days x 6"}]}, 0.3, None),
}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


# ------------------------------------------------------------------------------------------ fixtures
def _find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def _apt_install() -> bool:
    def install() -> bool:
        return subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, check=False,
                              timeout=900).returncode == 0
    try:
        if install():
            return True
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=300, check=False)
        return install()
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium (installed with apt-get when missing); skip when it cannot be installed."""
    path = _find_chromium()
    if path is None and shutil.which("apt-get") and _apt_install():
        path = _find_chromium()
    if path is None:
        pytest.skip("chromium is not installed and 'apt-get install -y chromium' failed (no network or no "
                    "apt); the browser rendering checks need it")
    return path


def _png(path: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.imshow(np.random.default_rng(seed).random((8, 24)), cmap="viridis")
    fig.savefig(path, dpi=60)
    plt.close(fig)


def _fields(run_dir: Path) -> None:
    import pyvista as pv

    grid = pv.ImageData(dimensions=(7, 7, 7), spacing=(2.0, 2.0, 2.0), origin=(-6.0, -6.0, -6.0))
    grid = grid.triangulate().cast_to_unstructured_grid()
    radius = np.linalg.norm(grid.cell_centers().points, axis=1)
    grid.cell_data["regions"] = np.where(radius < 2.5, 1, np.where(radius < 4.5, 2, 3)).astype(np.int32)
    grid.point_data["tumour_cells"] = np.exp(-np.linalg.norm(grid.points, axis=1) ** 2 / 10.0)
    (run_dir / "fields").mkdir()
    grid.save(run_dir / "fields" / "fields_000000.vtu")
    (run_dir / "fields.pvd").write_text(
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1"><Collection>'
        '<DataSet timestep="1209600" part="0" file="fields/fields_000000.vtu"/></Collection></VTKFile>\n')


def _resolved_case(treatment: dict) -> dict:
    regions = {"necrotic": {"kind": "necrotic", "growth": {"diffusivity": 1.5e-6, "initial_density": 0.0}},
               "tumour": {"kind": "tumour", "growth": {"diffusivity": 1.5e-6, "initial_density": 0.8},
                          "mechanics": {"young_modulus": 11.25, "poisson_ratio": 0.45}},
               "host": {"kind": "normal", "growth": {"diffusivity": 1.5e-6, "initial_density": 0.0},
                        "mechanics": {"young_modulus": 15.0, "poisson_ratio": 0.45}}}
    patient = {"height": 1700.0, "weight": 7.0e7, "age": 55.0, "sex": "female", "bsa_formula": "mosteller"}
    return {"name": "synthetic", "description": "A synthetic test case.",
            "geometry": {"kind": "sphere", "tumour_radius": 4.5, "host_radius": 6.0, "necrotic_radius": 2.5},
            "regions": regions,
            "physics": {"growth": {"enabled": True, "proliferation_rate": 5.787e-7, "necrosis_rate": 5.787e-6}},
            "time": {"end": 1209600.0, "output_every": 86400.0},
            "treatment": dict({"patient": patient, "drugs": [], "radiotherapy": None}, **treatment)}


def _run_folder(run_dir: Path, name: str, treatment: dict, shrink: float, seed: int) -> dict:
    run_dir.mkdir(parents=True)
    days = np.arange(15.0)
    volume = 1000.0 * (1.0 + 0.05 * days) * (1.0 - (1.0 - shrink) * days / 14.0)
    lines = ["time_day,tumour_volume_mm3,resistant_fraction,hypoxic_fraction,temozolomide_normal_auc_mean_mg_h_per_L"]
    lines += [f"{d},{v},{0.01 + 0.001 * d},0.1,{30.0 * d if treatment else 0.0}" for d, v in zip(days, volume)]
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    (run_dir / "summary.json").write_text(json.dumps(
        {"case": "synthetic", "regions": {"necrotic": 1, "tumour": 2, "host": 3},
         "tumour_regions": ["necrotic", "tumour"]}))
    (run_dir / "manifest.json").write_text(json.dumps(
        {"oncotwin": "0.1.0", "case_file": "/cases/synthetic.yaml", "case_sha256": "ab" * 32,
         "resolved_case": _resolved_case(treatment), "input_files": {"kind": "sphere"},
         "mesh": {"cells": 1080}, "ranks": 1, "packages": {"oncotwin": "0.1.0", "numpy": np.__version__},
         "stages": {"mesh": {"seconds": 1.5}, "transient": {"seconds": 12.25}}}))
    (run_dir / "figures").mkdir()
    for i, field in enumerate(("temozolomide_auc_mg_h_per_L", "tumour_cells", "oxygen_mmHg")):
        _png(run_dir / "figures" / f"{field}_slices.png", seed + i)
    _fields(run_dir)
    final = float(volume[-1])
    return {"baseline_tumour_volume_mm3": float(volume[0]), "final_tumour_volume_mm3": final,
            "min_tumour_volume_mm3": float(volume.min()), "percent_change": 100 * (final / volume[0] - 1),
            "time_to_progression_day": 8.0 if shrink == 1.0 else None,
            "response": "PD" if shrink == 1.0 else "PR", "normal_auc_mg_h_per_L": {"temozolomide": 420.0},
            "normal_cmax_mg_per_L": {"temozolomide": 3.2}, "resistant_fraction_final": 0.024,
            "hypoxic_fraction_final": 0.1, "feasible": name != "high_dose_tmz", "objective_value": final}


@pytest.fixture(scope="module")
def comparison_dir(tmp_path_factory) -> Path:
    """A comparison folder with three tiny synthetic regimens (one infeasible)."""
    root = tmp_path_factory.mktemp("comparison")
    regimens = []
    for seed, (name, (treatment, shrink, rank)) in enumerate(REGIMENS.items()):
        metrics = _run_folder(root / "regimens" / name, name, treatment, shrink, 10 * seed)
        regimens.append({"name": name, "description": "untreated" if not treatment else f"{name} regimen",
                         "run_dir": f"regimens/{name}", "treatment": treatment, "metrics": metrics,
                         "rank": rank if name != "control" else 2})
    info = {"case": "synthetic", "case_file": "/cases/synthetic.yaml",
            "objective": {"description": "smallest final tumour volume subject to normal-tissue temozolomide "
                                         "AUC <= 500 mg h/L", "normal_auc_limit_mg_h_per_L": {"temozolomide": 500}},
            "response_thresholds": {"description": "volume change from baseline",
                                    "partial_response_volume_change": -0.65, "progression_volume_change": 0.40},
            "regimens": regimens, "ranking": ["stupp_rt_tmz", "control"]}
    (root / "comparison.json").write_text(json.dumps(info))
    (root / "manifest.json").write_text(json.dumps({"oncotwin": "0.1.0", "ranks": 1}))
    return root


@pytest.fixture(scope="module")
def report(comparison_dir) -> Path:
    """The report of the synthetic comparison."""
    return write_report(comparison_dir)


# --------------------------------------------------------------------------------------------- tests
def test_report_is_written_next_to_the_results(report, comparison_dir):
    assert report == comparison_dir / "report.html"
    assert report.stat().st_size > 10_000


def test_report_is_self_contained(report):
    page = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    sources = re.findall(r"""<img[^>]*\bsrc="([^"]*)\"""", page)
    # mesh view + volume curves + 3 regimens x (AUC, tumour cells, oxygen)
    assert len(sources) == 2 + 3 * 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_report_has_the_regimen_table(report):
    page = report.read_text()
    table = page[page.index('<table class="regimens">'):]
    table = table[: table.index("</table>")]
    for name in REGIMENS:
        assert name in table
    assert "exceeds exposure limit" in table
    assert "RT 30 × 2 Gy" in table and "temozolomide 75 mg/m² oral daily x 42" in table
    assert "stupp_rt_tmz</b>" in page and "ranks first" in page  # bottom line
    assert "[BJ89]" in page and "[GFP14]" in page  # sources from the parameter modules


def test_report_single_run(comparison_dir, tmp_path):
    out = write_report(comparison_dir / "regimens" / "stupp_rt_tmz", tmp_path / "single.html")
    page = out.read_text()
    assert out.is_file() and "Bottom line" in page and "mm³" in page
    assert "http://" not in page and "https://" not in page


def test_report_renders_in_chromium(report, chromium, tmp_path):
    shot = report.parent / "report_screenshot.png"
    subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.is_file()
    import matplotlib.pyplot as plt

    pixels = plt.imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    assert float(pixels.var()) > 1e-3  # not blank
    dom = subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    for name in REGIMENS:
        assert name in dom
