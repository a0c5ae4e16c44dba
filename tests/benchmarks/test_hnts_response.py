"""``benchmarks/hnts_response.py`` on its CLI path, on a tiny synthetic HNTS-like dataset built here.

Three "patients" (spheres of radius 4-5 mm on 1 x 1 x 1.5 mm voxels, label 1, shrunk to a smaller
mid-RT sphere) in the dataset's file layout; two train, one is predicted from the cohort prior through
``oncotwin calibrate --cohort`` and ``oncotwin run --prior`` (coarse mesh, one optimiser iteration).
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RADII = {"s1": (4.5, 3.5), "s2": (5.0, 3.6), "s3": (4.0, 3.0)}  # pre-RT, mid-RT radius [mm]


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("hnts_response")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _sphere(path: Path, radius: float) -> None:
    shape, spacing = (24, 24, 16), np.array([1.0, 1.0, 1.5])
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -12.0
    x, y, z = (np.indices(shape) * spacing[:, None, None, None]) - 12.0
    mask = np.sqrt((x - 0.3) ** 2 + (y + 0.2) ** 2 + (z + 0.1) ** 2) < radius
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hnts_synthetic")
    for pid, (pre, mid) in RADII.items():
        _sphere(folder / f"{pid}_preRT_mask_registered.nii.gz", pre)
        _sphere(folder / f"{pid}_midRT_mask.nii.gz", mid)
    return folder


def test_split_through_the_cli_writes_the_required_fields(script, data, tmp_path):
    out = tmp_path / "out"
    status = script.main(["--data", str(data), "--train", "s1,s2", "--test", "s3", "--out", str(out),
                          "--max-iterations", "1", "--size-tumour", "2.5", "--margin", "5"])
    assert status == 0
    payload = json.loads((out / "hnts_response.json").read_text())
    rows = {r["id"]: r for r in payload["patients"]}
    assert {k: r["set"] for k, r in rows.items()} == {"s1": "train", "s2": "train", "s3": "test"}
    for pid, row in rows.items():
        pre, mid = (4 / 3 * math.pi * r ** 3 / 1000 for r in RADII[pid])
        assert row["pre_volume_cm3"] == pytest.approx(pre, rel=0.1)
        assert row["mid_volume_cm3"] == pytest.approx(mid, rel=0.15)
        predicted = [row["predicted_volume_cm3"][d] for d in ("28", "35", "42")]
        # radiotherapy shrinks the tumour through the window; it stays below the pre-RT volume
        assert all(0 <= v < row["pre_volume_cm3"] for v in predicted) and predicted[0] >= predicted[-1]
    fold = payload["folds"]["split"]
    assert fold["train"] == ["s1", "s2"] and set(fold["individual"]) == {"hnts_s1", "hnts_s2"}
    assert 0.01 < fold["radiosensitivity"]["population_median"] < 2.0
    commands = [c["command"].split()[1] for c in payload["commands"]]
    assert commands == ["calibrate", "run", "run", "run"] and all(c["status"] == 0 for c in payload["commands"])
    errors = payload["median_absolute_error_cm3"]
    assert set(errors) == {"spatial", "psi", "no_change", "cohort_ratio", "cohort_median_volume"}
    assert errors["no_change"]["35"] == pytest.approx(rows["s3"]["pre_volume_cm3"] - rows["s3"]["mid_volume_cm3"])
    assert not list((out / "inputs").rglob("*.nii.gz"))  # the inputs point at the data, never copies
    metrics = {float(r["time_day"]): float(r["tumour_volume_mm3"])
               for r in csv.DictReader((out / "split" / "run_s3" / "metrics.csv").open())}
    assert rows["s3"]["predicted_volume_cm3"]["35"] == pytest.approx(metrics[35.0] / 1000, rel=1e-12)


def test_a_bad_train_id_is_one_line_and_exit_2(script, data, tmp_path, capsys):
    out = tmp_path / "out"
    status = script.main(["--data", str(data), "--train", "s1,nope", "--test", "s3", "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--train" in err[0] and "'nope'" in err[0] and "s1, s2, s3" in err[0], err
    assert not out.exists()
    assert script.main(["--data", str(data), "--train", "s1,s2", "--test", "s2", "--out", str(out)]) == 2
    assert "--test" in capsys.readouterr().err and not out.exists()


def test_scan_day_fixes_the_observation_date_instead_of_the_window(script, data, tmp_path):
    """``--scan-day 35``: the observation file gives the mid-RT mask one date; by default, the window 28-42."""
    import yaml

    window = script.write_inputs(tmp_path / "w", data, ["s1"], {"size_tumour": 2.0, "margin": 4.0}, 1)
    fixed = script.write_inputs(tmp_path / "f", data, ["s1"], {"size_tumour": 2.0, "margin": 4.0}, 1, 35.0)
    read = [yaml.safe_load(p["s1"]["observations"].read_text())["observations"][0]["time"] for p in (window, fixed)]
    assert read == [["28 day", "42 day"], "35 day"]
