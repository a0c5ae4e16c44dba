"""``oncotwin calibrate`` and ``oncotwin forecast`` end to end under ``mpirun -n 2``, and their errors."""

from __future__ import annotations

import csv
import json

import nibabel as nib
import numpy as np
import pytest
import yaml
from mpi4py import MPI

from oncotwin.calibration.synthetic import write_synthetic_observations
from oncotwin.case.load import read_case
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh
from tests.calibration.test_twin import CASE, TRUTH, _lesion
from tests.conftest import run_cli

FAST = CASE.replace("  parameters:", "  optimiser: {max_iterations: 3, tolerance: 0.01}\n  parameters:")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibrate_cli")
    _lesion(folder / "labels.nii.gz")
    (folder / "case.yaml").write_text(FAST)
    case, _ = read_case(folder / "case.yaml")
    mesh, _ = ensure_mesh(MPI.COMM_SELF, case, folder / "meshes")
    write_synthetic_observations(MPI.COMM_SELF, case, read_tagged_mesh(MPI.COMM_SELF, mesh), TRUTH, [8, 16],
                                 folder / "obs")
    return folder


def test_calibrate_then_run_the_fragment_then_forecast(folder):
    out = folder / "calibration"
    result = run_cli("calibrate", "case.yaml", "--observations", "obs/observations.yaml", "--out", str(out),
                     "--mesh-dir", "meshes", ranks=2, cwd=folder, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "calibration:" in result.stdout and "proliferation_rate" in result.stdout
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["path"][-1]["objective"] < summary["path"][0]["objective"]
    assert set(summary["parameters"]) == set(TRUTH)
    for name in ("posterior.json", "calibrated.yaml", "path.csv", "fit.csv", "fit.png", "manifest.json"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ranks"] == 2 and manifest["forward_runs"] == summary["forward_runs"]

    run = run_cli("run", str(out / "calibrated.yaml"), "--out", str(folder / "calibrated_run"), "--mesh-dir",
                  "meshes", cwd=folder, timeout=600)
    assert run.returncode == 0, run.stderr
    final = list(csv.DictReader(open(folder / "calibrated_run" / "metrics.csv")))[-1]
    assert float(final["time_day"]) == pytest.approx(24.0)

    forecast = run_cli("forecast", "case.yaml", "--calibration", str(out), "--samples", "4", "--by-day", "20",
                       "--out", str(folder / "forecast"), "--mesh-dir", "meshes", ranks=2, cwd=folder, timeout=600)
    assert forecast.returncode == 0, forecast.stderr
    table = json.loads((folder / "forecast" / "forecast.json").read_text())
    entry = table["regimens"][0]
    assert entry["regimen"] == "as_planned" and 0 <= entry["p_progression"] <= 1 and entry["samples"] == 4
    bands = list(csv.DictReader(open(folder / "forecast" / "bands.csv")))
    assert all(float(b["volume_p5_mm3"]) <= float(b["volume_p50_mm3"]) <= float(b["volume_p95_mm3"]) for b in bands)
    assert len(list((folder / "forecast" / "members" / "as_planned").iterdir())) == 4


def test_calibration_errors_are_one_line(folder, tmp_path):
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.uint8), np.eye(4)), other)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"observations": [
        {"segmentation": str(other), "labels": [1], "time": "8 day"}]}))
    no_calibration = folder / "plain.yaml"
    no_calibration.write_text(FAST[:FAST.index("calibration:")])
    cases = [
        (("calibrate", "case.yaml", "--observations", str(tmp_path / "bad.yaml")), "grid"),
        (("calibrate", "plain.yaml", "--observations", "obs/observations.yaml"), "no 'calibration' section"),
        (("calibrate", "case.yaml", "--observations", "obs/observations.yaml", "--update", str(tmp_path)),
         "not a calibration folder"),
        (("forecast", "case.yaml", "--calibration", str(tmp_path)), "not a calibration folder"),
    ]
    for args, message in cases:
        result = run_cli(*args, "--out", str(tmp_path / "out"), "--mesh-dir", "meshes", ranks=2, cwd=folder,
                         timeout=300)
        assert result.returncode == 2, (args, result.stderr)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("oncotwin: error:") and message in line, line
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()
