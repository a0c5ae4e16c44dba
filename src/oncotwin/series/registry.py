"""The models of :mod:`oncotwin.series` by name (the names ``--model`` accepts)."""

from __future__ import annotations

from oncotwin.core.errors import CaseError
from oncotwin.series.models import CLASSICAL, Model
from oncotwin.series.response0d import RESPONSE_MODEL

MODELS: dict[str, Model] = {**CLASSICAL, RESPONSE_MODEL.name: RESPONSE_MODEL}


def get_model(name: str, source: str = "--model") -> Model:
    """The model called ``name``.

    Raises:
        CaseError: an unknown name (lists the allowed ones).
    """
    if name not in MODELS:
        raise CaseError(source, "model", name, f"unknown model; allowed: {', '.join(MODELS)}")
    return MODELS[name]
