"""Small tables: CSV rows and JSON-safe values (rank 0 writes them)."""

from __future__ import annotations

import csv
import math
from pathlib import Path


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows of dictionaries as CSV, with the union of their keys (first-seen order) as the header."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def json_safe(value):
    """JSON has no NaN or infinity: such values become null (recursively through dicts and lists)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
