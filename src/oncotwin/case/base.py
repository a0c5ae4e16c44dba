"""Base classes of the case schema (shared by every section module)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class FieldProblem(ValueError):
    """A cross-field check failure that belongs to one key (relative to the model that raised it)."""

    def __init__(self, key: str, value: Any, message: str):
        super().__init__(message)
        self.key, self.value = key, value


class StrictModel(BaseModel):
    """Base of every case-file section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
