"""Numbers, changes and units as the report writes them in text (plain text, not escaped)."""

from __future__ import annotations

import math
from typing import Any

from oncotwin.report.clinical import fmt
from oncotwin.report.load import number


def percent_change(baseline: Any, final: Any, given: Any = None) -> float | None:
    """Volume change in percent, from baseline and final volumes (else the given value)."""
    if isinstance(baseline, (int, float)) and isinstance(final, (int, float)) and baseline > 0:
        return 100.0 * (final / baseline - 1.0)
    return float(given) if isinstance(given, (int, float)) else None


def signed_percent(value: float | None) -> str:
    """``+12 %`` / ``−65 %`` (typographic minus) or a dash."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.0f} %".replace("-", "−")


def unit_words(unit: str | None) -> str:
    """A unit as it reads in a sentence: ``1/day`` -> ``per day``; empty for dimensionless.

    Args:
        unit: a unit string of the calibration (``1/day``, ``mm^2/day``, ``1/Gy``, ``""``).

    Returns:
        Plain text (not escaped).
    """
    unit = (unit or "").strip()
    if unit.startswith("1/") and "/" not in unit[2:]:
        return f"per {unit[2:]}"
    return unit


def label(name: str) -> str:
    """A parameter key in words: ``proliferation_rate`` -> ``proliferation rate``."""
    return str(name).replace("_", " ")


def percent(value: float | None, digits: int = 0) -> str:
    """A probability (0-1) as ``25 %``; a dash when missing."""
    return "–" if value is None else f"{100.0 * value:.{digits}f} %"


def signed(value: float | None, digits: int = 1, suffix: str = " %") -> str:
    """A signed number with a typographic minus (``+0.8 %``, ``−1.2 %``); a dash when missing."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}{suffix}".replace("-", "−")


def sig(value: Any) -> str:
    """A parameter value with three significant digits, trailing zeros kept (``0.100``); else like ``fmt``."""
    x = number(value)
    text = f"{x:#.3g}".rstrip(".") if x is not None and 1e-3 <= abs(x) < 1e4 else "e"
    return text if "e" not in text else fmt(x)


def value_range(low: Any, high: Any, keep_zeros: bool = True) -> str:
    """``low–high`` with three significant digits each (plain text); ``keep_zeros``: ``0.100``, not ``0.1``."""
    show = sig if keep_zeros else (lambda v: fmt(number(v)))
    return f"{show(low)}–{show(high)}"
