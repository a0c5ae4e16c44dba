"""``oncotwin series fit|forecast|prior``: outputs, the run-folder contract, one-line errors, the prior workflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from oncotwin.case.load import read_case
from oncotwin.cli import main
from oncotwin.series.registry import MODELS
from oncotwin.series.table import read_table
from oncotwin.series.workflow import fit_table

REPO = Path(__file__).resolve().parents[2]
TABLE = ("patient,lesion,day,diameter_mm\n"
         "P01,a,-7,30\nP01,a,42,24\nP01,a,84,20\nP01,a,126,22\n"
         "P01,b,-7,15\nP01,b,42,12\nP01,b,84,10\nP01,b,126,12\n"
         "P02,a,-10,40\nP02,a,40,44\nP02,a,80,50\n")


@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "lesions.csv"
    path.write_text(TABLE)
    return path


def rows(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_fit_writes_every_output(table, tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["series", "fit", str(table), "--model", "gompertz", "--out", str(out)]) == 0
    for name in ("parameters.csv", "forecast.csv", "recist.csv", "tgi.csv", "tgi.json", "series.json",
                 "manifest.json", "report.html", "figures/P01.png", "figures/P02.png", ".oncotwin-result"):
        assert (out / name).is_file(), name
    recist = [r["category"] for r in rows(out / "recist.csv") if r["patient"] == "P01"]
    assert recist == ["baseline", "SD", "PR", "SD"]  # sums 45, 36, 30 (-33 %), 34 (+4 mm: not PD)
    tgi = {r["patient"]: r for r in json.loads((out / "tgi.json").read_text())}
    assert tgi["P02"]["week8_change"] > 0 > tgi["P01"]["week8_change"]
    forecast = rows(out / "forecast.csv")
    assert all(float(r["p5_mm3"]) <= float(r["p50_mm3"]) <= float(r["p95_mm3"]) for r in forecast)
    assert max(float(r["day"]) for r in forecast) == pytest.approx(126 + 84)
    html = (out / "report.html").read_text()
    assert "P01" in html and "data:image/png;base64" in html and "week-8 change" in html
    assert "week-8 change" in capsys.readouterr().out


def test_forecast_until_and_no_overwrite_without_force(table, tmp_path, capsys):
    out = tmp_path / "fc"
    args = ["series", "forecast", str(table), "--model", "oncotwin_0d", "--until", "300", "--out", str(out)]
    assert main(args) == 0
    assert max(float(r["day"]) for r in rows(out / "forecast.csv")) == pytest.approx(300)
    before = (out / "parameters.csv").read_text()
    assert main(args) == 2
    assert "a result already exists; use --force" in capsys.readouterr().err
    assert (out / "parameters.csv").read_text() == before
    assert main([*args, "--force", "--population"]) == 0
    assert json.loads((out / "series.json").read_text())["population_prior"] is True


@pytest.mark.parametrize(("text", "model", "message"), [
    (TABLE, "gompertzz", "key 'model': got 'gompertzz'; unknown model"),
    (TABLE + "P03,a,0,10\n", "gompertz", "key 'lesion': got 'P03/a'; has 1 reading(s)"),
    ("patient,day,diameter_mm\nP1,40,10\nP1,0,9\n", "gompertz", "key 'day': got '0'; scan times must increase"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, text, model, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["series", "fit", str(path), "--model", model, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_prior_plugs_into_a_spatial_case(table, tmp_path):
    fit_dir = tmp_path / "fit0d"
    assert main(["series", "fit", str(table), "--model", "oncotwin_0d", "--out", str(fit_dir)]) == 0
    prior = tmp_path / "prior.yaml"
    case = REPO / "cases" / "mni152_demo.yaml"
    assert main(["series", "prior", str(fit_dir), "--case", str(case), "--out", str(prior)]) == 0
    validated, _ = read_case(prior)
    fitted = [float(r["value"]) for r in rows(fit_dir / "parameters.csv") if r["parameter"] == "proliferation_rate"]
    rho = validated.calibration.parameters["proliferation_rate"]
    assert rho.prior * 86400 == pytest.approx(sorted(fitted)[1], rel=1e-5)  # the median of the 3 lesions
    assert "drug_kill_rate" in validated.calibration.parameters
    assert main(["series", "prior", str(fit_dir), "--case", str(case), "--out", str(prior)]) == 2  # no --force


def test_prior_needs_an_oncotwin_0d_fit(table, tmp_path, capsys):
    fit_dir = tmp_path / "fitg"
    assert main(["series", "fit", str(table), "--model", "gompertz", "--out", str(fit_dir)]) == 0
    assert main(["series", "prior", str(fit_dir), "--out", str(tmp_path / "p.yaml")]) == 2
    assert "key 'model': got 'gompertz'" in capsys.readouterr().err


@pytest.mark.mpi
def test_same_result_on_every_rank_count(shared_tmp, comm):
    """Under mpirun -n 2 rank 0 fits and writes; the result equals the serial fit, every rank exits 0."""
    table = shared_tmp / "lesions.csv"
    if comm.rank == 0:
        table.write_text(TABLE)
    comm.barrier()
    out = shared_tmp / "fit"
    assert main(["series", "fit", str(table), "--model", "oncotwin_0d", "--out", str(out)]) == 0
    if comm.rank == 0:
        serial = fit_table(read_table(table), MODELS["oncotwin_0d"])
        written = [float(r["value"]) for r in rows(out / "parameters.csv")]
        assert written == pytest.approx([float(f"{r['value']:.6g}") for r in serial.parameters], rel=1e-12)
