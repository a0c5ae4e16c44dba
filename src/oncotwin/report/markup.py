"""Inline HTML elements of the report: escaped text, captioned figures and response badges."""

from __future__ import annotations

import html
from typing import Any

from oncotwin.report.clinical import pretty_units

RESPONSE_WORDS = {"CR": "complete response", "PR": "partial response", "SD": "stable disease",
                  "PD": "progressive disease"}


def esc(value: Any) -> str:
    """HTML-escaped text, with ``^2``-style exponents as superscripts and no reST literal quotes."""
    return html.escape(pretty_units(str(value)).replace("``", ""), quote=True)


def figure(uri: str | None, caption: str, alt: str) -> str:
    """A captioned figure (empty string without an image). ``caption`` is HTML."""
    if not uri:
        return ""
    return f'<figure><img src="{uri}" alt="{esc(alt)}"><figcaption>{caption}</figcaption></figure>'


def badge(code: str | None) -> str:
    """A coloured response-category badge."""
    if not code:
        return "–"
    return f'<span class="badge {esc(code)}" title="{esc(RESPONSE_WORDS.get(code, code))}">{esc(code)}</span>'
