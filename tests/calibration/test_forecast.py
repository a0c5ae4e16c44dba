"""Forecast draws: a prior file (a new patient's population prior) sampled like a posterior."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import yaml

from oncotwin.calibration.forecast import prior_posterior, sample_posterior
from oncotwin.case import read_case

CASE = textwrap.dedent("""\
    name: new
    geometry: {kind: sphere, tumour_radius: "3 mm", host_radius: "9 mm"}
    regions:
      tumour: {kind: tumour}
      host: {kind: normal}
    physics:
      growth: {proliferation_rate: "0.05 1/day"}
    treatment:
      radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 1-5 every 7 days x 1"}
    time: {end: "10 day", max_step: "1 day", min_step: "1 day"}
    calibration:
      prior: prior.yaml
    """)


def test_prior_file_is_sampled_with_its_median_and_log_sd(tmp_path):
    (tmp_path / "prior.yaml").write_text(yaml.safe_dump({"kind": "population_prior", "parameters": {
        "radiosensitivity": {"prior": "0.21 1/Gy", "prior_log_sd": 0.3, "bounds": ["0.01 1/Gy", "2 1/Gy"]},
        "clearance_half_time": {"prior": "9 day", "prior_log_sd": 0.5, "bounds": ["1 day", "90 day"]}}}, sort_keys=False))
    (tmp_path / "case.yaml").write_text(CASE)
    case, _ = read_case(tmp_path / "case.yaml")
    posterior = prior_posterior(case)
    assert posterior["parameters"] == ["radiosensitivity", "clearance_half_time"]
    assert posterior["prior_file"] == str(tmp_path / "prior.yaml")
    bounds = [(p.lower, p.upper) for p in case.calibration.parameters.values()]
    draws = sample_posterior(posterior, bounds, 4000, seed=1)
    assert np.median(draws[:, 0]) == pytest.approx(math.log(0.21), abs=0.02)
    assert np.median(draws[:, 1]) == pytest.approx(math.log(9 * 86400.0), abs=0.03)
    assert np.std(draws, axis=0) == pytest.approx([0.3, 0.5], rel=0.05)
    assert abs(np.corrcoef(draws.T)[0, 1]) < 0.05  # independent log-normal priors
