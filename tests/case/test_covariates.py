"""Covariate priors: a population prior's power model evaluated at the patient's own covariate, at load."""

from __future__ import annotations

import math
import textwrap

import nibabel as nib
import numpy as np
import pytest
import yaml

from oncotwin.case import read_case
from oncotwin.case.calibration import with_prior
from oncotwin.case.covariates import covariate_value
from oncotwin.case.prior_file import read_prior_file
from oncotwin.core.errors import CaseError
from tests.case.test_prior_file import CASE, PRIOR

DAY = 86400.0
SPHERE_VOLUME = 4.0 / 3.0 * math.pi * 3.0 ** 3  # the case's tumour_radius 3 mm [mm^3]
EFFECT = {"name": "baseline_tumour_volume", "reference": "0.2 cm^3", "exponent": -0.8, "exponent_sd": 0.3,
          "correlation": 0.4}
TC = {"prior": "8 day", "prior_log_sd": 0.35, "bounds": ["1 day", "60 day"], "between_patient_log_sd": 0.3,
      "mean_log_sd": 0.18, "covariate": EFFECT}


def _prior(tmp_path, entry=TC):
    data = yaml.safe_load(yaml.safe_dump(PRIOR))
    data["parameters"]["clearance_half_time"] = entry
    (tmp_path / "prior.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path / "prior.yaml"


def _expected(volume: float) -> tuple[float, float]:
    z = math.log(volume / 200.0)
    sd = math.sqrt(0.3 ** 2 + 0.18 ** 2 + 2 * z * 0.4 * 0.18 * 0.3 + (z * 0.3) ** 2)
    return 8 * DAY * (volume / 200.0) ** -0.8, sd


def test_a_covariate_prior_takes_the_patients_median_and_predictive_sd(tmp_path):
    prior = _prior(tmp_path)
    entry = read_prior_file(prior)["clearance_half_time"]
    assert entry["covariate"] == pytest.approx({**EFFECT, "reference": 200.0, "between_patient_log_sd": 0.3,
                                                "mean_log_sd": 0.18})
    (tmp_path / "case.yaml").write_text(CASE)
    case, _ = read_case(tmp_path / "case.yaml")
    tc = with_prior(case, prior).calibration.parameters["clearance_half_time"]
    median, sd = _expected(SPHERE_VOLUME)
    assert tc.covariate_value == pytest.approx(SPHERE_VOLUME)
    assert tc.prior == pytest.approx(median, rel=1e-12) and tc.prior_log_sd == pytest.approx(sd, rel=1e-12)
    assert median > 8 * DAY  # a tumour smaller than the reference, a negative exponent: a longer median
    # the case's own `calibration.prior` key gives the same, once
    (tmp_path / "case.yaml").write_text(CASE.replace("calibration:\n", "calibration:\n  prior: prior.yaml\n"))
    own = read_case(tmp_path / "case.yaml")[0]
    tc_own = own.calibration.parameters["clearance_half_time"]
    assert tc_own.prior == pytest.approx(median, rel=1e-12) and tc_own.prior_log_sd == pytest.approx(sd, rel=1e-12)
    # at the reference value the prior is the file's median and sqrt(between^2 + mean^2)
    at_reference = dict(TC, covariate=dict(EFFECT, reference=f"{SPHERE_VOLUME / 1000.0!r} cm^3"))
    tc_ref = with_prior(case, _prior(tmp_path, at_reference)).calibration.parameters["clearance_half_time"]
    assert tc_ref.prior == pytest.approx(8 * DAY, rel=1e-9)
    assert tc_ref.prior_log_sd == pytest.approx(math.hypot(0.3, 0.18), rel=1e-9)


def test_baseline_tumour_volume_counts_the_viable_and_necrotic_labels_not_edema(tmp_path):
    labels = np.zeros((20, 20, 12), dtype=np.uint8)
    labels[5:9, 5:9, 4:6] = 1   # necrotic, 32 voxels
    labels[9:12, 5:9, 4:6] = 4  # enhancing, 24 voxels
    labels[12:16, 5:9, 4:6] = 2  # edema, 32 voxels: not tumour
    nib.save(nib.Nifti1Image(labels, np.diag([0.9, 1.1, 2.5, 1.0])), tmp_path / "labels.nii.gz")
    case_text = textwrap.dedent("""\
        name: seg
        geometry: {kind: segmentation, labels: labels.nii.gz, label_preset: brats2013, host_region: host}
        regions:
          necrotic: {kind: necrotic}
          edema: {kind: edema}
          non_enhancing: {kind: tumour}
          enhancing: {kind: tumour}
          host: {kind: normal}
        """)
    (tmp_path / "case.yaml").write_text(case_text)
    case, _ = read_case(tmp_path / "case.yaml")
    volume = covariate_value(case, "baseline_tumour_volume")
    assert volume == pytest.approx(56 * 0.9 * 1.1 * 2.5, rel=1e-6)  # the affine is stored in float32
    with pytest.raises(ValueError, match="unknown covariate"):
        covariate_value(case, "age")


@pytest.mark.parametrize("change, key, message", [
    ({"covariate": dict(EFFECT, name="age")}, "parameters.clearance_half_time.covariate.name", "unknown covariate"),
    ({"covariate": dict(EFFECT, reference="3 day")}, "parameters.clearance_half_time.covariate.reference", "cm"),
    ({"covariate": dict(EFFECT, correlation=2)}, "parameters.clearance_half_time.covariate.correlation", "[-1, 1]"),
    ({"covariate": {k: v for k, v in EFFECT.items() if k != "exponent"}},
     "parameters.clearance_half_time.covariate.exponent", "<missing>"),
    ({"covariate": dict(EFFECT, slope=1)}, "parameters.clearance_half_time.covariate.slope", "unknown key"),
    ({"mean_log_sd": None}, "parameters.clearance_half_time.mean_log_sd", "needs between_patient_log_sd"),
])
def test_covariate_errors_are_one_line_naming_the_prior_file_and_key(tmp_path, change, key, message):
    entry = {k: v for k, v in {**TC, **change}.items() if v is not None}
    prior = _prior(tmp_path, entry)
    with pytest.raises(CaseError) as info:
        read_prior_file(prior)
    text = str(info.value)
    assert text.startswith(str(prior)) and f"key '{key}'" in text and message in text and "\n" not in text, text
