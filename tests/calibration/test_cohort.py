"""``oncotwin calibrate --cohort`` end to end, and its prior used by a new patient's calibrate and run.

Three small synthetic lesions (spheres of radius 4-5 mm on anisotropic voxels) are patients whose
radiosensitivity differs (0.15, 0.2, 0.3 /Gy); the model writes their follow-up segmentations. The
cohort fit (``mpirun -n 2``) writes ``prior.yaml``; a fourth patient then uses it through
``calibration.prior`` (its own prior in the case file is replaced), through ``run --prior`` (it runs at
the population median) and ``forecast`` without a calibration (it samples the prior).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml
from mpi4py import MPI

from oncotwin.calibration.synthetic import write_synthetic_observations
from oncotwin.case.load import read_case
from oncotwin.case.prior_file import read_prior_file
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh
from tests.conftest import run_cli

ALPHAS = {"p1": 0.15, "p2": 0.2, "p3": 0.3}
RADII = {"p1": 4.0, "p2": 5.0, "p3": 4.5, "new": 4.5}
SCANS = [6, 12]

CASE = """
name: {name}
geometry: {{kind: segmentation, labels: labels.nii.gz, regions: {{tumour: [1]}}, host_region: host}}
mesh: {{size_tumour: "2 mm", size_far: "3.5 mm", grading_distance: "3 mm", margin: "6 mm"}}
regions:
  tumour: {{kind: tumour}}
  host: {{kind: normal}}
physics:
  growth: {{step: "1 day", proliferation_rate: "0.05 1/day", clearance_half_time: "4 day"}}
time: {{end: "12 day", max_step: "1 day", min_step: "1 day", output_every: "6 day"}}
treatment:
  radiotherapy: {{dose_per_fraction: "2 Gy", schedule: "days 1-5 every 7 days x 1", alpha: "0.19 1/Gy"}}
calibration:
  misfit: {{volume_sd: 0.05, shape_discordance: 0.05}}
  optimiser: {{max_iterations: 4, tolerance: 0.01}}
  parameters:
    radiosensitivity: {{prior: "{prior}", prior_log_sd: {sd}}}
output: {{figures: false}}
"""


def _lesion(path: Path, radius: float) -> None:
    shape, spacing = (30, 30, 24), np.array([1.0, 1.0, 1.25])
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -15.0
    x, y, z = (np.indices(shape) * spacing[:, None, None, None]) - 15.0
    r = np.sqrt((x - 0.3) ** 2 + (y + 0.2) ** 2 + (z - 0.1) ** 2)
    nib.save(nib.Nifti1Image((r < radius).astype(np.uint8), affine), path)


def _patient(root: Path, name: str, prior: str = "0.19 1/Gy", sd: float = 1.0, extra: str = "") -> Path:
    folder = root / name
    folder.mkdir()
    _lesion(folder / "labels.nii.gz", RADII[name])
    (folder / "case.yaml").write_text(CASE.format(name=name, prior=prior, sd=sd) + extra)
    return folder / "case.yaml"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    patients = []
    for name, alpha in ALPHAS.items():
        case_file = _patient(root, name)
        case, _ = read_case(case_file)
        mesh, _ = ensure_mesh(MPI.COMM_SELF, case, root / "meshes")
        obs = write_synthetic_observations(MPI.COMM_SELF, case, read_tagged_mesh(MPI.COMM_SELF, mesh),
                                           {"radiosensitivity": alpha}, SCANS, root / name / "obs")
        patients.append({"label": name, "case": f"{name}/case.yaml", "observations": str(obs.relative_to(root))})
    (root / "cohort.yaml").write_text(yaml.safe_dump({"patients": patients}))
    result = run_cli("calibrate", "--cohort", "cohort.yaml", "--out", "population", "--mesh-dir", "meshes",
                     ranks=2, cwd=root, timeout=900)
    assert result.returncode == 0, result.stderr
    return root, result


def test_cohort_fit_writes_a_population_prior(cohort):
    root, result = cohort
    assert "cohort calibration:" in result.stdout and "radiosensitivity" in result.stdout
    summary = json.loads((root / "population" / "cohort.json").read_text())
    fitted = {p["label"]: p["individual"]["radiosensitivity"]["map"] for p in summary["patients"]}
    for name, alpha in ALPHAS.items():  # each patient's own fit finds its radiosensitivity
        assert fitted[name] == pytest.approx(alpha, rel=0.1), fitted
    p = summary["parameters"]["radiosensitivity"]
    geometric = math.exp(np.mean(np.log(list(ALPHAS.values()))))
    assert p["informed"] and summary["em"]["converged"]
    low, high = p["population_median_interval_95"]
    assert low < geometric < high and p["population_median"] == pytest.approx(geometric, rel=0.1)
    spread = np.std(np.log(list(ALPHAS.values())))  # the ML spread of the true values (0.28)
    assert p["between_patient_log_sd"] == pytest.approx(spread, rel=0.3)
    prior = read_prior_file(root / "population" / "prior.yaml")["radiosensitivity"]
    assert prior["prior"] == pytest.approx(p["population_median"], rel=1e-5)
    assert prior["prior_log_sd"] == pytest.approx(math.hypot(p["between_patient_log_sd"], p["median_log_sd"]),
                                                  rel=1e-4)
    assert prior["bounds"] == pytest.approx((0.0019, 19.0))  # the cases' bounds (prior / 100 to x 100)
    manifest = json.loads((root / "population" / "manifest.json").read_text())
    assert manifest["ranks"] == 2 and [q["label"] for q in manifest["patients"]] == list(ALPHAS)
    text = "".join((root / "population" / f).read_text() for f in ("prior.yaml", "cohort.json", "manifest.json"))
    assert "case.yaml" not in text and str(root) not in text  # patients appear by their cohort label only


def test_sub_cohort_reuses_the_earlier_individual_fits(cohort):
    root, _ = cohort
    full = json.loads((root / "population" / "cohort.json").read_text())
    patients = yaml.safe_load((root / "cohort.yaml").read_text())["patients"]
    (root / "sub.yaml").write_text(yaml.safe_dump({"patients": patients[1:]}))
    result = run_cli("calibrate", "--cohort", "sub.yaml", "--reuse", "population", "--out", "sub", "--mesh-dir",
                     "meshes", cwd=root, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "2 earlier fit(s) reused" in result.stdout
    sub = json.loads((root / "sub" / "cohort.json").read_text())
    assert json.loads((root / "sub" / "manifest.json").read_text())["forward_runs"] == 0
    for earlier, now in zip(full["patients"][1:], sub["patients"], strict=True):
        assert now["reused"] and now["log_map"] == earlier["log_map"]
        assert now["log_covariance"] == earlier["log_covariance"]
    # the population of p2 and p3 alone: its median lies between their radiosensitivities
    median = sub["parameters"]["radiosensitivity"]["population_median"]
    assert ALPHAS["p2"] < median < ALPHAS["p3"]
    assert median != pytest.approx(full["parameters"]["radiosensitivity"]["population_median"], rel=1e-3)


def test_new_patient_calibrates_with_the_population_prior(cohort):
    root, _ = cohort
    # the case's own prior (0.05 /Gy, log sd 0.1) is replaced by the population prior
    case_file = _patient(root, "new", prior="0.05 1/Gy", sd=0.1)
    text = case_file.read_text().replace("  misfit:", "  prior: ../population/prior.yaml\n  misfit:")
    case_file.write_text(text)
    case, _ = read_case(case_file)
    population = read_prior_file(root / "population" / "prior.yaml")["radiosensitivity"]
    spec = case.calibration.parameters["radiosensitivity"]
    assert spec.prior == pytest.approx(population["prior"]) and spec.prior_log_sd == population["prior_log_sd"]
    mesh, _ = ensure_mesh(MPI.COMM_SELF, case, root / "meshes")
    write_synthetic_observations(MPI.COMM_SELF, case, read_tagged_mesh(MPI.COMM_SELF, mesh),
                                 {"radiosensitivity": 0.25}, [6], root / "new" / "obs")
    result = run_cli("calibrate", "new/case.yaml", "--observations", "new/obs/observations.yaml", "--out",
                     "new_calibration", "--mesh-dir", "meshes", cwd=root, timeout=600)
    assert result.returncode == 0, result.stderr
    fit = json.loads((root / "new_calibration" / "calibration.json").read_text())["parameters"]["radiosensitivity"]
    assert fit["prior_median"] == pytest.approx(population["prior"], rel=1e-6)
    assert fit["prior_log_sd"] == pytest.approx(population["prior_log_sd"], rel=1e-6)
    assert fit["map"] == pytest.approx(0.25, rel=0.15) and fit["interval_95"][0] < 0.25 < fit["interval_95"][1]
    manifest = json.loads((root / "new_calibration" / "manifest.json").read_text())
    assert manifest["prior_sha256"] and manifest["prior_file"] == str((root / "population" / "prior.yaml").resolve())

    run = run_cli("run", "new/case.yaml", "--prior", "population/prior.yaml", "--out", "new_run", "--mesh-dir",
                  "meshes", ranks=2, cwd=root, timeout=600)
    assert run.returncode == 0, run.stderr
    assert f"radiosensitivity {population['prior']:.6g} 1/Gy" in run.stdout
    rows = list(csv.DictReader((root / "new_run" / "metrics.csv").open()))
    plain = run_cli("run", "new/case.yaml", "--out", "new_plain", "--mesh-dir", "meshes", cwd=root, timeout=600)
    assert plain.returncode == 0, plain.stderr
    rows_plain = list(csv.DictReader((root / "new_plain" / "metrics.csv").open()))
    # the case's own alpha is 0.19 /Gy; at the population median the run differs
    assert float(rows[-1]["tumour_cells"]) != pytest.approx(float(rows_plain[-1]["tumour_cells"]), rel=1e-3)

    # no follow-up yet: the forecast samples the case's population prior (calibration.prior)
    forecast = run_cli("forecast", "new/case.yaml", "--samples", "2", "--out", "new_forecast", "--mesh-dir",
                       "meshes", ranks=2, cwd=root, timeout=600)
    assert forecast.returncode == 0, forecast.stderr
    manifest = json.loads((root / "new_forecast" / "manifest.json").read_text())
    assert manifest["prior_file"] == str((root / "population" / "prior.yaml").resolve())
    drawn = [float(r["radiosensitivity"]) for r in csv.DictReader((root / "new_forecast" / "samples.csv").open())]
    assert len(drawn) == 2 and drawn[0] != drawn[1]
    assert all(abs(math.log(a / population["prior"])) < 4 * population["prior_log_sd"] for a in drawn)


def test_cohort_errors_are_one_line(cohort, tmp_path):
    root, _ = cohort
    cases = [
        (("calibrate", "--cohort", str(tmp_path / "missing.yaml")), "cohort file"),
        (("calibrate", "p1/case.yaml", "--cohort", "cohort.yaml"), "drop CASE"),
        (("calibrate", "p1/case.yaml"), "--observations"),
        (("run", "p1/case.yaml", "--prior", "cohort.yaml"), "kind"),
        (("forecast", "p1/case.yaml"), "--prior FILE"),
        (("calibrate", "--cohort", "cohort.yaml", "--reuse", "p1"), "not an earlier cohort calibration"),
        (("calibrate", "p1/case.yaml", "--observations", "p1/obs/observations.yaml", "--reuse", "population"),
         "needs --cohort"),
        (("forecast", "p1/case.yaml", "--calibration", "population", "--prior", "population/prior.yaml"),
         "not both"),
    ]
    for args, message in cases:
        result = run_cli(*args, "--out", str(tmp_path / "out"), "--mesh-dir", "meshes", cwd=root, timeout=300)
        assert result.returncode == 2, (args, result.stderr)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("oncotwin: error:") and message in line, line
        assert not (tmp_path / "out").exists()


def _voxel_volume(label_file: Path) -> float:
    image = nib.load(label_file)
    return float(np.count_nonzero(np.asarray(image.dataobj) == 1) * abs(np.linalg.det(image.affine[:3, :3])))


def test_a_baseline_volume_covariate_reuses_the_fits_and_gives_a_new_patient_its_own_median(cohort):
    root, _ = cohort
    patients = yaml.safe_load((root / "cohort.yaml").read_text())["patients"]
    (root / "covariate.yaml").write_text(yaml.safe_dump({"patients": patients,
                                                         "covariates": {"radiosensitivity": "baseline_tumour_volume"}}))
    result = run_cli("calibrate", "--cohort", "covariate.yaml", "--reuse", "population", "--out", "with_covariate",
                     "--mesh-dir", "meshes", cwd=root, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "with_covariate" / "manifest.json").read_text())["forward_runs"] == 0
    summary = json.loads((root / "with_covariate" / "cohort.json").read_text())
    volumes = {name: _voxel_volume(root / name / "labels.nii.gz") for name in ALPHAS}
    for patient in summary["patients"]:  # [cm^3], from the label voxels
        assert patient["covariates"]["baseline_tumour_volume"] == pytest.approx(volumes[patient["label"]] / 1e3,
                                                                                rel=1e-6)
    entry = yaml.safe_load((root / "with_covariate" / "prior.yaml").read_text())["parameters"]["radiosensitivity"]
    reference = math.exp(np.mean(np.log(list(volumes.values()))))  # geometric mean [mm^3]
    assert float(entry["covariate"]["reference"].split()[0]) * 1e3 == pytest.approx(reference, rel=1e-5)
    assert entry["covariate"]["exponent_sd"] > 0 and -1 <= entry["covariate"]["correlation"] <= 1
    # with the exponent, each patient's population median moves towards its own fitted alpha: the
    # residual spread is below that of the model without the covariate
    assert summary["parameters"]["radiosensitivity"]["between_patient_log_sd"] <= \
        json.loads((root / "population" / "cohort.json").read_text())["parameters"]["radiosensitivity"][
            "between_patient_log_sd"] + 1e-9

    prior = read_prior_file(root / "with_covariate" / "prior.yaml")["radiosensitivity"]
    new_volume = _voxel_volume(root / "new" / "labels.nii.gz")
    median = prior["prior"] * (new_volume / reference) ** prior["covariate"]["exponent"]
    run = run_cli("run", "new/case.yaml", "--prior", "with_covariate/prior.yaml", "--out", "new_covariate_run",
                  "--mesh-dir", "meshes", cwd=root, timeout=600)
    assert run.returncode == 0, run.stderr
    assert f"radiosensitivity {median:.6g} 1/Gy" in run.stdout, run.stdout

    (root / "bad_covariate.yaml").write_text(yaml.safe_dump({"patients": patients, "covariates": {
        "radiosensitivity": "age"}}))
    (root / "uncalibrated.yaml").write_text(yaml.safe_dump({"patients": patients, "covariates": {
        "clearance_half_time": "baseline_tumour_volume"}}))
    for cohort_file, message in (("bad_covariate.yaml", "covariates.radiosensitivity"),
                                 ("uncalibrated.yaml", "do not calibrate clearance_half_time")):
        bad = run_cli("calibrate", "--cohort", cohort_file, "--reuse", "population", "--out", "bad_out",
                      "--mesh-dir", "meshes", cwd=root, timeout=300)
        line = bad.stderr.strip().splitlines()[-1]
        assert bad.returncode == 2 and message in line, bad.stderr
        assert not (root / "bad_out").exists()
