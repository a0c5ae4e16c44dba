"""Hostile use of the single-file commands (``probe``, ``report``): no silent overwrite, one-line errors.

Defects 5, 6, 9 and 10 of the reliability issue: ``probe --out existing.csv`` and ``report --out
existing.html`` replaced the file without being asked, ``report --out DIR`` and ``probe`` on a folder that
is not a run gave tracebacks, ``probe --points /dev/zero`` never returned, and non-finite points were
accepted silently. One coarse sphere run serves the whole module.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.core.test_rundir import checksums
from tests.test_hostile_folders import coarse_case, one_error_line


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished run of the coarse sphere case."""
    folder = tmp_path_factory.mktemp("run")
    case = coarse_case(folder)
    result = run_cli("run", str(case), "--out", str(folder / "result"), "--mesh-dir", str(folder / "meshes"),
                     timeout=300)
    assert result.returncode == 0, result.stderr
    return folder / "result"


@pytest.fixture
def points(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("name,x,y,z\ncentre,0,0,0\n")
    return path


@pytest.mark.timeout(120)
def test_probe_does_not_replace_an_existing_csv_without_force(run_dir, points, tmp_path):
    out = tmp_path / "existing.csv"
    out.write_text("keep me\n")
    before = checksums(tmp_path)
    line = one_error_line(run_cli("probe", str(run_dir), "--field", "pressure_mmHg", "--points", str(points),
                                  "--out", str(out)))
    assert "exists" in line and "--force" in line
    assert checksums(tmp_path) == before
    forced = run_cli("probe", str(run_dir), "--field", "pressure_mmHg", "--points", str(points), "--out",
                     str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_text().startswith("name,x,y,z,time_s,pressure_mmHg")


@pytest.mark.timeout(120)
def test_report_does_not_replace_an_existing_file_or_write_into_a_folder(run_dir, tmp_path):
    out = tmp_path / "existing.html"
    out.write_text("keep me\n")
    before = checksums(tmp_path)
    line = one_error_line(run_cli("report", str(run_dir), "--out", str(out)))
    assert "exists" in line
    line = one_error_line(run_cli("report", str(run_dir), "--out", str(tmp_path)))
    assert "is a folder" in line
    assert checksums(tmp_path) == before
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["probe", "report"])
def test_commands_on_a_folder_that_is_not_a_run(tmp_path, points, command):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    (folder / "notes.txt").write_text("x\n")
    args = ["--field", "pressure_mmHg", "--points", str(points)] if command == "probe" else []
    line = one_error_line(run_cli(command, str(folder), *args))
    assert "not a run" in line


@pytest.mark.timeout(60)
@pytest.mark.parametrize("ranks", [1, 2])
def test_probe_points_from_dev_zero_end_with_one_line(run_dir, ranks):
    line = one_error_line(run_cli("probe", str(run_dir), "--field", "pressure_mmHg", "--points", "/dev/zero",
                                  ranks=ranks, timeout=50))
    assert "not a regular file" in line


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_probe_points_must_be_finite(run_dir, tmp_path, value):
    path = tmp_path / "points.csv"
    path.write_text(f"x,y,z\n0,{value},0\n")
    line = one_error_line(run_cli("probe", str(run_dir), "--field", "pressure_mmHg", "--points", str(path)))
    assert "finite" in line and ":2:" in line


@pytest.mark.timeout(60)
def test_probe_points_outside_the_mesh_are_warned_about(run_dir, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("name,x,y,z\nin,0,0,0\nfar,1000,0,0\n")
    result = run_cli("probe", str(run_dir), "--field", "pressure_mmHg", "--points", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 of 2 points lie outside the mesh" in result.stderr


@pytest.mark.timeout(120)
def test_an_image_error_leaves_no_empty_results_or_meshes_folder(tmp_path):
    """A label map that cannot be read fails at meshing: one line, and no ``results/`` or ``meshes/``."""
    (tmp_path / "labels.nii.gz").write_bytes(b"not an image")
    case = tmp_path / "c.yaml"
    case.write_text("name: broken\ngeometry: {kind: segmentation, labels: labels.nii.gz, label_preset: brats2013, "
                    "host_region: edema}\nregions:\n  necrotic: {kind: necrotic}\n  edema: {kind: edema}\n"
                    "  non_enhancing: {kind: tumour}\n  enhancing: {kind: tumour}\n")
    validated = run_cli("validate", str(case), cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    before = checksums(tmp_path)
    line = one_error_line(run_cli("run", str(case), cwd=tmp_path))
    assert "labels.nii.gz" in line
    assert not (tmp_path / "results").exists() and not (tmp_path / "meshes").exists()
    assert checksums(tmp_path) == before
