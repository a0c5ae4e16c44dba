"""Lesion-measurement tables: long-form CSV and the Laleh/TumorGrowth layout, checked like case files.

Two layouts are read (the layout is recognised by the header):

* **long form**, one row per lesion and scan::

      patient,lesion,day,diameter_mm[,volume_mm3]
      P01,liver1,-7,23.0
      P01,liver1,42,18.5

  ``day`` (days from treatment start; a baseline scan before it is negative) or ``date`` (ISO
  ``YYYY-MM-DD``; day 0 is then the patient's first scan, or the date of an optional ``start_date``
  column). The diameter's unit is in the header (``diameter_mm``, ``diameter_cm``) or in a ``unit``
  column (one unit for the whole table: mixed units are refused). ``lesion`` is optional (one lesion
  per patient). An optional ``volume_<unit>`` column overrides the diameter-derived volume.
* **Laleh/TumorGrowth** (Laleh et al., PLoS Comput Biol 18:e1009822, 2022, as redistributed by
  TumorGrowth.jl): one row per lesion with lists ``T_days``, ``Lesion_diam`` (mm), ``Lesion_vol``
  (mm^3) and ``Lesion_normvol``; ``Pt_hashID`` is the (pseudonymous) lesion/patient id.

Every problem is one line naming the file, the line, the column, the value and what is allowed
(:class:`~oncotwin.core.errors.CaseError`). Identifiers are kept as the table gives them (pseudonymous
ids are the user's responsibility); nothing else about a patient is read.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.core.units import convert
from oncotwin.series.volume import volume_from_diameter

LALEH_COLUMNS = ("Pt_hashID", "T_days", "Lesion_diam")
LENGTH_UNITS = ("mm", "cm", "m", "in")
VOLUME_UNITS = {"mm3": "mm^3", "cm3": "cm^3", "ml": "mL", "mL": "mL"}


@dataclass(frozen=True)
class Lesion:
    """The measurement series of one lesion (times ascending, day 0 = treatment start).

    Attributes:
        patient: the table's patient id (pseudonymous, as given).
        lesion: the lesion's id within the patient.
        days: scan days [day].
        diameters_mm: longest diameter at each scan [mm].
        volumes_mm3: volume at each scan [mm^3] (given, or from the diameter: :mod:`oncotwin.series.volume`).
        normvol: ``Lesion_normvol`` of the Laleh layout (volume over the data set's largest), else None.
        group: study arm (Laleh layout) or empty.
        lines: the table line of each scan (for messages).
        problem: why the series breaks a rule (only when read with ``strict=False``), else empty.
    """

    patient: str
    lesion: str
    days: np.ndarray
    diameters_mm: np.ndarray
    volumes_mm3: np.ndarray
    normvol: np.ndarray | None = None
    group: str = ""
    lines: tuple[int, ...] = field(default=())
    problem: str = ""

    @property
    def key(self) -> str:
        """``patient/lesion``."""
        return f"{self.patient}/{self.lesion}"

    def __len__(self) -> int:
        return len(self.days)


def read_table(path: str | Path, strict: bool = True) -> list[Lesion]:
    """Read a lesion table in either layout.

    Args:
        path: the CSV file.
        strict: refuse a lesion whose scan times do not increase strictly; with False (a benchmark on a
            published table that has a few such series) it is kept as given with :attr:`Lesion.problem` set.

    Raises:
        CaseError: a bad value (file, line, column, value, what is allowed).
        InputDataError: an unreadable or empty file.
    """
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: cannot read the lesion table ({exc})") from None
    if not rows or not any(rows[0]):
        raise InputDataError(f"{path}: empty lesion table; expected a header line")
    header = [h.strip() for h in rows[0]]
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    if all(c in header for c in LALEH_COLUMNS):
        return _laleh(path, header, body, strict)
    return _long_form(path, header, body)


# ------------------------------------------------------------------------------------------ Laleh layout
def _laleh(path: Path, header: list[str], body: list[tuple[int, list[str]]], strict: bool) -> list[Lesion]:
    col = {h: i for i, h in enumerate(header)}
    lesions = []
    for line, row in body:
        def cell(name: str, row=row, line=line) -> str:
            if col[name] >= len(row):
                raise CaseError(str(path), name, "<missing>", "every row needs every column", line=line)
            return row[col[name]]

        days = _number_list(path, line, "T_days", cell("T_days"))
        diam = _number_list(path, line, "Lesion_diam", cell("Lesion_diam"), length=len(days))
        vol = (_number_list(path, line, "Lesion_vol", cell("Lesion_vol"), length=len(days))
               if "Lesion_vol" in col else volume_from_diameter(diam))
        norm = (_number_list(path, line, "Lesion_normvol", cell("Lesion_normvol"), length=len(days))
                if "Lesion_normvol" in col else None)
        problem = ""
        try:
            _check_series(path, "T_days", days, [line] * len(days))
        except CaseError as exc:
            if strict:
                raise
            problem = str(exc)
        _check_diameters(path, "Lesion_diam", diam, [line] * len(days))
        group = cell("Study_Arm") if "Study_Arm" in col else ""
        lesions.append(Lesion(cell("Pt_hashID"), "1", days, diam, vol, norm, group, (line,) * len(days), problem))
    if not lesions:
        raise InputDataError(f"{path}: no lesion rows")
    return lesions


def _number_list(path: Path, line: int, column: str, text: str, length: int | None = None) -> np.ndarray:
    try:
        values = json.loads(text)
        array = np.asarray(values, dtype=float)
    except (ValueError, TypeError):
        raise CaseError(str(path), column, text, "expected a list of numbers such as [0.1, 6.0, 12.0]",
                        line=line) from None
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise CaseError(str(path), column, text, "expected a non-empty list of finite numbers", line=line)
    if length is not None and array.size != length:
        raise CaseError(str(path), column, text, f"expected {length} values, one per entry of T_days", line=line)
    return array


# -------------------------------------------------------------------------------------------- long form
def _long_form(path: Path, header: list[str], body: list[tuple[int, list[str]]]) -> list[Lesion]:
    col = {h.lower(): i for i, h in enumerate(header)}
    if "patient" not in col:
        raise CaseError(str(path), "header", ",".join(header), "expected a 'patient' column (long form: patient,"
                        "lesion,day|date,diameter_mm[,volume_mm3]) or the Laleh layout (Pt_hashID,T_days,"
                        "Lesion_diam,...)", line=1)
    time_column = "day" if "day" in col else "date" if "date" in col else None
    if time_column is None:
        raise CaseError(str(path), "header", ",".join(header), "expected a 'day' column (days from treatment "
                        "start) or a 'date' column (YYYY-MM-DD)", line=1)
    diameter_column, unit = _diameter_column(path, header, col, body)
    volume_column, volume_unit = _volume_column(path, header, col)
    records: dict[tuple[str, str], list[tuple[int, float | dt.date, float, float | None]]] = {}
    for line, row in body:
        def cell(name: str, row=row, line=line) -> str:
            if col[name] >= len(row) or not row[col[name]].strip():
                raise CaseError(str(path), name, "<empty>", "every row needs a value in this column", line=line)
            return row[col[name]].strip()

        patient = cell("patient")
        lesion = cell("lesion") if "lesion" in col else "1"
        when = _time(path, line, time_column, cell(time_column))
        diameter = _float(path, line, header[col[diameter_column]], cell(diameter_column))
        volume = None
        if volume_column is not None and col[volume_column] < len(row) and row[col[volume_column]].strip():
            volume = convert(_float(path, line, header[col[volume_column]], row[col[volume_column]]), volume_unit,
                             "mm^3")
        records.setdefault((patient, lesion), []).append((line, when, convert(diameter, unit, "mm"), volume))
    if not records:
        raise InputDataError(f"{path}: no measurement rows")
    starts = _start_dates(path, col, body, records) if time_column == "date" else {}
    shown = header[col[diameter_column]]
    return [_long_lesion(path, time_column, shown, key, rows, starts.get(key[0])) for key, rows in records.items()]


def _diameter_column(path: Path, header: list[str], col: dict[str, int],
                     body: list[tuple[int, list[str]]]) -> tuple[str, str]:
    named = [h for h in col if h.startswith("diameter_")]
    if named:
        unit = named[0].removeprefix("diameter_")
        if unit not in LENGTH_UNITS:
            raise CaseError(str(path), header[col[named[0]]], unit, f"unknown length unit; allowed: "
                            f"{', '.join(LENGTH_UNITS)} (e.g. diameter_mm)", line=1)
        if "unit" in col:
            raise CaseError(str(path), "unit", header[col[named[0]]], "give the unit either in the diameter header "
                            "or in a 'unit' column, not both", line=1)
        return named[0], unit
    if "diameter" not in col:
        raise CaseError(str(path), "header", ",".join(header), "expected a diameter column with its unit "
                        "(diameter_mm) or 'diameter' with a 'unit' column", line=1)
    if "unit" not in col:
        raise CaseError(str(path), "diameter", "diameter", "the diameter needs a unit: name the column "
                        "diameter_mm (or diameter_cm) or add a 'unit' column", line=1)
    units = {}
    for line, row in body:
        value = row[col["unit"]].strip() if col["unit"] < len(row) else ""
        if value not in LENGTH_UNITS:
            raise CaseError(str(path), "unit", value, f"allowed length units: {', '.join(LENGTH_UNITS)}", line=line)
        units.setdefault(value, line)
    if len(units) > 1:
        first, second = sorted(units.items(), key=lambda kv: kv[1])[:2]
        raise CaseError(str(path), "unit", second[0], f"mixed units: line {first[1]} uses {first[0]}; use one "
                        "length unit for the whole table", line=second[1])
    return "diameter", next(iter(units), "mm")


def _volume_column(path: Path, header: list[str], col: dict[str, int]) -> tuple[str | None, str]:
    named = [h for h in col if h.startswith("volume")]
    if not named:
        return None, "mm^3"
    unit = named[0].removeprefix("volume").lstrip("_")
    if unit not in VOLUME_UNITS:
        raise CaseError(str(path), header[col[named[0]]], unit or "<none>", f"the volume header needs its unit; "
                        f"allowed: {', '.join('volume_' + u for u in VOLUME_UNITS)}", line=1)
    return named[0], VOLUME_UNITS[unit]


def _float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CaseError(str(path), column, text, "expected a number", line=line) from None
    if not math.isfinite(value):
        raise CaseError(str(path), column, text, "expected a finite number", line=line)
    return value


def _time(path: Path, line: int, column: str, text: str) -> float | dt.date:
    if column == "day":
        return _float(path, line, "day", text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CaseError(str(path), "date", text, "expected an ISO date YYYY-MM-DD", line=line) from None


def _start_dates(path: Path, col: dict[str, int], body, records) -> dict[str, dt.date]:
    """Day 0 of each patient: its ``start_date`` (when the column is there) or its first scan date."""
    starts: dict[str, dt.date] = {}
    firsts: set[str] = set()  # patients whose day 0 is their first scan (no start_date)
    if "start_date" in col:
        for line, row in body:
            if col["start_date"] < len(row) and row[col["start_date"]].strip():
                date = _time(path, line, "date", row[col["start_date"]].strip())
                starts.setdefault(row[col["patient"]].strip(), date)
    for (patient, _), rows in records.items():
        first = min(r[1] for r in rows)
        if patient not in starts or (patient in firsts and first < starts[patient]):
            starts[patient] = first
            firsts.add(patient)
    return starts


def _long_lesion(path: Path, time_column: str, diameter_column: str, key: tuple[str, str], rows,
                 start: dt.date | None) -> Lesion:
    lines = [r[0] for r in rows]
    days = np.array([(r[1] - start).days if isinstance(r[1], dt.date) else r[1] for r in rows], dtype=float)
    _check_series(path, time_column, days, lines, [f"{r[1]:g}" if isinstance(r[1], float) else str(r[1]) for r in rows])
    diam = np.array([r[2] for r in rows])
    _check_diameters(path, diameter_column, diam, lines)
    given = [r[3] for r in rows]
    derived = volume_from_diameter(diam)
    vol = np.array([derived[i] if v is None else v for i, v in enumerate(given)])
    return Lesion(key[0], key[1], days, diam, vol, None, "", tuple(lines))


def _check_series(path: Path, column: str, days: np.ndarray, lines: list[int],
                  shown: Iterable[str] | None = None) -> None:
    shown = list(shown) if shown is not None else [f"{d:g}" for d in days]
    for i in range(1, len(days)):
        if not days[i] > days[i - 1]:
            raise CaseError(str(path), column, shown[i], f"scan times must increase strictly within a lesion "
                            f"(the scan before is {shown[i - 1]})", line=lines[i])


def _check_diameters(path: Path, column: str, diameters: np.ndarray, lines: list[int]) -> None:
    for i, value in enumerate(diameters):
        if value < 0:
            raise CaseError(str(path), column, f"{value:g}", "a diameter must be >= 0 (0: the lesion has "
                            "disappeared)", line=lines[i])


def check_forecastable(lesions: list[Lesion], path: str | Path, minimum: int = 2) -> None:
    """Refuse lesions with fewer than ``minimum`` readings when a forecast is asked for."""
    for lesion in lesions:
        if len(lesion) < minimum:
            raise CaseError(str(path), "lesion", lesion.key, f"has {len(lesion)} reading(s); a fit or forecast "
                            f"needs at least {minimum} readings per lesion", line=lesion.lines[0] if lesion.lines
                            else None)



