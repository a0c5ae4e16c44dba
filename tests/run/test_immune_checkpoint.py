"""A run with the T-cell field on: the same metrics serially and on 2 ranks, and a run killed mid-way and
resumed (on the same or another rank count) gives the uninterrupted run: the checkpoint carries the T-cell
state."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.model.test_immune_coupling import BLOCKADE, GROWING, IMMUNE_MARKERS
from tests.run.test_resume import assert_same_run, run_and_kill, table

CASE = (GROWING.replace("NAME", "immune_resumable")
        .replace("IMMUNE", "immune: {enabled: true}\n  drug: {enabled: true}")
        .replace(" PROFILE", IMMUNE_MARKERS)
        .replace("  radiotherapy:", "  drugs:" + BLOCKADE + "\n  radiotherapy:")
        .replace('end: "4 day"', 'end: "6 day"'))
SOLVER_DIAGNOSTICS = ("_iterations", "_residual_norm", "_substeps")


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("immune_checkpoint")
    (tmp / "case.yaml").write_text(CASE)
    for ranks in (1, 2):
        result = run_cli("run", "case.yaml", "--out", f"np{ranks}", ranks=ranks, cwd=tmp, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return tmp


def test_immune_run_serial_and_on_two_ranks_agree(full_runs):
    serial, parallel = table(full_runs / "np1" / "metrics.csv"), table(full_runs / "np2" / "metrics.csv")
    assert [r["time_day"] for r in parallel] == [r["time_day"] for r in serial]
    assert {"effector_cells", "pd1_occupancy", "immune_tumour_ratio"} <= set(serial[0])
    assert float(serial[-1]["effector_cells"]) != float(serial[0]["effector_cells"])  # the field evolved
    for a, b in zip(serial, parallel, strict=True):
        for key, value in a.items():
            if key.endswith(SOLVER_DIAGNOSTICS) or "balance_error" in key or "mass_balance" in key:
                continue  # Krylov counts and round-off monitors depend on the partition
            assert float(b[key]) == pytest.approx(float(value), rel=1e-6, abs=1e-12, nan_ok=True), key


@pytest.mark.parametrize(("written", "resumed"), [(2, 2), (2, 1)])
def test_a_killed_immune_run_resumes_with_its_t_cell_state(full_runs, tmp_path, written, resumed):
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    run_and_kill(case, tmp_path, written, kill_after_day=2)
    result = run_cli("run", str(case), "--out", str(tmp_path / "run"), "--resume", ranks=resumed, cwd=tmp_path,
                     timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from the checkpoint at day" in result.stderr
    if written == resumed:
        assert_same_run(full_runs / f"np{resumed}", tmp_path / "run")
        return
    expected, got = table(full_runs / f"np{resumed}" / "metrics.csv"), table(tmp_path / "run" / "metrics.csv")
    assert [r["time_day"] for r in got] == [r["time_day"] for r in expected]
    for a, b in zip(expected, got, strict=True):
        for key, value in a.items():
            if not (key.endswith(SOLVER_DIAGNOSTICS) or "balance_error" in key):
                assert float(b[key]) == pytest.approx(float(value), rel=1e-6, abs=1e-10, nan_ok=True), key
