"""Multilevel start: a calibration on a coarser mesh of the same patient starts the full-mesh fit.

On the small twin lesion of tests/calibration/test_parallel_runs.py (two scans, proliferation and
invasion fitted, Levenberg-Marquardt to convergence): the calibration started from the coarse mesh's
MAP ends at the full-mesh-only MAP within 1 %. The case switch and its bad input are checked on the
case file.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from oncotwin.calibration.calibrate import Calibrator
from oncotwin.calibration.multilevel import block_coarsened, coarse_case, coarse_start
from oncotwin.case.calibration import CalibratedParameter, Multilevel
from oncotwin.case.load import read_case
from oncotwin.core.errors import CaseError
from tests.calibration.test_parallel_runs import SMALL, TWO, _subject, lesion  # noqa: F401  (the fixture)
from tests.conftest import run_cli


def _converging(case, factor: float | None = None, pinned: bool = False):
    """The case with Levenberg-Marquardt to convergence, a multilevel section when ``factor`` and, when
    ``pinned``, the invasion diffusivity known to 5 % (prior at the truth)."""
    spec = case.calibration
    optimiser = spec.optimiser.model_copy(update={"max_iterations": 20, "tolerance": 1e-3})
    parameters = dict(spec.parameters)
    if pinned:
        parameters["invasion_diffusivity"] = CalibratedParameter(prior=TWO["invasion_diffusivity"], prior_log_sd=0.05)
    multilevel = Multilevel(coarse_factor=factor) if factor else None
    return case.model_copy(update={"calibration": spec.model_copy(update={
        "optimiser": optimiser, "multilevel": multilevel, "parameters": parameters})})


@pytest.mark.mpi
def test_multilevel_start_ends_at_the_full_mesh_map_within_1_percent(lesion):  # noqa: F811
    """Proliferation fitted with the invasion known to 5 %: from the priors (proliferation a factor 2 off)
    the full-mesh-only search and the multilevel one end at the same MAP (measured: within 0.01 %, 12
    full-mesh runs vs 12 coarse + 9 full-mesh runs).

    With both parameters free (prior log sd 2) the MAP is not defined to 1 % on this lesion: the two are
    0.998 correlated and the objective falls by 0.01 (a fiftieth of one sd) over a 2 % shift along the
    ridge, where Levenberg-Marquardt stops wherever it arrives (benchmarks/multilevel_calibration.py)."""
    comm = lesion["comm"]
    full = _subject(lesion, comm)
    full.case = _converging(full.case, pinned=True)
    plain = Calibrator(comm, [full]).run()
    subject = _subject(lesion, comm)
    subject.case = _converging(subject.case, 2.0, pinned=True)
    start, record = coarse_start(comm, subject, lesion["folder"] / "meshes", Calibrator)
    assert record["converged"] and record["coarse_factor"] == 2.0
    assert record["cells"] < 0.25 * lesion["tmesh"].mesh.topology.index_map(3).size_global
    result = Calibrator(comm, [subject], start=start).run()
    assert plain.converged and result.converged
    assert np.all(np.abs(np.exp(result.x - plain.x) - 1.0) < 0.01), (result.x, plain.x)
    assert abs(np.exp(plain.x[0]) / TWO["proliferation_rate"] - 1.0) < 0.05  # and it is the truth
    assert abs(np.exp(start[0]) / TWO["proliferation_rate"] - 1.0) < 0.25  # the coarse MAP is near it
    if comm.rank == 0:
        print(f"\nmultilevel: {record['forward_runs']} coarse runs ({record['cells']} cells) + {result.runs} "
              f"full-mesh runs; full-mesh only: {plain.runs} runs")


def test_coarse_case_scales_the_element_sizes_and_the_images(lesion, tmp_path):  # noqa: F811
    case = _converging(lesion["case"], 2.5, pinned=True)
    coarse = coarse_case(case, 2.5, tmp_path)
    assert coarse.mesh.size_tumour == pytest.approx(2.5 * case.mesh.size_tumour)
    assert coarse.mesh.size_far == pytest.approx(2.5 * case.mesh.size_far)
    assert coarse.mesh.margin == case.mesh.margin and coarse.mesh.grading_distance == case.mesh.grading_distance
    assert coarse.name != case.name  # its own mesh cache folder
    assert coarse.calibration.multilevel is None and coarse.calibration.surrogate == "off"
    assert coarse.calibration.parameters == case.calibration.parameters
    labels = nib.load(coarse.geometry.labels)  # blocks of 2 voxels (floor of 2.5)
    original = nib.load(case.geometry.labels)
    assert labels.shape == (18, 18, 15)
    assert np.allclose(labels.header.get_zooms(), 2 * np.array(original.header.get_zooms()))
    voxel = np.prod(original.header.get_zooms())
    assert 8 * voxel * labels.get_fdata().sum() == pytest.approx(voxel * original.get_fdata().sum(), rel=0.15)
    assert coarse_case(case, 1.5, tmp_path / "kept").geometry.labels == case.geometry.labels  # floor(1.5) = 1


def test_block_coarsening_votes_labels_and_keeps_the_block_centres():
    data = np.zeros((4, 4, 3), dtype=np.int16)
    data[:2, :2, :2] = 3
    data[0, 0, 0] = 1  # a minority label inside the block
    data[2:, 2:, :] = 1
    affine = np.diag([1.0, 2.0, 0.5, 1.0])
    affine[:3, 3] = [10.0, 20.0, 30.0]
    out, coarse = block_coarsened(data, affine, 2, labels=True)
    assert out.shape == (2, 2, 2) and out.dtype == np.int16
    assert out[0, 0, 0] == 3 and out[1, 1, 0] == 1 and out[1, 1, 1] == 1 and out[0, 1, 0] == 0
    # the centre of coarse voxel 0 is the centre of old voxels 0 and 1
    assert np.allclose(coarse @ [0, 0, 0, 1], affine @ [0.5, 0.5, 0.5, 1])
    means, _ = block_coarsened(data.astype(np.float32), affine, 2, labels=False)
    assert means[0, 0, 0] == pytest.approx((7 * 3 + 1) / 8)


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


def test_a_continuous_tissue_mask_is_coarsened_as_inside_or_outside(lesion, tmp_path):  # noqa: F811
    case = _converging(lesion["case"], 2.0)
    labels = nib.load(case.geometry.labels)
    x = np.linspace(0.0, 0.9, labels.shape[0])[:, None, None] * np.ones(labels.shape)  # inside: > 0.45
    nib.save(nib.Nifti1Image(x.astype(np.float32), labels.affine), tmp_path / "mask.nii.gz")
    geometry = case.geometry.model_copy(update={"tissue_mask": tmp_path / "mask.nii.gz"})
    case = case.model_copy(update={"geometry": geometry})
    mask = nib.load(coarse_case(case, 2.0, tmp_path / "coarse").geometry.tissue_mask).get_fdata()
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask.mean() == pytest.approx((x > 0.45).mean(), abs=0.03)
