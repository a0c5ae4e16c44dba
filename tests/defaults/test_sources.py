"""The literature defaults are data: every default has a value with its unit and a source that the table cites."""

from __future__ import annotations

import pytest

from oncotwin.case.profile_rules import read_rules, shipped_rules_path
from oncotwin.core.units import to_internal
from oncotwin.defaults import immune, oxygen, tissue
from oncotwin.defaults.sources import SOURCES, Default, citation_keys, values, walk

TABLES = {f"{module.__name__}.{name}": table for module in (tissue, oxygen, immune)
          for name, table in vars(module).items() if name.endswith("_TABLE")}
DEFAULTS = [(f"{name}[{']['.join(path)}]", default) for name, table in TABLES.items()
            for path, default in walk(table)]
# internal unit of each text quantity's unit, to check that the case schema can convert it
INTERNAL = {"cm^2/(mmHg*s)": "mm^2/(mmHg*s)", "cm/(mmHg*s)": "mm/(mmHg*s)", "1/cm": "1/mm", "mmHg": "mmHg",
            "1/(mmHg*s)": "1/(mmHg*s)", "mm^2/day": "mm^2/s", "kPa": "mmHg", "1/day": "1/s", "1/mm^3": "1/mm^3",
            "1/kPa": "1/mmHg", "1/Gy": "1/Gy", "Gy": "Gy", "day": "s", "mg/L": "mg/mm^3",
            "mm^2/s": "mm^2/s", "1/s": "1/s", "mmHg/s": "mmHg/s"}


def test_the_tables_hold_every_default():
    assert set(TABLES) == {"oncotwin.defaults.tissue.FLUID_TABLE", "oncotwin.defaults.tissue.DRUG_REGION_TABLE",
                           "oncotwin.defaults.tissue.GROWTH_TABLE", "oncotwin.defaults.tissue.MECHANICS_TABLE",
                           "oncotwin.defaults.tissue.MODEL_TABLE", "oncotwin.defaults.oxygen.OXYGEN_TABLE",
                           "oncotwin.defaults.oxygen.MODEL_TABLE", "oncotwin.defaults.immune.KINETICS_TABLE",
                           "oncotwin.defaults.immune.BLOCKADE_TABLE", "oncotwin.defaults.immune.TARGET_TABLE",
                           "oncotwin.defaults.immune.TRANSPORT_TABLE", "oncotwin.defaults.tissue.BRAIN_TISSUE_TABLE"}
    assert len(DEFAULTS) > 100


@pytest.mark.parametrize(("name", "default"), DEFAULTS, ids=[name for name, _ in DEFAULTS])
def test_every_default_has_a_source(name, default):
    assert isinstance(default, Default)
    assert default.source.strip(), name
    assert all(key in SOURCES for key in citation_keys(default.source)), (name, default.source)


@pytest.mark.parametrize(("name", "default"), DEFAULTS, ids=[name for name, _ in DEFAULTS])
def test_every_default_has_its_unit(name, default):
    if isinstance(default.value, str):
        number, unit = default.value.split(" ", 1)
        assert not default.unit, name
        assert to_internal(default.value, INTERNAL[unit]) == pytest.approx(to_internal(f"{float(number)} {unit}",
                                                                                       INTERNAL[unit]))
    else:
        assert isinstance(default.value, float), name
    if name.startswith("oncotwin.defaults.oxygen"):
        assert default.unit, name  # plain numbers in internal units: the unit is explicit


def test_every_source_is_cited_and_has_a_citation():
    cited = {key for _, default in DEFAULTS for key in citation_keys(default.source)}
    cited |= {key for note in oxygen.CALIBRATION_NOTES for key in citation_keys(note)}
    cited |= {key for rule in read_rules(shipped_rules_path()) for key in citation_keys(rule.source)}
    assert cited == set(SOURCES)
    assert all(len(citation) > 40 and citation.endswith(".") for citation in SOURCES.values())


def test_the_plain_tables_are_the_values_of_the_defaults():
    assert tissue.FLUID_DEFAULTS == values(tissue.FLUID_TABLE)
    assert tissue.GROWTH_DEFAULTS == values(tissue.GROWTH_TABLE)
    assert tissue.MECHANICS_DEFAULTS == values(tissue.MECHANICS_TABLE)
    assert tissue.DRUG_REGION_SCALES == values(tissue.DRUG_REGION_TABLE)
    assert oxygen.OXYGEN_DEFAULTS == values(oxygen.OXYGEN_TABLE)
    assert list(tissue.FLUID_DEFAULTS) == ["tumour", "necrotic", "normal", "edema"]
    assert list(oxygen.OXYGEN_DEFAULTS) == ["tumour", "necrotic", "normal", "edema"]
    assert set(tissue.TISSUE_KINDS) == set(tissue.FLUID_DEFAULTS) == set(tissue.GROWTH_DEFAULTS)
    # literal values, exactly as a case file writes them
    assert tissue.FLUID_DEFAULTS["tumour"]["hydraulic_conductivity"] == "4.13e-8 cm^2/(mmHg*s)"
    assert tissue.FLUID_DEFAULTS["edema"]["hydraulic_conductivity"] == "3.4e-8 cm^2/(mmHg*s)"
    assert tissue.FLUID_DEFAULTS["edema"]["vascular_permeability"] == "0.36e-7 cm/(mmHg*s)"
    assert tissue.PROLIFERATION_RATE == "0.05 1/day" and tissue.GROWTH_STRAIN == 0.1
    assert tissue.RT_ALPHA == "0.06 1/Gy" and tissue.OER_MAX == 3.0 and tissue.OER_K == "3 mmHg"
    assert oxygen.OXYGEN_DEFAULTS["normal"] == {"diffusivity": 2.0e-3, "supply_rate": 2.8, "vascular_po2": 40.0,
                                                "tissue_consumption": 15.0, "half_saturation": 2.5}
    assert oxygen.HYPOXIC_THRESHOLD == 10.0 and oxygen.NECROTIC_THRESHOLD == 1.0
    assert oxygen.TUMOUR_CONSUMPTION_DEFAULT == 15.0


def test_citation_keys():
    assert citation_keys("[BJ89]") == ["BJ89"]
    assert citation_keys("[LEE90, SHPD04]") == ["LEE90", "SHPD04"]
    assert citation_keys("of the order used in [BJ90]/[JTM07]") == ["BJ90", "JTM07"]
    assert citation_keys("modelling choice") == []


def test_walk_and_values():
    a, b = Default("1 mmHg", "[BJ89]"), Default(0.5, "modelling choice")
    table = {"tumour": {"x": a, "y": b}}
    assert list(walk(table)) == [(("tumour", "x"), a), (("tumour", "y"), b)]
    assert list(walk(a)) == [((), a)]
    assert values(table) == {"tumour": {"x": "1 mmHg", "y": 0.5}}
    with pytest.raises(AttributeError):
        a.value = "2 mmHg"  # frozen
