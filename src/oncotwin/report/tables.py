"""HTML tables of the report: header cells with units, data tables, key/value tables and number cells."""

from __future__ import annotations

from typing import Any

from oncotwin.report.clinical import fmt
from oncotwin.report.load import number
from oncotwin.report.markup import esc


def header_cell(label: str, unit: str | None = None, numeric: bool = False) -> str:
    """A ``<th>`` with the unit on its own line."""
    unit_html = f'<span class="unit">{esc(unit)}</span>' if unit else ""
    return f'<th{" class=num" if numeric else ""}>{esc(label)}{unit_html}</th>'


def table(headers: list[str], rows: list[str], css: str = "") -> str:
    """A table from ready-made header cells and row HTML."""
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{''.join(headers)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def kv_table(rows: list[tuple[str, str]]) -> str:
    """A two-column key/value table (values are escaped)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def value_cell(value: Any) -> str:
    """A right-aligned cell of a value as :func:`~oncotwin.report.clinical.fmt` writes it (other text as is)."""
    return f"<td class=num>{esc(fmt(value))}</td>"


def num_cell(value: Any) -> str:
    """A right-aligned number cell (three significant digits; strings that are numbers are read as numbers)."""
    return f"<td class=num>{esc(fmt(number(value)))}</td>"


def text_cell(text: str, numeric: bool = True) -> str:
    """A cell with ready text (escaped), right-aligned when ``numeric``."""
    return f"<td{' class=num' if numeric else ''}>{esc(text)}</td>"
