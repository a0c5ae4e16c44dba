"""Multilevel start: a calibration on a coarser mesh of the same patient starts the full-mesh fit.

On the small twin lesion of tests/calibration/test_parallel_runs.py (two scans, proliferation and
invasion fitted, Levenberg-Marquardt to convergence): the calibration started from the coarse mesh's
MAP ends at the full-mesh-only MAP within 1 %. The case switch and its bad input are checked on the
case file.
"""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.calibration.calibrate import Calibrator
from oncotwin.calibration.multilevel import coarse_case, coarse_start
from oncotwin.case.calibration import Multilevel
from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from tests.calibration.test_parallel_runs import SMALL, _subject, lesion  # noqa: F401  (the fixture)
from tests.conftest import run_cli


def _converging(case, factor: float | None = None):
    spec = case.calibration
    optimiser = spec.optimiser.model_copy(update={"max_iterations": 20, "tolerance": 1e-3})
    multilevel = Multilevel(coarse_factor=factor) if factor else None
    return case.model_copy(update={"calibration": spec.model_copy(update={"optimiser": optimiser,
                                                                          "multilevel": multilevel})})


@pytest.mark.mpi
def test_multilevel_start_ends_at_the_full_mesh_map_within_1_percent(lesion):  # noqa: F811
    comm = lesion["comm"]
    full = _subject(lesion, comm)
    full.case = _converging(full.case)
    reference = Calibrator(comm, [full]).run()
    subject = _subject(lesion, comm)
    subject.case = _converging(subject.case, 2.0)
    start, record = coarse_start(comm, subject, lesion["folder"] / "meshes", Calibrator)
    assert record["converged"] and record["coarse_factor"] == 2.0
    assert record["cells"] < 0.5 * lesion["tmesh"].mesh.topology.index_map(3).size_global
    result = Calibrator(comm, [subject], start=start).run()
    assert reference.converged and result.converged
    assert np.all(np.abs(np.exp(result.x - reference.x) - 1.0) < 0.01), (result.x, reference.x)
    if comm.rank == 0:
        print(f"\nmultilevel: {record['forward_runs']} coarse runs ({record['cells']} cells) + {result.runs} "
              f"full-mesh runs; full-mesh only: {reference.runs} runs")


def test_coarse_case_scales_the_element_sizes_only(lesion):  # noqa: F811
    case = _converging(lesion["case"], 2.5)
    coarse = coarse_case(case, 2.5)
    assert coarse.mesh.size_tumour == pytest.approx(2.5 * case.mesh.size_tumour)
    assert coarse.mesh.size_far == pytest.approx(2.5 * case.mesh.size_far)
    assert coarse.mesh.margin == case.mesh.margin and coarse.mesh.grading_distance == case.mesh.grading_distance
    assert coarse.name != case.name  # its own mesh cache folder
    assert coarse.calibration.multilevel is None and coarse.calibration.surrogate == "off"
    assert coarse.calibration.parameters == case.calibration.parameters


@pytest.mark.parametrize("text, factor", [("multilevel: {coarse_factor: 3}", 3.0), ("multilevel: off", None),
                                          ("multilevel: on", 2.0), ("", None)])
def test_multilevel_switch_in_the_case_file(tmp_path, text, factor):
    (tmp_path / "labels.nii.gz").write_bytes(b"")
    path = tmp_path / "case.yaml"
    path.write_text(SMALL.replace("  parameters:", f"  {text}\n  parameters:"))
    case, _ = read_case(path)
    spec = case.calibration.multilevel
    assert (spec.coarse_factor if spec else None) == factor


@pytest.mark.parametrize("factor", ["1", "0.5", "-2"])
def test_a_coarse_factor_not_above_one_is_a_one_line_error(tmp_path, factor):
    (tmp_path / "labels.nii.gz").write_bytes(b"")
    path = tmp_path / "case.yaml"
    path.write_text(SMALL.replace("  parameters:", f"  multilevel: {{coarse_factor: {factor}}}\n  parameters:"))
    with pytest.raises(CaseError) as err:
        read_case(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and "key 'calibration.multilevel.coarse_factor'" in text, text
    assert "must be > 1" in text and factor in text, text


def test_a_coarse_factor_of_one_stops_the_command_before_anything_is_written(lesion, tmp_path):  # noqa: F811
    if lesion["comm"].size > 1:
        pytest.skip("a CLI test: runs its own process")
    folder = lesion["folder"]
    (folder / "bad.yaml").write_text(SMALL.replace("  parameters:", "  multilevel: {coarse_factor: 1}\n  parameters:"))
    out = tmp_path / "calibration"
    result = run_cli("calibrate", "bad.yaml", "--observations", "obs/observations.yaml", "--out", str(out),
                     "--mesh-dir", "meshes", cwd=folder)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "calibration.multilevel.coarse_factor" in lines[0], result.stderr
    assert not out.exists()
