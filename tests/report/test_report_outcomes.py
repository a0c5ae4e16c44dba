"""The comparison page shows the clinical outcomes: table, ANC and survival curves, sources, device note."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from oncotwin.outcomes.neutropenia import FRIBERG, simulate_anc
from oncotwin.outcomes.survival import ZECCHIN_2016, forecast_survival
from oncotwin.pk.drugs import get_drug
from oncotwin.pk.plasma import PlasmaCurve
from oncotwin.pk.schedule import DoseEvent
from oncotwin.report import write_report
from tests.report.test_report import comparison_dir  # noqa: F401  (fixture)


def _clinical(with_drug: bool, shrink: float) -> dict:
    neutropenia = {}
    if with_drug:
        curve = PlasmaCurve(get_drug("docetaxel"), (DoseEvent(0.0, 3600.0, 180.0, "docetaxel", "infusion"),))
        f = simulate_anc(FRIBERG["docetaxel"], lambda th: curve.concentration_mg_per_l(th * 3600.0), 21 * 24.0,
                         n_patients=100)
        neutropenia["docetaxel"] = {**f.summary(), "curve": {"day": f.days.tolist(), "typical": f.typical.tolist(),
                                                             "p05": f.p05.tolist(), "p50": f.p50.tolist(),
                                                             "p95": f.p95.tolist()}}
    s = forecast_survival(ZECCHIN_2016, [(np.array([0.0, 84.0]), np.array([1e4, 1e4 * shrink]))])
    survival = {**s.summary(), "curve": {"day": s.days[::7].tolist(), "survival": s.survival[::7].tolist(),
                                         "lower": s.lower[::7].tolist(), "upper": s.upper[::7].tolist()}}
    return {"neutropenia": neutropenia, "cumulative_dose_mg_per_m2": {"docetaxel": {
                "mg_per_m2": 100.0, "limit_mg_per_m2": None, "limit_source": None}} if with_drug else {},
            "survival": survival,
            "radiotherapy": {"regions": {"edema": {"dose_Gy": 60.0, "EQD2_Gy": 60.0, "BED_Gy": 100.0, "alpha_beta_Gy": 3.0,
                                                "fractions": 30}}, "ntcp": {"edema:brain": {
                "region": "edema", "organ": "brain", "endpoint": "necrosis", "EQD2_Gy": 60.0, "ntcp": 0.5,
                "td50_Gy": 60.0, "m": 0.15, "n": 0.25, "source": "Burman et al. 1991"}}, "tcp": 0.01,
                "tcp_source": "Poisson TCP"},
            "resistance": {"p_emergence_by_horizon": 0.3, "source": "Bozic et al. 2013"}}


@pytest.fixture(scope="module")
def outcome_report(comparison_dir, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("outcomes") / "comparison"
    shutil.copytree(comparison_dir, root)
    info = json.loads((root / "comparison.json").read_text())
    for i, regimen in enumerate(info["regimens"]):
        regimen["clinical"] = _clinical(i > 0, 1.0 - 0.3 * i)
        regimen["metrics"]["closest_constraint"] = "P(grade >= 3 neutropenia, docetaxel) <= 0.8" if i else None
    (root / "comparison.json").unlink()
    (root / "comparison.json").write_text(json.dumps(info))
    (root / "report.html").unlink(missing_ok=True)
    return write_report(root)


def test_outcomes_table_figures_sources_and_note(outcome_report):
    page = outcome_report.read_text()
    assert "Model, not a medical device." in page
    table = page[page.index('<table class="outcomes">'):]
    table = table[: table.index("</table>")]
    assert "docetaxel" in table and "edema (brain) 50" in table
    assert "Friberg et al., J Clin Oncol 2002" in page and "Zecchin et al." in page and "Burman" in page
    assert "Absolute neutrophil count" in page and "Overall survival" in page and "Dose-volume histograms" in page
    images = re.findall(r"""<img[^>]*\bsrc="([^"]*)\"""", page)
    assert len(images) == 2 + 3 * 3 + 3  # the ANC, survival and DVH figures are added
    assert "binding constraint" in page
