"""The Gaussian-process surrogate of the calibration: accuracy on a twin lesion, and its bad inputs.

On the small twin lesion of tests/calibration/test_parallel_runs.py (two scans, proliferation and
invasion fitted): the emulated readout volumes are within 2 % of the full model over the held-back part
of the design, the surrogate's MAP (before any full-model polishing) is the full-model MAP within 1 %,
and the calibration with ``surrogate: on`` ends at the full-model MAP.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from mpi4py import MPI
from scipy.optimize import minimize

from oncotwin.calibration.calibrate import Calibrator
from oncotwin.calibration.misfit import SegmentationMisfit
from oncotwin.calibration.surrogate import SurrogateSearch, latin_hypercube
from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from tests.calibration.test_parallel_runs import SMALL, TWO, _subject, lesion  # noqa: F401  (the fixture)
from tests.calibration.test_twin import CASE


def _with_surrogate(case, mode="on"):
    spec = case.calibration
    optimiser = spec.optimiser.model_copy(update={"max_iterations": 15, "tolerance": 1e-3})
    return case.model_copy(update={"calibration": spec.model_copy(update={"surrogate": mode,
                                                                          "optimiser": optimiser})})


@pytest.mark.mpi
def test_surrogate_volumes_and_map_match_the_full_model(lesion):  # noqa: F811
    comm = lesion["comm"]
    subject = _subject(lesion, comm)
    subject.case = _with_surrogate(subject.case)
    calibrator = Calibrator(comm, [subject], ranks_per_run=1 if comm.size > 1 else None)
    result = calibrator.run()  # the surrogate's MAP, then Levenberg-Marquardt on the full model from there
    report = calibrator.surrogate
    # held back runs (a GP fitted without them): emulated volumes within 2 % of the full model's
    assert report["held_back"] >= 2
    assert report["held_back_volume_error_max"] < 0.02, report["held_back_volumes"]
    # the surrogate's own MAP is the full-model MAP (converged Levenberg-Marquardt) within 1 %
    assert result.converged
    assert np.all(np.abs(np.exp(np.array(report["map"]) - result.x) - 1.0) < 0.01), (report["map"], result.x)
    assert report["checks"][-1]["agree"]
    assert abs(report["checks"][-1]["data_misfit_full"] - result.data_misfit) <= 0.01 * max(result.data_misfit, 1.0)
    # the truth (noise-free twin, coarse mesh) is recovered: proliferation within 15 %, diffusivity 30 %
    values = calibrator.values(result.x)
    assert values["proliferation_rate"] == pytest.approx(TWO["proliferation_rate"], rel=0.15)
    assert values["invasion_diffusivity"] == pytest.approx(TWO["invasion_diffusivity"], rel=0.3)
    summary = calibrator.summary(result)
    assert summary["surrogate"]["full_runs"] == report["full_runs"] and summary["forward_runs"] > report["full_runs"]
    if comm.rank == 0:
        print(f"\nsurrogate: {report['full_runs']} full runs, held-back volume error "
              f"{100 * report['held_back_volume_error_max']:.2f} %, checks {len(report['checks'])}; "
              f"total forward runs {result.runs}; MAP {values}")


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
        assert case.calibration.surrogate == "on" and case.calibration.design_size == 10 * 3
        return
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and f"key '{key}'" in text and message in text, text


def test_surrogate_on_for_a_parameter_it_cannot_represent_is_a_one_line_error(tmp_path):
    text = (SMALL.replace("  parameters:", "  surrogate: on\n  parameters:")
            .replace("physics:\n", "physics:\n  mechanics: {enabled: true}\n")
            .replace("    invasion_diffusivity:",
                     "    stress_coupling: {prior: \"0.5 1/kPa\"}\n    invasion_diffusivity:"))
    (tmp_path / "labels.nii.gz").write_bytes(b"")
    path = tmp_path / "case.yaml"
    path.write_text(text)
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text and "key 'calibration.surrogate'" in text
    assert "cannot represent stress_coupling" in text, text


class _Analytic:
    """A calibrator stand-in whose readouts are closed forms: one observation at two times whose log
    volume is linear plus quadratic in the log-parameters, and a shape term quadratic around a minimum."""

    def __init__(self):
        misfit = SegmentationMisfit(MPI.COMM_SELF, np.zeros((1, 4), int), np.array([1000.0]), np.array([1.0]),
                                    [1.0, 2.0], 0.5, 0.05, 0.2)
        self.subjects = [SimpleNamespace(misfits=[misfit])]
        self.names = ["a", "b"]
        self.lower, self.upper = np.array([-5.0, -5.0]), np.array([5.0, 5.0])
        self.start = np.array([0.0, 0.0])
        self.prior = SimpleNamespace(mean=np.zeros(2), precision=np.eye(2) * 0.01)
        self.truth = np.array([0.6, -0.4])
        self.runs = 0

    def readouts(self, x):
        d = x - self.truth
        log_v = np.log(1000.0 + 1.0) + np.array([0.8 * d[0] - 0.3 * d[1], 1.5 * d[0] - 0.5 * d[1]]) + 0.1 * d[0] ** 2
        shape = 0.05 + 2.0 * np.array([d @ d, d @ np.diag([2.0, 1.0]) @ d])
        return np.concatenate([log_v, shape])

    def readouts_many(self, points):
        self.runs += len(points)
        return [self.readouts(np.asarray(x)) for x in points]


def test_surrogate_finds_the_minimum_of_closed_form_readouts():
    analytic = _Analytic()
    search = SurrogateSearch(analytic, design=10)
    x = search.run()

    def exact(z):
        return float(search.data_misfit(analytic.readouts(z))[0]) + search.prior_misfit(z)

    best = minimize(exact, analytic.truth, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12}).x
    assert np.max(np.abs(x - best)) < 5e-3, (x, best, search.report.checks)
    assert search.report.held_back_volume_error_max < 0.02
    assert search.report.checks[-1]["agree"] and analytic.runs == search.report.full_runs
    assert len(search.report.boxes) >= 2  # the wide box, then the local one around its minimiser
