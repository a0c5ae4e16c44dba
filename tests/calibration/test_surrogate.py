"""The Gaussian-process surrogate of the calibration: accuracy on a twin lesion, and its bad inputs.

On the small twin lesion of tests/calibration/test_parallel_runs.py (two scans, proliferation and
invasion fitted): the emulated readout volumes are within 2 % of the full model over the held-back part
of the design, the surrogate's MAP (before any full-model polishing) is the full-model MAP within 1 %,
and the calibration with ``surrogate: on`` ends at the full-model MAP.
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.calibration.calibrate import Calibrator
from oncotwin.calibration.surrogate import SurrogateSearch, latin_hypercube
from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from tests.calibration.test_parallel_runs import SMALL, _subject, lesion  # noqa: F401  (the module fixture)
from tests.calibration.test_twin import CASE


def _with_surrogate(case, mode="on"):
    return case.model_copy(update={"calibration": case.calibration.model_copy(update={"surrogate": mode})})


def _calibrator(lesion, surrogate="off"):  # noqa: F811
    comm = lesion["comm"]
    subject = _subject(lesion, comm)
    subject.case = _with_surrogate(subject.case, surrogate)
    return Calibrator(comm, [subject], ranks_per_run=1 if comm.size > 1 else None)


@pytest.mark.mpi
def test_surrogate_volumes_and_map_match_the_full_model(lesion):  # noqa: F811
    full = _calibrator(lesion).run()
    search = SurrogateSearch(_calibrator(lesion), design=10)
    x = search.run()
    report = search.report
    # held back runs (a GP fitted without them): emulated volumes within 2 % of the full model's
    assert report.held_back >= 2
    assert report.held_back_volume_error_max < 0.02, report.held_back_volumes
    # the surrogate's own MAP (no full-model steps) is the full-model MAP within 1 % in every parameter
    assert np.all(np.abs(np.exp(x - full.x) - 1.0) < 0.01), (x, full.x, report.checks)
    assert report.checks[-1]["agree"]
    assert report.full_runs < full.runs  # cheaper than the full-model search


@pytest.mark.mpi
def test_calibration_with_the_surrogate_ends_at_the_full_model_map(lesion):  # noqa: F811
    calibrator = _calibrator(lesion, "on")
    result = calibrator.run()
    plain = _calibrator(lesion).run()
    assert calibrator.surrogate is not None and calibrator.surrogate["full_runs"] > 0
    assert np.all(np.abs(np.exp(result.x - plain.x) - 1.0) < 0.01)
    assert result.objective == pytest.approx(plain.objective, rel=0.02, abs=0.05)
    summary = calibrator.summary(result)
    assert summary["surrogate"]["held_back_volume_error_max"] < 0.02


def test_latin_hypercube_fills_the_box_one_point_per_stratum():
    lower, upper = np.array([-1.0, 2.0]), np.array([1.0, 5.0])
    X = latin_hypercube(8, lower, upper, seed=3)
    assert X.shape == (8, 2) and np.all(X >= lower) and np.all(X <= upper)
    for j in range(2):
        strata = np.floor((X[:, j] - lower[j]) / (upper[j] - lower[j]) * 8).astype(int)
        assert sorted(strata) == list(range(8))


@pytest.mark.parametrize("edit, key, message", [
    (lambda text: text.replace("  parameters:", "  surrogate: on\n  parameters:"), None, None),
    (lambda text: text.replace("  parameters:", "  surrogate: on\n  surrogate_design: 3\n  parameters:"),
     "calibration.surrogate_design", "at least the number of parameters plus one (4)"),
    (lambda text: text.replace("  parameters:", "  surrogate: sometimes\n  parameters:"),
     "calibration.surrogate", "'on', 'off' or 'auto'"),
])
def test_surrogate_switch_in_the_case_file(tmp_path, edit, key, message):
    (tmp_path / "labels.nii.gz").write_bytes(b"")
    path = tmp_path / "case.yaml"
    path.write_text(edit(CASE))
    if key is None:  # a valid switch: YAML's 'on' is read as the word, the design defaults to 4 p + 2
        case, _ = read_case(path)
        assert case.calibration.surrogate == "on" and case.calibration.design_size == 4 * 3 + 2
        return
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and f"key '{key}'" in text and message in text, text


def test_surrogate_on_for_a_parameter_it_cannot_represent_is_a_one_line_error(tmp_path):
    text = (SMALL.replace("  parameters:", "  surrogate: on\n  parameters:")
            .replace("physics:\n", "physics:\n  mechanics: {enabled: true}\n")
            .replace("    invasion_diffusivity:", "    stress_coupling: {prior: \"0.5 1/kPa\"}\n    invasion_diffusivity:"))
    (tmp_path / "labels.nii.gz").write_bytes(b"")
    path = tmp_path / "case.yaml"
    path.write_text(text)
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text and "key 'calibration.surrogate'" in text
    assert "cannot represent stress_coupling" in text, text
