"""The command line as a user meets it: one-line errors, exit codes, no hangs, no partial output."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from oncotwin.cli import COMMANDS, _parser, main
from tests.case.test_schema import BAD, GOOD
from tests.conftest import REPO, run_cli

TINY_MESH = """
mesh: {size_tumour: "1.5 mm", size_far: "3 mm", grading_distance: "3 mm"}
"""


def tiny_case(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD + TINY_MESH)
    return path


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("name", ["unknown key", "wrong dimension", "negative", "missing image", "malformed yaml"])
def test_bad_case_file_exits_cleanly(tmp_path, name, ranks):
    text, key, message = BAD[name]
    case = tmp_path / "case.yaml"
    case.write_text(text)
    result = run_cli("run", str(case), ranks=ranks, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one line, printed once (rank 0), no traceback
    assert lines[0].startswith("oncotwin: error: ")
    assert str(case) in lines[0] and key in lines[0] and message in lines[0]
    assert not (tmp_path / "results").exists() and not (tmp_path / "meshes").exists()


def test_validate_prints_resolved_case(tmp_path, capsys):
    assert main(["validate", str(tiny_case(tmp_path))]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["case"]["geometry"]["tumour_radius"] == 3.0
    assert resolved["case"]["regions"]["host"]["fluid"]["hydraulic_conductivity"] == pytest.approx(1e-6)


def test_version_and_usage_errors(capsys):
    assert main(["version"]) == 0
    assert "dolfinx-solver-real" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_run_refuses_to_overwrite_without_force(tmp_path):
    case = tiny_case(tmp_path)
    out = tmp_path / "out"
    first = run_cli("run", str(case), "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ranks"] == 1 and manifest["case_sha256"]
    assert {"mesh", "fluid", "output"} <= set(manifest["stages"])
    stamp = (out / "manifest.json").stat().st_mtime_ns

    again = run_cli("run", str(case), "--out", str(out), ranks=2, cwd=tmp_path, timeout=120)
    assert again.returncode == 2
    assert "use --force" in again.stderr and again.stderr.count("oncotwin: error") == 1
    assert (out / "manifest.json").stat().st_mtime_ns == stamp

    forced = run_cli("run", str(case), "--out", str(out), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (out / "manifest.json").stat().st_mtime_ns != stamp
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_failed_run_leaves_nothing(tmp_path):
    case = tmp_path / "diverge.yaml"
    case.write_text(GOOD + TINY_MESH + "solver:\n  fluid: {ksp_type: richardson, pc_type: none, ksp_max_it: 2}\n")
    result = run_cli("run", str(case), "--out", str(tmp_path / "out"), ranks=2, cwd=tmp_path, timeout=180)
    assert result.returncode == 2
    assert "linear solver diverged" in result.stderr and "DIVERGED" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_mesh_is_cached(tmp_path):
    case = tiny_case(tmp_path)
    first = run_cli("mesh", str(case), cwd=tmp_path)
    assert first.returncode == 0 and "written" in first.stdout, first.stderr
    second = run_cli("mesh", str(case), cwd=tmp_path)
    assert "cached" in second.stdout
    assert {p.name for p in (tmp_path / "meshes" / "tiny").iterdir()} >= {
        "mesh.msh", "quality.json", "regions.json", "inputs.sha256"}


def test_shipped_sphere_case_validates():
    assert main(["-q", "validate", str(REPO / "cases" / "sphere_baxter_jain.yaml")]) == 0


def test_every_subcommand_has_its_module():
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(subparsers.choices) == sorted(COMMANDS)
    for name in COMMANDS:
        assert callable(importlib.import_module(f"oncotwin.commands.{name.replace('-', '_')}").main), name


def test_a_command_loads_only_its_own_stack():
    code = ("import sys; from oncotwin.cli import main; main(['version']); "
            "print(sorted(m for m in sys.modules if m.startswith('oncotwin.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = result.stdout.strip().splitlines()[-1]
    assert "oncotwin.commands.version" in loaded
    for heavy in ("oncotwin.case", "oncotwin.run.simulation", "oncotwin.report", "oncotwin.calibration"):
        assert f"'{heavy}'" not in loaded and f"'{heavy}." not in loaded, heavy


def test_truncated_cached_mesh_is_meshed_again(tmp_path):
    case = tiny_case(tmp_path)
    assert run_cli("mesh", str(case), cwd=tmp_path).returncode == 0
    msh = tmp_path / "meshes" / "tiny" / "mesh.msh"
    msh.write_bytes(msh.read_bytes()[: msh.stat().st_size // 2])
    again = run_cli("mesh", str(case), cwd=tmp_path)
    assert again.returncode == 0 and "written" in again.stdout, again.stderr
    assert "does not match its hash" in again.stderr


def test_mesh_cache_never_replaces_a_folder_it_did_not_write(tmp_path):
    case = tiny_case(tmp_path)
    own = tmp_path / "meshes" / "tiny"
    own.mkdir(parents=True)
    (own / "notes.txt").write_text("mine\n")
    result = run_cli("mesh", str(case), "--force", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "not an oncotwin mesh folder" in result.stderr
    assert (own / "notes.txt").read_text() == "mine\n" and len(list(own.iterdir())) == 1


def test_mesh_dir_that_is_a_file_is_one_line(tmp_path):
    case = tiny_case(tmp_path)
    (tmp_path / "afile").write_text("x\n")
    result = run_cli("mesh", str(case), "--mesh-dir", str(tmp_path / "afile"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "--mesh-dir is not a folder" in result.stderr


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--by-day", "-3", "argument --by-day: got -3; expected a day after the start (> 0)"),
    ("--by-day", "inf", "argument --by-day: got inf; expected a finite number"),
    ("--resistant-above", "2", "argument --resistant-above: got 2; expected a fraction in [0, 1)"),
    ("--samples", str(10**12), f"argument --samples: got {10**12}; allowed 1 to 100000 samples per regimen"),
    ("--samples", "0", "argument --samples: got 0; allowed 1 to 100000"),
])
def test_forecast_options_out_of_range_are_refused_at_parsing(tmp_path, capsys, option, value, expected):
    status = main(["forecast", str(tmp_path / "case.yaml"), "--calibration", str(tmp_path / "cal"), option, value])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("oncotwin: error: oncotwin forecast: ") and expected in err, err
    assert list(tmp_path.iterdir()) == []
