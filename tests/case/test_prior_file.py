"""Prior files and how a case uses them: ``calibration.prior`` and ``with_prior`` (the ``--prior`` option)."""

from __future__ import annotations

import math
import textwrap

import pytest
import yaml

from oncotwin.case import read_case
from oncotwin.case.calibratable import PARAMETERS
from oncotwin.case.calibration import with_prior
from oncotwin.case.prior_file import read_prior_file
from oncotwin.core.errors import CaseError

DAY = 86400.0
CASE = textwrap.dedent("""\
    name: fit
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
      parameters:
        radiosensitivity: {prior: "0.03 1/Gy", prior_log_sd: 0.5, initial: "0.2 1/Gy"}
        proliferation_rate: {prior: "0.05 1/day"}
    """)
PRIOR = {"kind": "population_prior", "patients": 4, "parameters": {
    "radiosensitivity": {"prior": "0.21 1/Gy", "prior_log_sd": 0.31, "bounds": ["0.01 1/Gy", "2 1/Gy"],
                         "between_patient_log_sd": 0.25, "mean_log_sd": 0.12},
    "clearance_half_time": {"prior": "8 day", "prior_log_sd": 0.6, "bounds": ["1 day", "60 day"]}}}


def _files(tmp_path, prior=PRIOR, case=CASE):
    (tmp_path / "prior.yaml").write_text(yaml.safe_dump(prior, sort_keys=False))
    (tmp_path / "case.yaml").write_text(case)
    return tmp_path / "case.yaml", tmp_path / "prior.yaml"


def test_prior_file_reads_in_internal_units(tmp_path):
    _, prior = _files(tmp_path)
    entries = read_prior_file(prior)
    assert entries["radiosensitivity"] == {"prior": pytest.approx(0.21), "prior_log_sd": 0.31,
                                           "bounds": pytest.approx((0.01, 2.0))}
    assert entries["clearance_half_time"]["prior"] == pytest.approx(8 * DAY)


def test_case_key_replaces_the_case_priors_and_keeps_initial(tmp_path):
    case_file, _ = _files(tmp_path, case=CASE.replace("calibration:\n", "calibration:\n  prior: prior.yaml\n"))
    case, _ = read_case(case_file)
    spec = case.calibration
    alpha = spec.parameters["radiosensitivity"]
    assert alpha.prior == pytest.approx(0.21) and alpha.prior_log_sd == 0.31  # the prior file wins
    assert (alpha.lower, alpha.upper) == pytest.approx((0.01, 2.0)) and alpha.initial == pytest.approx(0.2)
    assert spec.parameters["proliferation_rate"].prior == pytest.approx(0.05 / DAY)  # not in the file: kept
    assert spec.parameters["clearance_half_time"].prior == pytest.approx(8 * DAY)  # only in the file: added
    assert spec.prior == tmp_path / "prior.yaml"


def test_option_applies_on_top_of_the_validated_case(tmp_path):
    case_file, prior = _files(tmp_path)
    case, _ = read_case(case_file)
    changed = with_prior(case, prior)
    alpha = changed.calibration.parameters["radiosensitivity"]
    assert alpha.prior == pytest.approx(0.21) and alpha.prior_log_sd == 0.31 and alpha.initial == pytest.approx(0.2)
    assert list(changed.calibration.parameters) == ["radiosensitivity", "proliferation_rate", "clearance_half_time"]
    assert case.calibration.parameters["radiosensitivity"].prior == pytest.approx(0.03)  # cases are immutable
    plain, _ = read_case(case_file.write_text(CASE[:CASE.index("calibration:")]) and case_file)
    assert list(with_prior(plain, prior).calibration.parameters) == ["radiosensitivity", "clearance_half_time"]


def test_initial_outside_the_prior_bounds_is_an_error(tmp_path):
    case_file, prior = _files(tmp_path, case=CASE.replace('initial: "0.2 1/Gy"', 'initial: "5 1/Gy"').replace(
        "prior_log_sd: 0.5,", "prior_log_sd: 0.5, bounds: [\"0.001 1/Gy\", \"10 1/Gy\"],"))
    case, _ = read_case(case_file)
    with pytest.raises(CaseError, match=r"initial.*must lie within the bounds of the prior file"):
        with_prior(case, prior)
    case_file.write_text(case_file.read_text().replace("calibration:\n", "calibration:\n  prior: prior.yaml\n"))
    with pytest.raises(CaseError, match=r"case.yaml.*calibration.parameters.radiosensitivity.initial"):
        read_case(case_file)


def test_prior_of_a_parameter_the_case_cannot_use_is_an_error(tmp_path):
    case_file, prior = _files(tmp_path, case=CASE.replace(
        'treatment:\n  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 1-5 every 7 days x 1"}\n', "")
        .replace('    radiosensitivity: {prior: "0.03 1/Gy", prior_log_sd: 0.5, initial: "0.2 1/Gy"}\n', ""))
    case, _ = read_case(case_file)
    with pytest.raises(CaseError, match=r"prior.yaml: key 'parameters.radiosensitivity'.*needs treatment.radiotherapy"):
        with_prior(case, prior)


def _bad(key_path, value):
    data = yaml.safe_load(yaml.safe_dump(PRIOR))
    target = data
    for key in key_path[:-1]:
        target = target[key]
    if value is None:
        del target[key_path[-1]]
    else:
        target[key_path[-1]] = value
    return data


@pytest.mark.parametrize("data, key, message", [
    (_bad(("kind",), "posterior"), "kind", "population_prior"),
    (_bad(("parameters",), {}), "parameters", "at least one"),
    (_bad(("parameters", "radiosensitivity", "prior"), "0.2 mm"), "parameters.radiosensitivity.prior", "1/Gy"),
    (_bad(("parameters", "radiosensitivity", "prior_log_sd"), -1), "parameters.radiosensitivity.prior_log_sd",
     "log units"),
    (_bad(("parameters", "radiosensitivity", "bounds"), None), "parameters.radiosensitivity.bounds", "<missing>"),
    (_bad(("parameters", "radiosensitivity", "bounds"), ["2 1/Gy", "0.1 1/Gy"]), "parameters.radiosensitivity.bounds",
     "lower bound"),
    (_bad(("parameters", "radiosensitivity", "prior"), "5 1/Gy"), "parameters.radiosensitivity.prior", "within"),
    (_bad(("parameters", "alpha"), {"prior": "1 1/Gy"}), "parameters.alpha", "not a calibratable parameter"),
    (_bad(("parameters", "radiosensitivity", "sd"), 1), "parameters.radiosensitivity.sd", "unknown key"),
    (_bad(("extra",), 1), "extra", "unknown key"),
])
def test_prior_file_errors_name_the_file_key_and_value(tmp_path, data, key, message):
    _, prior = _files(tmp_path, prior=data)
    with pytest.raises(CaseError) as info:
        read_prior_file(prior)
    text = str(info.value)
    assert text.startswith(str(prior)) and f"key '{key}'" in text and message in text, text


def test_a_bad_prior_file_named_by_a_case_is_reported_against_the_prior_file(tmp_path):
    case_file, _ = _files(tmp_path, prior=_bad(("kind",), "x"),
                              case=CASE.replace("calibration:\n", "calibration:\n  prior: prior.yaml\n"))
    with pytest.raises(CaseError, match=r"prior.yaml.*key 'kind'"):
        read_case(case_file)
    case_file.write_text(CASE.replace("calibration:\n", "calibration:\n  prior: nowhere.yaml\n"))
    with pytest.raises(CaseError, match=r"case.yaml.*calibration.prior.*file not found"):
        read_case(case_file)


def test_default_priors_are_centred_on_clinical_values(tmp_path):
    case_file, _ = _files(tmp_path, case=CASE.replace(
        'radiosensitivity: {prior: "0.03 1/Gy", prior_log_sd: 0.5, initial: "0.2 1/Gy"}',
        "radiosensitivity: {}\n    clearance_half_time: {prior_log_sd: 0.5}"))
    spec = read_case(case_file)[0].calibration.parameters
    alpha, tc = spec["radiosensitivity"], spec["clearance_half_time"]
    low, high = alpha.prior * math.exp(-1.96 * alpha.prior_log_sd), alpha.prior * math.exp(1.96 * alpha.prior_log_sd)
    assert 0.09 < low < 0.11 and 0.32 < high < 0.36  # head-and-neck SCC: 0.1-0.35 /Gy
    assert tc.prior == pytest.approx(10 * DAY) and tc.prior_log_sd == 0.5  # Lim et al. 2008; own sd kept
    assert "Lim et al." in PARAMETERS["clearance_half_time"].prior.source
    assert "head-and-neck" in PARAMETERS["radiosensitivity"].prior.source
    assert PARAMETERS["clearance_half_time"].text(10 * DAY) == "10 day"
