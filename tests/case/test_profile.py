"""The molecular profile in the case file and the rule table: parsing, rules that fire, derived priors,
``oncotwin validate`` output and the one-line errors for bad markers and bad rule files."""

from __future__ import annotations

import json
import math
import textwrap

import pytest

from oncotwin.case.profile import Profile
from oncotwin.case.profile_rules import read_rules, shipped_rules_path
from oncotwin.core.errors import CaseError
from oncotwin.defaults.sources import SOURCES, citation_keys
from tests.conftest import run_cli

CASE = textwrap.dedent("""\
    name: profile
    geometry: {{kind: sphere, tumour_radius: "5 mm", host_radius: "20 mm"}}
    regions: {{tumour: {{kind: tumour}}, host: {{kind: normal}}}}
    treatment:
      patient:
        profile: {{{profile}}}
    """)


def _write(tmp_path, profile: str):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.format(profile=profile))
    return path


def _refused(tmp_path, path, *needles):
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("validate", str(path), cwd=tmp_path, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("oncotwin: error:") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    return lines[0]


def test_markers_are_read_with_units():
    p = Profile.model_validate({"tmb": "12 mut/Mb", "pdl1_tps": "60 %", "cd8_density": "800 cells/mm^2",
                                "rsi": 0.35, "mgmt_methylated": True})
    assert (p.tmb, p.pdl1_tps, p.cd8_density, p.rsi) == (12.0, 60.0, 800.0, 0.35)
    assert p.markers() == {"mgmt_methylated": True, "tmb": 12.0, "pdl1_tps": 60.0, "cd8_density": 800.0, "rsi": 0.35}


@pytest.mark.parametrize("key, value", [("tmb", "12"), ("pdl1_tps", 50), ("pdl1_tps", "120 %"),
                                        ("pdl1_tps", "-1 %"), ("cd8_density", "300 mm"), ("rsi", 1.2)])
def test_bad_marker_values_are_refused(key, value):
    with pytest.raises(ValueError):
        Profile.model_validate({key: value})


def test_no_marker_fires_no_rule():
    priors, fired = Profile().priors()
    assert fired == []
    assert priors["temozolomide_effect"] == 1.0 and priors["pdl1_suppression"] == 0.0


def test_rsi_gives_the_gard_alpha_of_scott_2017():
    # Scott et al., Lancet Oncol 2017: RSI = SF2 = exp(-n d (alpha + beta d)), n = 1, d = 2 Gy, beta = 0.05
    priors, fired = Profile(rsi=0.3).priors()
    alpha = priors["radiosensitivity"]
    assert math.exp(-2.0 * (alpha + 0.05 * 2.0)) == pytest.approx(0.3, rel=1e-12)
    assert [f.rule.name for f in fired] == ["rsi_gard_alpha"]


def test_rules_apply_in_order_and_factors_multiply():
    priors, fired = Profile(hpv_positive=True).priors()
    assert priors["radiosensitivity"] == pytest.approx(0.19 * 1.5)
    priors, fired = Profile(hpv_positive=True, rsi=0.3).priors()
    assert [f.rule.name for f in fired] == ["hpv_positive_radiosensitivity", "rsi_gard_alpha"]
    assert fired[1].before == pytest.approx(0.285)


def test_every_shipped_rule_has_a_known_source_and_an_effect_size():
    rules = read_rules(shipped_rules_path())
    assert len(rules) >= 7
    for rule in rules:
        assert rule.effect_size.strip() and rule.source.strip()
        assert all(key in SOURCES for key in citation_keys(rule.source)), rule.source
        assert citation_keys(rule.source) or "modelling choice" in rule.source


@pytest.mark.timeout(60)
def test_validate_prints_the_rules_that_fired_and_their_priors(tmp_path):
    path = _write(tmp_path, 'mgmt_methylated: false, pdl1_tps: "60 %", cd8_density: "50 cells/mm^2"')
    result = run_cli("validate", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)["profile"]
    assert [r["rule"] for r in out["rules_fired"]] == ["mgmt_unmethylated_temozolomide", "pdl1_tps_suppression",
                                                        "cd8_immune_desert"]
    assert out["priors"]["temozolomide_effect"] == pytest.approx(0.21)
    assert out["priors"]["pdl1_suppression"] == pytest.approx(0.6)
    assert out["priors"]["immune_infiltration"] == 0.0
    assert all(r["source"] and r["effect_size"] for r in out["rules_fired"])


@pytest.mark.timeout(60)
def test_unknown_marker_is_one_line_error(tmp_path):
    _refused(tmp_path, _write(tmp_path, "braf_mutant: true"), "case.yaml", "treatment.patient.profile.braf_mutant",
             "unknown key", "mgmt_methylated", "pdl1_tps")


@pytest.mark.timeout(60)
def test_tps_outside_0_100_percent_is_one_line_error(tmp_path):
    _refused(tmp_path, _write(tmp_path, 'pdl1_tps: "120 %"'), "case.yaml", "treatment.patient.profile.pdl1_tps",
             "120 %", "between 0 and 100 %")


RULES = textwrap.dedent("""\
    kind: profile_rules
    rules:
      - name: my_rule
        when: {{idh_mutant: true}}
        target: {target}
        factor: 0.5
        effect_size: "median survival 31 vs 15 months"
        source: "a local study"
    """)


@pytest.mark.timeout(60)
def test_rule_file_with_unknown_target_is_one_line_error(tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES.format(target="proliferation_speed"))
    line = _refused(tmp_path, _write(tmp_path, "idh_mutant: true, rules: [rules.yaml]"), "rules.yaml",
                    "rules.0.target", "proliferation_speed", "unknown target parameter", "radiosensitivity")
    assert "case.yaml" not in line


def test_user_rule_file_extends_the_shipped_rules(tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES.format(target="antigenicity"))
    profile = Profile.model_validate({"idh_mutant": True, "rules": ["rules.yaml"]},
                                     context={"base_dir": str(tmp_path)})
    priors, fired = profile.priors()
    assert [f.rule.name for f in fired] == ["my_rule"] and priors["antigenicity"] == 0.5


@pytest.mark.parametrize("bad, needle", [
    ("when: {braf: true}", "unknown marker"),
    ("when: {tmb: 'about 10'}", "comparison"),
    ("factor: 0.5\n    value: '0.3 1/Gy'", "exactly one of"),
])
def test_bad_rules_name_the_rule_file(tmp_path, bad, needle):
    text = RULES.format(target="antigenicity")
    if bad.startswith("when"):
        text = text.replace("when: {idh_mutant: true}", bad)
    else:
        text = text.replace("factor: 0.5", bad)
    (tmp_path / "rules.yaml").write_text(text)
    with pytest.raises(CaseError, match=needle) as info:
        read_rules(tmp_path / "rules.yaml")
    assert "rules.yaml" in str(info.value) and "rules.0" in str(info.value)
