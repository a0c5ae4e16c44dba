"""Dosing schedules: the compact schedule grammar, dose events and the times where plasma curves kink.

Time origin: t = 0 s is clinical **day 1** of the treatment, the start of the simulation.

Compact schedule grammar (case-insensitive, whitespace-separated; ``x`` may also be written ``×``)::

    schedule := [days] [repeat] [count] [start]
    days     := "day" D | "days" D "-" E | "days" D "," E ["," F ...]
    repeat   := "daily" | "weekly" | "every" K unit
    unit     := "day" | "days" | "week" | "weeks" | "h" | "hour" | "hours"
    count    := "x" N
    start    := "from day" S

``days`` lists the (1-based) treatment days of the doses within one cycle (default ``day 1``); ``repeat``
is the cycle length; ``count`` the number of cycles (default 1; required with ``repeat``); ``start``
shifts the whole schedule so that its day 1 is treatment day S (e.g. radiotherapy that starts two weeks
after the baseline scan). Examples:

* ``"day 1 every 21 days x 6"`` -> 6 doses at days 0, 21, ..., 105 after the start;
* ``"daily x 42"`` -> 42 doses, one a day from day 1 (continuous temozolomide with radiotherapy);
* ``"days 1-5 every 28 days x 6"`` -> 30 doses, on days 1-5 of six 28-day cycles;
* ``"day 8"`` -> one dose one week after the start;
* ``"days 1-5 every 7 days x 7 from day 15"`` -> 35 weekday fractions starting on day 15.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DAY = 86400.0
HOUR = 3600.0
_UNITS = {"day": DAY, "days": DAY, "week": 7 * DAY, "weeks": 7 * DAY, "h": HOUR, "hour": HOUR, "hours": HOUR}


# Far above any clinical course (daily dosing for 27 years); bounds the work of absurd schedules.
MAX_DOSES = 10_000


class ScheduleError(ValueError):
    """A schedule string that does not follow the grammar, or a schedule in the past."""


@dataclass(frozen=True)
class DoseEvent:
    """One administration of one drug.

    Attributes:
        time: start, s after the start of the treatment (day 1).
        duration: s; 0 for a bolus or an oral dose.
        amount: mg administered (before bioavailability).
        drug: library name.
        route: ``"bolus"``, ``"infusion"`` or ``"oral"``.
    """

    time: float
    duration: float
    amount: float
    drug: str = ""
    route: str = "bolus"

    @property
    def end(self) -> float:
        """End of the input (= ``time`` for a bolus or oral dose)."""
        return self.time + self.duration

    @property
    def rate(self) -> float:
        """Infusion rate, mg/s (``inf`` for a bolus)."""
        return self.amount / self.duration if self.duration > 0 else float("inf")


@dataclass(frozen=True)
class Schedule:
    """Dose start times of one administration: ``offsets`` within a cycle, repeated ``count`` times.

    All times in s; ``period`` is ``None`` for a single cycle.
    """

    offsets: tuple[float, ...]
    period: float | None = None
    count: int = 1

    def times(self) -> np.ndarray:
        """Sorted start times of every dose, s."""
        period = self.period or 0.0
        starts = [c * period + o for c in range(self.count) for o in self.offsets]
        return np.array(sorted(starts), dtype=float)

    @property
    def first(self) -> float:
        return min(self.offsets)


_DAYS = re.compile(r"^(?:day\s+(?P<one>-?\d+)"
                   r"|days\s+(?P<lo>-?\d+)\s*-\s*(?P<hi>\d+)"
                   r"|days\s+(?P<list>-?\d+(?:\s*,\s*-?\d+)+))")
_REPEAT = re.compile(r"^(?:(?P<daily>daily)|(?P<weekly>weekly)|every\s+(?P<k>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+))")
_COUNT = re.compile(r"^[x×]\s*(?P<n>\d+)$")
_START = re.compile(r"\s*\bfrom\s+day\s+(?P<s>-?\d+)$")


def parse_schedule(text: str) -> Schedule:
    """Parse a compact schedule string (grammar in the module docstring).

    Raises:
        ScheduleError: not in the grammar, a zero count or interval, or a dose before day 1.
    """
    rest = " ".join(str(text).strip().lower().split())
    if not rest:
        raise ScheduleError(_grammar_hint("an empty schedule"))
    start = 1
    match = _START.search(rest)
    if match:
        start = int(match["s"])
        rest = rest[:match.start()].strip()
        if start < 1:
            raise ScheduleError(f"schedule in the past: {text!r} starts on day {start}; day 1 is the start of the "
                                "treatment (t = 0)")
        if not rest:
            rest = "day 1"
    days = [1]
    match = _DAYS.match(rest)
    if match:
        days = _days(match)
        rest = rest[match.end():].strip()
    period = None
    match = _REPEAT.match(rest)
    if match:
        period = _period(match)
        rest = rest[match.end():].strip()
    count = 1
    if rest:
        match = _COUNT.match(rest)
        if not match:
            raise ScheduleError(_grammar_hint(f"cannot read {rest!r} in {text!r}"))
        count = int(match["n"])
    elif period is not None:
        raise ScheduleError(f"schedule {text!r} repeats but has no count; add 'x N' (number of cycles)")
    if count < 1:
        raise ScheduleError(f"schedule {text!r}: the count must be >= 1")
    if count * len(days) > MAX_DOSES:
        raise ScheduleError(f"schedule {text!r} gives {count * len(days)} doses; at most {MAX_DOSES} are allowed")
    repeated = sorted({d for d in days if days.count(d) > 1})
    if repeated:
        raise ScheduleError(f"schedule {text!r} lists day {repeated[0]} more than once")
    if min(days) < 1:
        raise ScheduleError(f"schedule in the past: {text!r} has day {min(days)}; day 1 is the start of the "
                            "treatment (t = 0)")
    offsets = tuple(sorted((d - 1) * DAY for d in set(days)))
    if period is not None and offsets[-1] >= period:
        raise ScheduleError(f"schedule {text!r}: the days of a cycle must fall within the cycle length (to "
                            "start later, add 'from day S')")
    if start > 1:
        offsets = tuple(o + (start - 1) * DAY for o in offsets)
    return Schedule(offsets=offsets, period=period, count=count)


def _days(match: re.Match) -> list[int]:
    if match["one"] is not None:
        return [int(match["one"])]
    if match["lo"] is not None:
        lo, hi = int(match["lo"]), int(match["hi"])
        if hi < lo:
            raise ScheduleError(f"day range {lo}-{hi} is empty")
        if hi - lo >= MAX_DOSES:
            raise ScheduleError(f"day range {lo}-{hi} gives more than {MAX_DOSES} doses")
        return list(range(lo, hi + 1))
    return [int(d) for d in match["list"].split(",")]


def _period(match: re.Match) -> float:
    if match["daily"]:
        return DAY
    if match["weekly"]:
        return 7 * DAY
    unit = match["unit"]
    if unit not in _UNITS:
        raise ScheduleError(f"unknown interval unit {unit!r}; allowed: {', '.join(_UNITS)}")
    period = float(match["k"]) * _UNITS[unit]
    if period <= 0:
        raise ScheduleError("the interval must be > 0")
    return period


def _grammar_hint(problem: str) -> str:
    return (f"{problem}; expected e.g. 'day 1 every 21 days x 6', 'daily x 42' or "
            "'days 1-5 every 28 days x 6'")


def expand(schedule: Schedule, amount: float, duration: float = 0.0, *, start: float = 0.0,
           drug: str = "", route: str | None = None) -> list[DoseEvent]:
    """Dose events of one administration.

    Args:
        schedule: start times (see :class:`Schedule`).
        amount: mg per dose.
        duration: infusion duration, s (0 for a bolus or oral dose).
        start: shift added to every start time, s.
        drug: library name stored in the events.
        route: stored in the events; default ``"infusion"`` when ``duration > 0`` else ``"bolus"``.
    """
    if amount < 0 or duration < 0:
        raise ValueError("dose amount and duration must be >= 0")
    route = route or ("infusion" if duration > 0 else "bolus")
    return [DoseEvent(float(t) + start, float(duration), float(amount), drug, route) for t in schedule.times()]


def merge(*event_lists: Iterable[DoseEvent]) -> list[DoseEvent]:
    """All events of a case, sorted by start time (then drug name, then duration)."""
    events = [e for events in event_lists for e in events]
    return sorted(events, key=lambda e: (e.time, e.drug, e.duration))


def first_overlap(events: Sequence[DoseEvent]) -> tuple[DoseEvent, DoseEvent] | None:
    """The first pair of events of the same drug where the second starts while the first still runs.

    A bolus at the start of an infusion (5-FU in FOLFOX) does not overlap it; a dose during an infusion,
    or two doses at the same instant, do.
    """
    by_drug: dict[str, list[DoseEvent]] = {}
    for event in events:
        by_drug.setdefault(event.drug, []).append(event)
    found = []
    for drug_events in by_drug.values():
        ordered = sorted(drug_events, key=lambda e: (e.time, e.duration))
        for prev, nxt in zip(ordered, ordered[1:], strict=False):
            running = nxt.time < prev.end or (nxt.time == prev.time and prev.duration == nxt.duration)
            if running:
                found.append((prev, nxt))
                break
    return min(found, key=lambda pair: pair[1].time) if found else None


def kink_times(events: Iterable[DoseEvent], *, t_end: float | None = None) -> np.ndarray:
    """Sorted unique times where a plasma curve has a jump or a kink: dose starts and infusion ends.

    A time stepper should end a step at each of these (and refine after them). Times after ``t_end``
    are dropped when it is given.
    """
    times = []
    for event in events:
        times.append(event.time)
        if event.duration > 0:
            times.append(event.end)
    result = np.unique(np.asarray(times, dtype=float))
    return result[result <= t_end] if t_end is not None else result
