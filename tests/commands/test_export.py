"""``oncotwin export``: NIfTI on the input image's grid, checked against ``oncotwin probe``; bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from tests.conftest import run_cli

DAY = 86400.0
SPACING = np.array([1.0, 1.5, 3.0])  # anisotropic voxels (mm)
SHAPE = (30, 20, 12)

CASE = """
name: lps
geometry: {kind: segmentation, labels: labels.nrrd, regions: {tumour: [1]}, host_region: host}
mesh: {size_tumour: "1.5 mm", size_far: "3 mm", grading_distance: "4 mm", margin: "6 mm"}
regions:
  tumour: {kind: tumour, growth: {initial_density: 0.8, initial_density_depth: "3 mm"}}
  host: {kind: normal}
physics:
  growth: {step: "1 day", proliferation_rate: "0.1 1/day"}
time: {end: "2 day", max_step: "1 day", min_step: "1 day", output_every: "1 day"}
output: {figures: false}
"""


def _labels(path: Path) -> np.ndarray:
    """An ellipsoid in an LPS NRRD (DICOM frame) with 1 x 1.5 x 3 mm voxels; returns the RAS affine."""
    origin_lps = np.array([-14.0, -13.0, -16.0])
    centre = origin_lps + SPACING * (np.array(SHAPE) - 1) / 2 + [0.7, -0.4, 1.1]
    xyz = np.indices(SHAPE).reshape(3, -1).T * SPACING + origin_lps
    r = np.sqrt((((xyz - centre) / [6.0, 4.5, 4.0]) ** 2).sum(axis=1))
    labels = (r < 1.0).astype(np.uint8).reshape(SHAPE)
    nrrd.write(str(path), labels, {"space": "left-posterior-superior", "space directions": np.diag(SPACING),
                                   "space origin": origin_lps})
    affine = np.eye(4)
    affine[:3, :3] = np.diag(SPACING * [-1, -1, 1])  # LPS -> RAS: x and y negated
    affine[:3, 3] = origin_lps * [-1, -1, 1]
    return affine


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    affine = _labels(folder / "labels.nrrd")
    (folder / "case.yaml").write_text(CASE)
    result = run_cli("run", "case.yaml", "--out", "run", cwd=folder, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, affine


def _export(folder: Path, *args: str):
    return run_cli("export", "run", "--like", "labels.nrrd", *args, cwd=folder)


def test_exported_voxels_equal_probe_at_their_centres(run):
    folder, affine = run
    result = _export(folder, "--field", "tumour_cells", "--time", str(1 * DAY), "--out", "tumour.nii.gz")
    assert result.returncode == 0, result.stderr
    image = nib.load(folder / "tumour.nii.gz")
    assert image.shape == SHAPE
    assert np.allclose(image.affine, affine)  # the input's grid, in RAS like the mesh
    assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
    values = np.asarray(image.dataobj)
    rng = np.random.default_rng(0)
    inside = np.argwhere(values > 1e-3)
    low = np.argwhere((values > 0) & (values <= 1e-3))
    picks = np.concatenate([inside[rng.choice(len(inside), 14, replace=False)],
                            low[rng.choice(len(low), 6, replace=False)]])
    world = picks @ affine[:3, :3].T + affine[:3, 3]
    points = folder / "centres.csv"
    points.write_text("name,x,y,z\n" + "".join(f"v{i},{float(x)!r},{float(y)!r},{float(z)!r}\n" for i, (x, y, z) in enumerate(world)))
    probed = run_cli("probe", "run", "--field", "tumour_cells", "--points", "centres.csv", "--time", str(DAY),
                     "--out", "probe.csv", cwd=folder)
    assert probed.returncode == 0, probed.stderr
    with open(folder / "probe.csv") as fh:
        expected = [float(r["tumour_cells"]) for r in csv.DictReader(fh)]
    exported = [float(values[tuple(p)]) for p in picks]
    assert len(expected) == 20 and max(expected) > 0.1
    print("export vs probe at 20 voxel centres: largest difference",
          max(abs(a - b) for a, b in zip(exported, expected, strict=True)))
    assert exported == pytest.approx(expected, rel=1e-5, abs=1e-7)  # float32 voxels


def test_a_run_on_two_ranks_exports_the_same_volume(run):
    folder, _ = run
    two = run_cli("run", "case.yaml", "--out", "run2", ranks=2, cwd=folder, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    for name in ("run", "run2"):  # one piece per rank: the pieces are combined before sampling
        result = run_cli("export", name, "--field", "tumour_cells", "--like", "labels.nrrd", "--out",
                         f"{name}.nii.gz", cwd=folder)
        assert result.returncode == 0, result.stderr
    under_mpi = run_cli("export", "run", "--field", "tumour_cells", "--like", "labels.nrrd", "--out", "mpi.nii.gz",
                        ranks=2, cwd=folder)  # rank 0 exports, the other ranks wait
    assert under_mpi.returncode == 0, under_mpi.stderr
    assert np.array_equal(nib.load(folder / "mpi.nii.gz").get_fdata(), nib.load(folder / "run.nii.gz").get_fdata())
    one, two = (np.asarray(nib.load(folder / f"{n}.nii.gz").dataobj) for n in ("run", "run2"))
    assert one.max() > 0.1
    # the runs agree to the growth solver's Krylov tolerance (nodal values ~1e-5 apart, metrics ~1e-14)
    assert np.abs(two - one).max() <= 1e-4 * one.max()
    assert np.count_nonzero(two) == np.count_nonzero(one)  # the same voxels inside the mesh


def test_cell_fields_and_the_default_time(run):
    folder, _ = run
    result = _export(folder, "--field", "regions", "--out", "regions.nii")
    assert result.returncode == 0, result.stderr
    assert "day 2" in result.stderr  # the last output by default
    regions = np.asarray(nib.load(folder / "regions.nii").dataobj)
    assert regions.dtype.kind == "i"
    labels = nrrd.read(str(folder / "labels.nrrd"))[0]
    assert set(np.unique(regions)) <= {0, 1, 2}
    # the tumour region of the mesh follows the segmentation: most labelled voxels are tumour cells
    tumour = regions == 1
    assert (tumour & (labels == 1)).sum() >= 0.8 * (labels == 1).sum()


@pytest.mark.parametrize(("args", "message"), [
    (["--field", "dose", "--out", "x.nii.gz"], "no field 'dose'; fields: "),
    (["--field", "tumour_cells", "--time", "3600", "--out", "x.nii.gz"], "no output at 3600 s; output times are 0, 86400"),
    (["--field", "tumour_cells", "--out", "x.png"], "a NIfTI file name ending in .nii.gz or .nii"),
])
def test_bad_input_is_one_line_and_writes_nothing(run, args, message):
    folder, _ = run
    result = _export(folder, *args)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert message in line and "Traceback" not in result.stderr
    assert not list(folder.glob("x.*")) and not list(folder.glob(".x.*"))


def test_an_image_not_covering_the_mesh_and_an_existing_file_are_refused(run):
    folder, _ = run
    small = np.eye(4)
    small[:3, 3] = [40.0, 40.0, 40.0]
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.uint8), small), folder / "small.nii.gz")
    result = run_cli("export", "run", "--field", "tumour_cells", "--like", "small.nii.gz", "--out", "y.nii.gz",
                     cwd=folder)
    assert result.returncode == 2
    assert "does not cover the mesh" in result.stderr and "the mesh spans" in result.stderr
    assert not (folder / "y.nii.gz").exists()
    (folder / "kept.nii.gz").write_bytes(b"keep")
    result = _export(folder, "--field", "tumour_cells", "--out", "kept.nii.gz")
    assert result.returncode == 2 and "use --force" in result.stderr
    assert (folder / "kept.nii.gz").read_bytes() == b"keep"
    assert _export(folder, "--field", "tumour_cells", "--out", "kept.nii.gz", "--force").returncode == 0
    assert nib.load(folder / "kept.nii.gz").shape == SHAPE
