"""Quantities with units: parsed, checked for dimension and converted once, at load.

Internal unit system (every number inside oncotwin is in these units):

===================  ==========================  =====================================
quantity             internal unit               example in a case file
===================  ==========================  =====================================
length               mm                          ``"12 mm"``, ``"1.2 cm"``
time                 s                           ``"30 min"``, ``"2 day"``
pressure             mmHg                        ``"15.6 mmHg"``, ``"2 kPa"``
hydraulic cond. K    mm^2/(mmHg*s)               ``"4.13e-8 cm^2/(mmHg*s)"``
vascular perm. Lp    mm/(mmHg*s)                 ``"2.8e-7 cm/(mmHg*s)"``
surface density S/V  1/mm                        ``"200 1/cm"``
lymphatic LpL*SL/V   1/(mmHg*s)                  ``"1e-5 1/(mmHg*s)"``
mass                 mg                          ``"75 mg/m^2"`` (dose per body surface)
absorbed dose        Gy                          ``"2 Gy"``
===================  ==========================  =====================================

Fields are written in these units too, except where a name says otherwise (``velocity_um_per_s``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import pint


class UnitError(ValueError):
    """A value that is not a quantity of the requested dimension (message is user-facing)."""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one unit registry of oncotwin (cached: building it costs ~0.1 s)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("mmHg = millimeter_Hg")
    return ureg


def to_internal(value: object, unit: str, *, example: str | None = None) -> float:
    """Convert ``value`` (a string such as ``"3.1e-7 cm^2/(mmHg*s)"``) to a float in ``unit``.

    A bare number is accepted only when it is 0 (unambiguous in any unit) or ``unit`` is
    dimensionless.

    Raises:
        UnitError: wrong dimension, unknown unit, missing unit or not a number.
    """
    ureg = registry()
    target = ureg.Unit(unit)
    hint = f"a quantity in units of {unit}" + (f", e.g. '{example}'" if example else "")
    if isinstance(value, bool):
        raise UnitError(f"expected {hint}")
    if isinstance(value, (int, float)):
        if target.dimensionless or value == 0:
            return float(value)
        raise UnitError(f"a unit is required: expected {hint}")
    if not isinstance(value, str):
        raise UnitError(f"expected {hint}")
    try:
        quantity = ureg.Quantity(value.strip())
    except Exception:  # noqa: BLE001 - pint raises many types for bad text
        raise UnitError(f"cannot read it as a quantity; expected {hint}") from None
    try:
        if not isinstance(quantity, pint.Quantity):
            quantity = ureg.Quantity(float(quantity), "dimensionless")
        if quantity.dimensionless and not target.dimensionless and quantity.magnitude != 0:
            raise UnitError(f"a unit is required: expected {hint}")
        magnitude = float(quantity.to(target).magnitude)
    except OverflowError:  # an integer literal beyond the float range (pint keeps it exact until here)
        raise UnitError(f"is too large to be a number; expected {hint}") from None
    except pint.DimensionalityError:
        raise UnitError(
            f"has dimension {quantity.dimensionality}, expected {ureg.Quantity(1, target).dimensionality} "
            f"({hint})"
        ) from None
    if not math.isfinite(magnitude):
        raise UnitError(f"is not finite; expected {hint}")
    return magnitude


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a float between two compatible units (used for output units such as um/s)."""
    ureg = registry()
    return float(ureg.Quantity(value, from_unit).to(to_unit).magnitude)
