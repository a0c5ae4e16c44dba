import numpy as np
import pytest

from oncotwin.run.timestepping import step_sequence

H = 3600.0


def test_refines_after_events_and_lands_on_stops():
    events = [0.0, 2 * H, 26 * H]
    outputs = [24 * H, 48 * H]
    steps = list(step_sequence(48 * H, 300.0, 4 * H, events=events, stops=outputs))
    times = np.array([t for t, _ in steps])
    dts = np.array([dt for _, dt in steps])
    assert times[-1] == pytest.approx(48 * H)
    assert np.allclose(np.cumsum(dts), times)
    for stop in events[1:] + outputs:
        assert np.min(np.abs(times - stop)) < 1e-6
    # right after each event the step is min_step, and it never exceeds max_step
    for event in events:
        after = np.searchsorted(times, event + 1e-6)
        assert dts[after] == pytest.approx(300.0)
    assert dts.max() <= 4 * H + 1e-9
    # few distinct step sizes (operator reuse)
    assert len({round(d, 6) for d in dts}) <= 8


def test_no_events_uses_max_step():
    steps = list(step_sequence(10 * H, 60.0, H))
    assert len(steps) == 10 and all(dt == pytest.approx(H) for _, dt in steps)


def test_rejects_bad_steps():
    with pytest.raises(ValueError):
        list(step_sequence(H, 0.0, 10.0))
