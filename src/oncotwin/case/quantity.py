"""Pydantic field types for dimensional parameters (strings with units -> floats in internal units)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from oncotwin.core.units import UnitError, to_internal


def Quantity(unit: str, *, example: str, positive: bool = False, nonnegative: bool = False,  # noqa: N802
             minimum: float | None = None, maximum: float | None = None, why: str = ""):
    """A float field given in the case file as a quantity with units, converted to ``unit``.

    Non-finite values are always refused.

    Args:
        unit: internal unit the value is converted to (see :mod:`oncotwin.core.units`).
        example: an example written in the error message.
        positive: require a value > 0.
        nonnegative: require a value >= 0.
        minimum: smallest physically sensible value, in ``unit`` (absurd below it, not merely unusual).
        maximum: largest physically sensible value, in ``unit``.
        why: the reason for ``minimum``/``maximum``, written in the error message.
    """
    reason = f" ({why})" if why else ""

    def validate(value: object) -> float:
        try:
            number = to_internal(value, unit, example=example)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number (a quantity like '{example}')")
        if positive and not number > 0:
            raise ValueError(f"must be > 0 (a quantity like '{example}')")
        if nonnegative and number < 0:
            raise ValueError(f"must be >= 0 (a quantity like '{example}')")
        if minimum is not None and number < minimum:
            raise ValueError(f"is below the physical minimum of {minimum:g} {unit}{reason}")
        if maximum is not None and number > maximum:
            raise ValueError(f"exceeds the physical maximum of {maximum:g} {unit}{reason}")
        return number

    schema = {"type": "string", "description": f"quantity with units, converted to {unit}", "examples": [example]}
    return Annotated[float, BeforeValidator(validate), WithJsonSchema(schema)]


# Physical ceilings and floors: values beyond them are absurd for a tumour model, not merely unusual.
MAX_LENGTH_MM = 1000.0  # 1 m: larger than any human body part that is meshed
MIN_MESH_SIZE_MM = 1e-3  # 1 micrometre: below the size of a cell (~10 micrometres)
# ln 2 / 1 h: a doubling every hour, ~10x faster than the fastest mammalian cell cycles (~10 h).
MAX_PROLIFERATION_RATE = math.log(2) / 3600.0
# 100 1/day (half-life of ~10 min): faster than any drug, radiation or necrotic cell loss.
MAX_KILL_RATE = 100.0 / 86400.0
# 10 mm^2/day: ~100x the fastest glioma invasion fits (0.65 mm^2/day in white matter, Swanson et al. 2000).
MAX_CELL_DIFFUSIVITY = 10.0 / 86400.0
_LENGTH_WHY = "1 m; lengths are in mm"

# field types shared by the section modules
Length = Quantity("mm", example="12 mm", positive=True, maximum=MAX_LENGTH_MM, why=_LENGTH_WHY)
LengthOrZero = Quantity("mm", example="4 mm", nonnegative=True, maximum=MAX_LENGTH_MM, why=_LENGTH_WHY)
MeshSize = Quantity("mm", example="1.5 mm", positive=True, minimum=MIN_MESH_SIZE_MM, maximum=MAX_LENGTH_MM,
                    why="between 1 micrometre and 1 m")
Pressure = Quantity("mmHg", example="15.6 mmHg")
Conductivity = Quantity("mm^2/(mmHg*s)", example="4.13e-8 cm^2/(mmHg*s)", positive=True)
Permeability = Quantity("mm/(mmHg*s)", example="2.8e-7 cm/(mmHg*s)", nonnegative=True)
SurfaceDensity = Quantity("1/mm", example="200 1/cm", nonnegative=True)
LymphaticFiltration = Quantity("1/(mmHg*s)", example="1.5e-5 1/(mmHg*s)", nonnegative=True)
RobinConductance = Quantity("mm/(mmHg*s)", example="1e-6 mm/(mmHg*s)", positive=True)
Duration = Quantity("s", example="1 day", positive=True)
Rate = Quantity("1/s", example="0.05 1/day", nonnegative=True)
ProliferationRate = Quantity("1/s", example="0.05 1/day", nonnegative=True, maximum=MAX_PROLIFERATION_RATE,
                             why="a doubling per hour, ~10x faster than the fastest mammalian cell cycles")
KillRate = Quantity("1/s", example="0.3 1/day", nonnegative=True, maximum=MAX_KILL_RATE,
                    why="100 1/day, a half-life of ~10 min")
CellDiffusivity = Quantity("mm^2/s", example="0.13 mm^2/day", nonnegative=True, maximum=MAX_CELL_DIFFUSIVITY,
                           why="10 mm^2/day, ~100x the fastest glioma invasion fits")
Modulus = Quantity("mmHg", example="2 kPa", positive=True)
Fraction = Annotated[float, Field(ge=0, le=1)]
