"""Time-step sequences that refine around events (dose starts and ends) and land on output times.

After each event the step restarts at ``min_step`` and doubles up to ``max_step`` (the last rung). Steps are drawn from
the ladder ``min_step * 2^k`` wherever possible, so a whole treatment course uses only a handful of
distinct step sizes and the transport operators (one per step size) are assembled only a few times.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def step_sequence(end: float, min_step: float, max_step: float, events: Iterable[float] = (),
                  stops: Iterable[float] = (), start: float = 0.0) -> Iterator[tuple[float, float]]:
    """Yield ``(t_new, dt)`` from ``start`` to ``end``.

    Args:
        end: final time [s].
        min_step: first step after an event [s].
        max_step: largest step [s].
        events: times after which the step is refined (doses: starts and ends of infusions).
        stops: times the sequence must land on exactly (outputs, events).
        start: initial time [s].
    """
    if not 0 < min_step <= max_step:
        raise ValueError("need 0 < min_step <= max_step")
    tol = 1e-9 * max(end, 1.0)
    events = sorted(e for e in set(events) if start - tol <= e < end - tol)
    stops = sorted({s for s in (*stops, *events, end) if start + tol < s <= end + tol})
    ladder = [min_step]
    while ladder[-1] * 2 <= max_step * (1 + 1e-12):
        ladder.append(ladder[-1] * 2)
    if ladder[-1] < max_step * (1 - 1e-12):
        ladder.append(max_step)
    t = start
    level = 0 if any(e <= start + tol for e in events) else len(ladder) - 1
    next_event = iter([e for e in events if e > start + tol])
    upcoming = next(next_event, None)
    stop_iter = iter(stops)
    target = next(stop_iter, None)
    while target is not None and t < end - tol:
        remaining = target - t
        candidates = [d for d in ladder[: level + 1] if d <= remaining + tol]
        dt = candidates[-1] if candidates else remaining
        if remaining - dt < 1e-6 * min_step:  # do not leave a sliver before the stop
            dt = remaining
        t_new = target if abs(t + dt - target) <= tol else t + dt
        yield t_new, t_new - t
        t = t_new
        level = min(level + 1, len(ladder) - 1)
        if upcoming is not None and t >= upcoming - tol:
            level = 0
            upcoming = next(next_event, None)
        while target is not None and t >= target - tol:
            target = next(stop_iter, None)
