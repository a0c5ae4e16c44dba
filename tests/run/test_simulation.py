"""End to end: a run's files read back with VTK's own readers; serial and 2-rank runs agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.case.test_schema import GOOD
from tests.conftest import run_cli

CASE = GOOD.replace('"1e-8 cm^2/(mmHg*s)"', '"8.53e-9 cm^2/(mmHg*s)"').replace(
    "pressure: \"0 mmHg\"", "pressure: \"0.935 mmHg\"") + """
mesh: {size_tumour: "0.8 mm", size_rim: "0.3 mm", rim_band: "0.2 mm", size_far: "2 mm", grading_distance: "2 mm"}
"""


def metrics(run: Path) -> dict[str, float]:
    with open(run / "metrics.csv") as fh:
        row = next(csv.DictReader(fh))
    return {k: float(v) for k, v in row.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    case = tmp / "tiny.yaml"
    case.write_text(CASE)
    out = {}
    for ranks in (1, 2):
        result = run_cli("run", str(case), "--out", str(tmp / f"np{ranks}"), ranks=ranks, cwd=tmp, timeout=300)
        assert result.returncode == 0, result.stderr
        out[ranks] = tmp / f"np{ranks}"
    return out


def test_serial_and_parallel_metrics_agree(runs):
    serial, parallel = metrics(runs[1]), metrics(runs[2])
    for key, value in serial.items():
        if key in ("fluid_iterations", "fluid_residual_norm"):
            continue
        assert parallel[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key


def test_fields_read_back_with_vtk_readers(runs):
    import pyvista as pv
    from vtkmodules.vtkIOXML import vtkXMLPUnstructuredGridReader

    from oncotwin.io.figures import read_fields

    for run in runs.values():
        reader = pv.get_reader(str(run / "fields.pvd"))
        assert reader.time_values == [0.0]
        grid = read_fields(run)
        assert {"pressure_mmHg", "velocity_um_per_s"} <= set(grid.point_data)
        assert set(np.unique(grid.cell_data["regions"]).astype(int)) == {1, 2}
        # raw VTK, no PyVista: the parallel piece index
        raw = vtkXMLPUnstructuredGridReader()
        raw.SetFileName(str(run / "fields" / "t00000000000.pvtu"))
        raw.Update()
        assert raw.GetOutput().GetPointData().GetArray("pressure_mmHg") is not None
        m = metrics(run)
        # sample at the centre and at the outer surface: interior value ~ p_e of the tumour, outer = BC
        probe = pv.PolyData(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 8.999]])).sample(grid)
        centre, outer = probe["pressure_mmHg"]
        assert centre == pytest.approx(m["ifp_max_tumour_mmHg"], rel=0.02)
        assert outer == pytest.approx(0.935, abs=2e-3)
        # interstitial flow goes outward at the rim
        points = np.array([[3.0, 0, 0], [0, -3.0, 0], [0, 0, 3.0]])
        sample = pv.PolyData(points).sample(grid)
        radial = np.einsum("ij,ij->i", sample["velocity_um_per_s"], points / 3.0)
        assert np.all(radial > 0)


def test_serial_and_parallel_fields_agree(runs):
    from oncotwin.io.figures import read_fields

    grids = [read_fields(runs[r]) for r in (1, 2)]
    assert grids[0].n_cells == grids[1].n_cells
    # match vertices by coordinates (the two runs number them differently)
    from scipy.spatial import cKDTree

    distance, index = cKDTree(grids[0].points).query(grids[1].points)
    assert distance.max() < 1e-9
    for name in ("pressure_mmHg", "velocity_um_per_s"):
        assert np.allclose(grids[1][name], grids[0][name][index], rtol=1e-6, atol=1e-7), name


def test_manifest_and_figures(runs):
    manifest = json.loads((runs[2] / "manifest.json").read_text())
    assert manifest["ranks"] == 2
    assert manifest["packages"]["dolfinx-solver-real"].startswith("0.11")
    assert manifest["resolved_case"]["geometry"]["tumour_radius"] == 3.0
    figures = sorted(p.name for p in (runs[1] / "figures").glob("*.png"))
    assert "pressure_mmHg_slices.png" in figures
    # two ranks share the figures out (each draws its own files): together they draw the same set
    assert sorted(p.name for p in (runs[2] / "figures").glob("*.png")) == figures
    result = run_cli("render", str(runs[1]))
    assert result.returncode == 0 and "pressure_mmHg_slices.png" in result.stdout


def test_probe_matches_vtk_readers(runs, tmp_path):
    import pyvista as pv

    from oncotwin.io.figures import read_fields

    points = tmp_path / "needles.csv"
    points.write_text("name,x,y,z\ncentre,0,0,0\nrim,2.9,0.3,0\nhost,0,-6,1\noutside,40,0,0\n")
    out = tmp_path / "probe.csv"
    for ranks, run in runs.items():
        result = run_cli("probe", str(run), "--field", "pressure_mmHg", "--points", str(points), "--out", str(out),
                         "--force", ranks=ranks)  # the second rank count replaces the first one's table
        assert result.returncode == 0, result.stderr
        with open(out) as fh:
            table = list(csv.DictReader(fh))
        assert [r["name"] for r in table] == ["centre", "rim", "host", "outside"]
        assert table[-1]["pressure_mmHg"] == ""  # outside the mesh
        grid = read_fields(run)
        xyz = np.array([[float(r[c]) for c in "xyz"] for r in table[:3]])
        expected = pv.PolyData(xyz).sample(grid)["pressure_mmHg"]
        assert [float(r["pressure_mmHg"]) for r in table[:3]] == pytest.approx(list(expected), rel=1e-6)
    bad = run_cli("probe", str(runs[1]), "--field", "nope", "--points", str(points))
    assert bad.returncode == 2 and "fields: pressure_mmHg" in bad.stderr
