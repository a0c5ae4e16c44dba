"""Writing calibrated parameter values into a case (the registry is :mod:`oncotwin.case.calibratable`).

Setting a value returns a new case (cases are immutable); :func:`case_fragment` gives the case-file keys
that set it, for the calibrated case fragment.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from oncotwin.case.calibratable import PARAMETERS, value_at
from oncotwin.case.load import deep_merge


def replace(model: BaseModel, path: tuple, value: Any) -> BaseModel:
    """A copy of a (frozen) model with the value at ``path`` replaced (dict keys allowed on the way)."""
    head, *rest = path
    if isinstance(model, dict):
        return {**model, head: replace(model[head], tuple(rest), value) if rest else value}
    current = getattr(model, head)
    return model.model_copy(update={head: replace(current, tuple(rest), value) if rest else value})


def _nest(path: tuple, value: Any) -> dict:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


def set_parameter(case, name: str, value: float):
    """A copy of ``case`` with the parameter ``name`` set to ``value``; further paths keep their ratios."""
    kind = PARAMETERS[name]
    paths = kind.paths(case)
    reference = kind.get(case)
    for path in paths:
        old = value_at(case, path)
        new = value if path == paths[0] else (old * value / reference if reference > 0 else value)
        case = replace(case, path, new)
    return case


def case_fragment(case, name: str) -> dict:
    """Case-file keys (nested mapping of quantity strings) that give every path of ``name`` its value in ``case``."""
    kind = PARAMETERS[name]
    out: dict = {}
    for path in kind.paths(case):
        value = value_at(case, path)
        text = kind.text(float(value)) if kind.unit else float(value)
        out = deep_merge(out, _nest(path, text))
    return out


def at_prior_medians(case, names: list[str]):
    """A copy of ``case`` with each named parameter at its calibration prior's median (``run --prior``)."""
    for name in names:
        case = set_parameter(case, name, case.calibration.parameters[name].prior)
    return case
