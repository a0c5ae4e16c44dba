"""Priors of a spatial case from fitted 0-D series parameters (``oncotwin series prior``).

The 0-D response model (:mod:`oncotwin.series.response0d`) runs the spatial model's kinetics, so its
fitted rates are the spatial case's parameters of the same name: ``proliferation_rate`` (rho, the
sensitive clone's rate) and ``drug_kill_rate`` (the case's E_max: the 0-D model's constant kill rate
kappa is the kill at the exposure the lesion saw, at most E_max, so it is a lower-side estimate). Across
the fitted lesions the prior is log-normal: median of the lesions' values, log sd the robust sd
(1.4826 MAD) of their logarithms, at least :data:`MIN_LOG_SD`; bounds: the model's fitting bounds (x 10 above for E_max).

The written file derives from the spatial case (``base:``), so it is itself a case file that
``oncotwin validate``, ``oncotwin calibrate`` and ``oncotwin run`` take as it is.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from oncotwin.series.response0d import RESPONSE_MODEL

MIN_LOG_SD = 0.3
CASE_NAMES = {"proliferation_rate": "proliferation_rate", "kill_rate": "drug_kill_rate"}


def prior_block(values: dict[str, list[float]]) -> dict[str, dict]:
    """``calibration.parameters`` entries from per-lesion fitted values [1/day] of the 0-D model."""
    bounds = {p.name: (p.lower, p.upper) for p in RESPONSE_MODEL.params}
    block = {}
    for name, case_name in CASE_NAMES.items():
        logs = np.log(np.asarray(values[name], float))
        median = float(np.exp(np.median(logs)))
        spread = max(1.4826 * float(np.median(np.abs(logs - np.median(logs)))), MIN_LOG_SD)
        low, high = bounds[name]
        if case_name == "drug_kill_rate":
            high *= 10.0  # kappa is the kill at the lesion's exposure; E_max may lie above the 0-D bound
        block[case_name] = {"prior": f"{median:.6g} 1/day", "prior_log_sd": round(spread, 4),
                            "bounds": [f"{low:.6g} 1/day", f"{high:.6g} 1/day"]}
    return block


def prior_document(block: dict[str, dict], case: Path | None, out: Path, source: str, lesions: int,
                   only: list[str] | None = None) -> str:
    """The YAML text of the prior file (a case fragment deriving from ``case`` when one is given)."""
    chosen = {k: v for k, v in block.items() if only is None or k in only}
    lines = [f"# written by oncotwin series prior from {source} ({lesions} lesions, model oncotwin_0d)",
             "# log-normal priors: median of the lesions' fitted rates, log sd their robust spread"]
    if case is not None:
        lines.append(f"base: {os.path.relpath(case.resolve(), out.resolve().parent)}")
    lines += ["calibration:", "  parameters:"]
    for name, spec in chosen.items():
        bounds = ", ".join(f'"{b}"' for b in spec["bounds"])
        lines.append(f'    {name}: {{prior: "{spec["prior"]}", prior_log_sd: {spec["prior_log_sd"]}, '
                     f"bounds: [{bounds}]}}")
    return "\n".join(lines) + "\n"


def log_sd(values: list[float]) -> float:
    """Robust sd of the logarithms (for reports)."""
    logs = np.log(np.asarray(values, float))
    return max(1.4826 * float(np.median(np.abs(logs - np.median(logs)))), MIN_LOG_SD) if logs.size else math.nan
