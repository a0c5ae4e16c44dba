"""Pydantic field types for dimensional parameters (strings with units -> floats in internal units)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

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


# field types shared by the section modules
Length = Quantity("mm", example="12 mm", positive=True)
LengthOrZero = Quantity("mm", example="4 mm", nonnegative=True)
Pressure = Quantity("mmHg", example="15.6 mmHg")
Conductivity = Quantity("mm^2/(mmHg*s)", example="4.13e-8 cm^2/(mmHg*s)", positive=True)
Permeability = Quantity("mm/(mmHg*s)", example="2.8e-7 cm/(mmHg*s)", nonnegative=True)
SurfaceDensity = Quantity("1/mm", example="200 1/cm", nonnegative=True)
LymphaticFiltration = Quantity("1/(mmHg*s)", example="1.5e-5 1/(mmHg*s)", nonnegative=True)
RobinConductance = Quantity("mm/(mmHg*s)", example="1e-6 mm/(mmHg*s)", positive=True)
Duration = Quantity("s", example="1 day", positive=True)
Rate = Quantity("1/s", example="0.05 1/day", nonnegative=True)
CellDiffusivity = Quantity("mm^2/s", example="0.13 mm^2/day", nonnegative=True)
Modulus = Quantity("mmHg", example="2 kPa", positive=True)
Fraction = Annotated[float, Field(ge=0, le=1)]
