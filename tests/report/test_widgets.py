"""The report's building blocks: escaping, cells and tables, numbers in words, the sources table."""

from __future__ import annotations

import math

from oncotwin.defaults.oxygen import CALIBRATION_NOTES
from oncotwin.defaults.sources import SOURCES
from oncotwin.report.load import number, read_csv
from oncotwin.report.markup import badge, esc, figure
from oncotwin.report.numbers import percent_change, sig, signed, signed_percent, unit_words, value_range
from oncotwin.report.tables import header_cell, kv_table, num_cell, table, text_cell, value_cell
from oncotwin.report.text import calibration_notes, literature_sources


def test_escaping_and_inline_elements():
    assert esc("a < b & ``x`` mm^2") == "a &lt; b &amp; x mm²"
    assert figure(None, "caption", "alt") == ""
    assert figure("data:image/png;base64,AA", "<b>c</b>", "a\"b").startswith('<figure><img src="data:image/png')
    assert badge(None) == "–" and 'title="partial response"' in badge("PR")


def test_cells_and_tables():
    assert header_cell("Volume", "mm^3", True) == '<th class=num>Volume<span class="unit">mm³</span></th>'
    assert value_cell(1234.4) == "<td class=num>1,234</td>"
    assert value_cell("12") == "<td class=num>12</td>" and value_cell(None) == "<td class=num>–</td>"
    assert num_cell("0.5") == "<td class=num>0.5</td>" and num_cell(True) == "<td class=num>–</td>"
    assert text_cell("a<b", numeric=False) == "<td>a&lt;b</td>"
    assert table(["<th>x</th>"], ["<tr><td>1</td></tr>"], "kv").startswith('<table class="kv"><thead>')
    assert kv_table([("k", "v")]) == '<table class="kv"><tbody><tr><th>k</th><td>v</td></tr></tbody></table>'


def test_numbers_in_words():
    assert percent_change(100.0, 50.0) == -50.0 and percent_change(0.0, 1.0, 7) == 7.0
    assert percent_change(None, 1.0) is None
    assert signed_percent(-65.2) == "−65 %" and signed_percent(math.nan) == "–"
    assert signed(0.8) == "+0.8 %" and signed(None) == "–"
    assert unit_words("1/day") == "per day" and unit_words("mm^2/day") == "mm^2/day"
    assert sig(0.1) == "0.100" and value_range(0.0974, 0.1036) == "0.0974–0.104"
    assert number("3") == 3.0 and number("x") is None and number(math.inf) is None


def test_read_csv_of_a_missing_file(tmp_path):
    assert read_csv(tmp_path / "missing.csv") == []
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    assert read_csv(tmp_path / "a.csv") == [{"a": "1", "b": "2"}]


def test_the_report_cites_the_sources_table():
    assert literature_sources() == list(SOURCES.items())
    assert calibration_notes() == list(CALIBRATION_NOTES)


def test_the_immune_figure_is_drawn_only_for_runs_with_the_t_cell_field(tmp_path):
    from oncotwin.report.figures import immune_curves
    from oncotwin.report.load import RunData

    days = [0.0, 1.0, 2.0]
    plain = RunData(tmp_path, "control", {"time_day": days, "tumour_volume_mm3": [1.0, 1.1, 1.2]})
    assert immune_curves([plain], {"control"}) is None
    immune = RunData(tmp_path, "pembrolizumab", {"time_day": days, "tumour_volume_mm3": [1.0, 0.9, 0.8],
                                                 "pd1_occupancy": [0.0, 0.99, 0.98],
                                                 "immune_tumour_ratio": [0.1, 0.2, 0.3]})
    png = immune_curves([plain, immune], {"control"})
    assert png is not None and png.startswith(b"\x89PNG")
