"""Reading run, comparison, calibration and forecast folders into plain Python data for the report."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunData:
    """What the report needs from one run folder (every part optional but the path).

    Attributes:
        path: the run folder.
        name: display name (the regimen name in a comparison, else the case name).
        metrics: ``metrics.csv`` as column name -> list of floats (NaN where empty or not numeric).
        summary: ``summary.json`` (empty when missing).
        manifest: ``manifest.json`` (empty when missing).
    """

    path: Path
    name: str
    metrics: dict[str, list[float]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def case(self) -> dict[str, Any]:
        """The resolved (validated) case from the manifest, or an empty dict."""
        resolved = self.manifest.get("resolved_case")
        return resolved if isinstance(resolved, dict) else {}

    @property
    def days(self) -> list[float]:
        """Output times in days (empty without metrics)."""
        if "time_day" in self.metrics:
            return self.metrics["time_day"]
        if "time_s" in self.metrics:
            return [t / 86400.0 for t in self.metrics["time_s"]]
        return []

    def column(self, name: str) -> list[float] | None:
        """A metrics column, or None when absent or entirely NaN."""
        values = self.metrics.get(name)
        if not values or all(math.isnan(v) for v in values):
            return None
        return values

    def drugs(self) -> list[str]:
        """Drug names: from the treatment, else from the metrics column names."""
        names = [d.get("drug") for d in (self.case.get("treatment") or {}).get("drugs") or []]
        names = [n for n in names if isinstance(n, str)]
        if names:
            return list(dict.fromkeys(names))
        suffix = "_tumour_auc_mean_mg_h_per_L"
        return [c[: -len(suffix)] for c in self.metrics if c.endswith(suffix)]


@dataclass
class ComparisonData:
    """A comparison folder: ``comparison.json`` plus the regimens' run folders.

    Attributes:
        path: the comparison folder.
        info: ``comparison.json``.
        manifest: the top-level ``manifest.json`` (empty when missing).
        runs: regimen name -> its run data, in the order of ``info["regimens"]``.
    """

    path: Path
    info: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, RunData] = field(default_factory=dict)

    @property
    def regimens(self) -> list[dict[str, Any]]:
        """The regimen entries of ``comparison.json``."""
        return [r for r in self.info.get("regimens") or [] if isinstance(r, dict)]

    @property
    def name(self) -> str:
        """The case name."""
        return str(self.info.get("case") or self.path.name)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; empty when the file is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def read_metrics(path: Path) -> dict[str, list[float]]:
    """``metrics.csv`` as column -> floats; empty when the file is missing."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return {}
    if not rows:
        return {}
    return {key: [_number(row.get(key)) for row in rows] for key in rows[0] if key}


def read_run(path: Path, name: str | None = None) -> RunData:
    """Read a run folder (tolerates missing files)."""
    path = Path(path)
    summary = read_json(path / "summary.json")
    manifest = read_json(path / "manifest.json")
    case_name = summary.get("case") or (manifest.get("resolved_case") or {}).get("name") or path.name
    return RunData(path=path, name=name or str(case_name), metrics=read_metrics(path / "metrics.csv"),
                   summary=summary, manifest=manifest)


def read_comparison(path: Path) -> ComparisonData:
    """Read a comparison folder and each regimen's run folder (relative ``run_dir`` to ``path``)."""
    path = Path(path)
    data = ComparisonData(path=path, info=read_json(path / "comparison.json"),
                          manifest=read_json(path / "manifest.json"))
    for regimen in data.regimens:
        name = str(regimen.get("name", "?"))
        run_dir = Path(str(regimen.get("run_dir") or Path("regimens") / name))
        data.runs[name] = read_run(run_dir if run_dir.is_absolute() else path / run_dir, name)
    return data


def is_comparison(path: Path) -> bool:
    """Whether ``path`` is a comparison folder (has ``comparison.json``)."""
    return (Path(path) / "comparison.json").is_file()


def is_calibration(path: Path) -> bool:
    """Whether ``path`` is a calibration folder.

    Args:
        path: a folder.

    Returns:
        True when it holds ``calibration.json``.
    """
    return (Path(path) / "calibration.json").is_file()


def is_forecast(path: Path) -> bool:
    """Whether ``path`` is a forecast folder.

    Args:
        path: a folder.

    Returns:
        True when it holds ``forecast.json``.
    """
    return (Path(path) / "forecast.json").is_file()


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts of strings; empty when the file is missing or unreadable.

    Args:
        path: the CSV file.

    Returns:
        One dict per row.
    """
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


def number(value: Any) -> float | None:
    """A finite float from a JSON or CSV value, else None.

    Args:
        value: anything.

    Returns:
        The number, or None for missing, non-numeric or non-finite values (and booleans).
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
