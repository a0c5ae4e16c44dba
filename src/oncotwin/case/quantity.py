"""Pydantic field types for dimensional parameters (strings with units -> floats in internal units)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from oncotwin.core.units import UnitError, to_internal


def Quantity(unit: str, *, example: str, positive: bool = False, nonnegative: bool = False):  # noqa: N802
    """A float field given in the case file as a quantity with units, converted to ``unit``.

    Args:
        unit: internal unit the value is converted to (see :mod:`oncotwin.core.units`).
        example: an example written in the error message.
        positive: require a value > 0.
        nonnegative: require a value >= 0.
    """

    def validate(value: object) -> float:
        try:
            number = to_internal(value, unit, example=example)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if positive and not number > 0:
            raise ValueError(f"must be > 0 (a quantity like '{example}')")
        if nonnegative and number < 0:
            raise ValueError(f"must be >= 0 (a quantity like '{example}')")
        return number

    schema = {"type": "string", "description": f"quantity with units, converted to {unit}", "examples": [example]}
    return Annotated[float, BeforeValidator(validate), WithJsonSchema(schema)]
