"""Field figures over the case's scan: a synthetic run folder (oblique anisotropic NIfTI, one-step pvd)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import pyvista as pv

from oncotwin.io.background import load_background, sample_plane, view_window
from oncotwin.io.figures import render_run

PVD = """<?xml version="1.0"?>
<VTKFile type="Collection" version="1.0">
  <Collection>
    <DataSet timestep="0" part="0" file="fields_p0_000000.vtu" />
  </Collection>
</VTKFile>
"""


def oblique_affine(shape) -> np.ndarray:
    """LPS-like flips, anisotropic voxels (2, 1.5, 3 mm) and a 10 degree turn about z; centred on 0."""
    turn = np.deg2rad(10.0)
    rotation = np.array([[np.cos(turn), -np.sin(turn), 0.0], [np.sin(turn), np.cos(turn), 0.0], [0.0, 0.0, 1.0]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-2.0, -1.5, 3.0])
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return affine


def write_scan(path: Path, shape=(30, 40, 20)) -> np.ndarray:
    """A NIfTI whose voxels hold ``100 + x`` (world x in mm at the voxel centre); returns its affine."""
    affine = oblique_affine(shape)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    x = ijk @ affine[0, :3] + affine[0, 3]
    nib.save(nib.Nifti1Image((100.0 + x).astype(np.float32), affine), str(path))
    return affine


def write_run(run: Path, scan: Path | None, key: str = "tissue_mask") -> Path:
    """A run folder: a 20 mm hexahedral box around 0 with a tumour ball, pressure, summary, manifest."""
    run.mkdir()
    grid = pv.ImageData(dimensions=(11, 11, 11), spacing=(2.0, 2.0, 2.0), origin=(-10.0, -10.0, -10.0))
    grid = grid.cast_to_unstructured_grid()
    radius = np.linalg.norm(grid.cell_centers().points, axis=1)
    grid.cell_data["regions"] = np.where(radius < 5.0, 1, 2).astype(np.int32)
    grid.point_data["pressure_mmHg"] = np.exp(-np.sum(grid.points**2, axis=1) / 50.0)
    grid.save(str(run / "fields_p0_000000.vtu"))
    (run / "fields.pvd").write_text(PVD)
    (run / "metrics.csv").write_text("time_s,time_day\n0.0,0.0\n")
    summary = {"case": "synthetic", "regions": {"tumour": 1, "host": 2}, "tumour_regions": ["tumour"]}
    (run / "summary.json").write_text(json.dumps(summary))
    geometry = {"kind": "segmentation", "labels": str(run / "labels.nii.gz"), "tissue_mask": None}
    if scan is not None:
        geometry[key] = str(scan)
    (run / "manifest.json").write_text(json.dumps({"resolved_case": {"geometry": geometry}}))
    return run


def grey_pixels(png: Path) -> int:
    """Pixels with equal channels strictly between black and white (the grey anatomy)."""
    import matplotlib.image

    rgb = (matplotlib.image.imread(str(png))[..., :3] * 255).round().astype(int)
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    return int(np.count_nonzero(grey & (rgb[..., 0] > 40) & (rgb[..., 0] < 215)))


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    """The synthetic scan file."""
    path = tmp_path_factory.mktemp("scan") / "scan.nii.gz"
    write_scan(path)
    return path


def test_plane_sampled_in_world_coordinates(scan):
    """Oblique, anisotropic, flipped affine: samples hold 100 + x at their world points, NaN outside."""
    background = load_background({"kind": "segmentation", "labels": "labels.nii.gz", "image": str(scan)})
    assert background is not None and background.source == "image"
    window = view_window((-10, 10, -10, 10, -10, 10), "z", 0.2)
    assert window == ((-14.0, 14.0), (-14.0, 14.0))
    plane = sample_plane(background, "z", np.array([0.0, 0.0, 3.0]), window)
    values = plane.point_data["background"]
    assert np.allclose(plane.points[:, 2], 3.0)
    np.testing.assert_allclose(values, 100.0 + plane.points[:, 0], atol=1e-3)
    far = sample_plane(background, "x", np.array([80.0, 0.0, 0.0]), window)  # outside the scan
    assert np.all(np.isnan(far.point_data["background"]))


def test_background_sources(tmp_path, scan):
    """Intensity image first, then the tissue mask unless it is the label map; missing files give None."""
    both = {"kind": "segmentation", "labels": "labels.nii.gz", "image": str(scan), "tissue_mask": str(scan)}
    assert load_background(both).source == "image"
    assert load_background({"kind": "segmentation", "labels": "l.nii", "tissue_mask": str(scan)}).source == "tissue_mask"
    assert load_background({"kind": "segmentation", "labels": str(scan), "tissue_mask": str(scan)}) is None
    assert load_background({"kind": "segmentation", "labels": "l.nii", "image": str(tmp_path / "gone.nii")}) is None
    assert load_background({"kind": "sphere"}) is None
    assert load_background(None) is None


def test_render_over_scan_and_fallback(tmp_path, scan):
    """The scan shows around the field; without it (option off, file missing) the figure is as before."""
    over = render_run(write_run(tmp_path / "over", scan))
    plain = render_run(write_run(tmp_path / "plain", scan), background=False)
    missing = render_run(write_run(tmp_path / "missing", tmp_path / "absent" / "scan.nii.gz"))
    for written in (over, plain, missing):
        assert [p.name for p in written] == ["pressure_mmHg_slices.png"]
        assert written[0].is_file()
    assert grey_pixels(over[0]) > 20 * max(grey_pixels(plain[0]), 100)
    assert grey_pixels(missing[0]) == grey_pixels(plain[0])


def test_shares_draw_every_figure_once_and_the_same_as_one_process(tmp_path):
    """A run's ranks share the figures out: shares (0, 2) and (1, 2) draw disjoint sets whose union is
    what one process draws, pixel for pixel."""
    import matplotlib.image

    runs = {}
    for label in ("one", "two"):
        run = write_run(tmp_path / label, None)
        grid = pv.read(str(run / "fields_p0_000000.vtu"))
        grid.point_data["oxygen_mmHg"] = 40.0 - grid.points[:, 0]
        grid.point_data["velocity"] = np.tile([1.0, 2.0, 2.0], (grid.n_points, 1))
        grid.save(str(run / "fields_p0_000000.vtu"))
        runs[label] = run
    one = render_run(runs["one"], background=False)
    halves = [render_run(runs["two"], background=False, share=(k, 2)) for k in (0, 1)]
    assert len(one) == 3 and not {p.name for p in halves[0]} & {p.name for p in halves[1]}
    assert sorted(p.name for p in halves[0] + halves[1]) == sorted(p.name for p in one)
    for p in one:
        shared = runs["two"] / "figures" / p.name
        assert np.array_equal(matplotlib.image.imread(str(p)), matplotlib.image.imread(str(shared)))
