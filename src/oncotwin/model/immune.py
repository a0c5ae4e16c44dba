"""The immune model of a case: Kuznetsov kinetics with the profile's priors, PD-1 occupancy from the
checkpoint inhibitors' plasma PK, and the 0-D checkpoint response.

The profile priors (:mod:`oncotwin.case.profile`) act on the published kinetics of
:data:`oncotwin.defaults.immune.KUZNETSOV`: ``immune_infiltration`` scales the effector recruitment s,
``antigenicity`` the kill n, and ``pdl1_suppression`` is the suppression S of
:class:`oncotwin.kinetics.immune.ImmuneKinetics`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from oncotwin.core.units import to_internal
from oncotwin.defaults.immune import KUZNETSOV
from oncotwin.kinetics.immune import ImmuneKinetics
from oncotwin.kinetics.response import DrugEffect
from oncotwin.pk.antibodies import AntibodyModel
from oncotwin.pk.schedule import DAY, DoseEvent


def kuznetsov_kinetics() -> ImmuneKinetics:
    """The published kinetics (Kuznetsov et al. 1994), internal units, no suppression."""
    values = {key: to_internal(v, "1/s") if isinstance(v, str) else float(v) for key, v in KUZNETSOV.items()}
    return ImmuneKinetics(**values)


def immune_kinetics(priors: Mapping[str, float] | None = None) -> ImmuneKinetics:
    """The kinetics with the profile's priors (``None``: the published model)."""
    base = kuznetsov_kinetics()
    if not priors:
        return base
    return replace(base, recruitment=base.recruitment * priors.get("immune_infiltration", 1.0),
                   kill=base.kill * priors.get("antigenicity", 1.0),
                   suppression=priors.get("pdl1_suppression", 0.0))


def temozolomide_effect(effect: DrugEffect, priors: Mapping[str, float] | None) -> DrugEffect:
    """``effect`` with its maximal kill rate scaled by the ``temozolomide_effect`` prior (MGMT rule)."""
    factor = 1.0 if not priors else priors.get("temozolomide_effect", 1.0)
    return replace(effect, max_kill_rate=effect.max_kill_rate * factor)


def occupancy_curve(model: AntibodyModel | None, events: Sequence[DoseEvent]) -> Callable[[float], float]:
    """PD-1 occupancy as a function of time (s); zero without a checkpoint inhibitor.

    The plasma concentration is tabulated once on a 1-hour grid (it is smooth between doses; the kinetics
    sample it at RK4 sub-steps).
    """
    if model is None or not events:
        return lambda _t: 0.0
    t_end = max(e.end for e in events) + 400 * DAY
    grid = np.arange(0.0, t_end + 3600.0, 3600.0)
    occupancy = model.occupancy(model.concentration(grid, events))
    return lambda t: float(np.interp(t, grid, occupancy))


@dataclass(frozen=True)
class Trajectory:
    """0-D effector and tumour cells over time."""

    times: np.ndarray
    effectors: np.ndarray
    tumour: np.ndarray


def checkpoint_response(kinetics: ImmuneKinetics, effectors: float, tumour: float, t_end: float,
                        occupancy: Callable[[float], float] | float = 0.0, step: float = DAY) -> Trajectory:
    """Integrate the 0-D kinetics from (effectors, tumour) cells over [0, t_end] with outputs every ``step``."""
    n = max(1, int(round(t_end / step)))
    times = np.linspace(0.0, t_end, n + 1)
    e, t = float(effectors), float(tumour)
    out_e, out_t = [e], [t]
    for a, b in zip(times[:-1], times[1:], strict=True):
        e, t = kinetics.advance_cells(e, t, a, b - a, occupancy)
        out_e.append(e)
        out_t.append(t)
    return Trajectory(times, np.array(out_e), np.array(out_t))


PROGRESSION = 0.20
"""Relative growth of the tumour burden that is progression (RECIST 1.1 / iRECIST: +20 %)."""
RESPONSE = -0.30
"""Relative shrinkage that is a partial response (RECIST 1.1 / iRECIST: -30 %)."""


def response_category(trajectory: Trajectory) -> str:
    """iRECIST-style category of a tumour-cell course under immunotherapy (Seymour et al., Lancet Oncol 2017).

    ``"pseudo-progression"`` when the burden first grows by at least 20 % and later falls below the
    baseline (unconfirmed progression followed by shrinkage); otherwise ``"progression"``, ``"response"`` or
    ``"stable"`` by the final burden against the +20 % / -30 % thresholds.
    """
    relative = trajectory.tumour / trajectory.tumour[0] - 1.0
    grew = np.nonzero(relative >= PROGRESSION)[0]
    if grew.size and np.any(relative[grew[0]:] < 0.0) and relative[-1] < PROGRESSION:
        return "pseudo-progression"
    if relative[-1] >= PROGRESSION:
        return "progression"
    return "response" if relative[-1] <= RESPONSE else "stable"


def immune_response(rows: Sequence[dict[str, float]]) -> str | None:
    """Response category under immunotherapy of a run's metrics rows (None without the T-cell field).

    iRECIST-style (:func:`oncotwin.model.immune.response_category`) on the cells the lesion holds: viable and
    doomed tumour cells and the effectors inside it, so an infiltrate that swells the lesion before it
    shrinks is named ``pseudo-progression``.
    """
    if not rows or "lesion_cells" not in rows[0]:
        return None
    burden = np.array([r["lesion_cells"] for r in rows], dtype=float)
    if not burden[0] > 0:
        return None
    times = np.array([r["time_s"] for r in rows], dtype=float)
    return response_category(Trajectory(times, np.zeros_like(burden), burden))
