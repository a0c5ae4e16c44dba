"""``treatment.drugs[].parameters``: overrides of drug-library values, each checked for its unit at load.

Example::

    parameters: {clearance: "50 L/h", ic50: "0.5 umol/L", unbound_fraction: 0.3}

The fields are exactly the overridable parameters of :data:`oncotwin.pk.drugs.PARAMETER_UNITS`, converted
to their internal units; an unknown key is an error. A molar ``ic50`` is converted with the drug's
molecular weight by :class:`oncotwin.case.treatment.Administration` before this model sees it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema, model_serializer, model_validator

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.pk.drugs import PARAMETER_UNITS, parameter_value


def _library_parameter(key: str):
    """A float field read like the drug library reads ``key`` (unit, range)."""

    def validate(value: object) -> float | None:
        return parameter_value(key, value)

    unit = PARAMETER_UNITS[key]
    kind = "number" if unit == "dimensionless" else "string"
    schema = {"type": kind, "description": f"overrides the drug library's {key} ({unit})"}
    return Annotated[float, BeforeValidator(validate), WithJsonSchema(schema)]


class DrugOverrides(StrictModel):
    """Drug-library parameters one drug of a case overrides (internal units; unset: the library's value).

    ``null`` removes an optional library value (a peripheral compartment, the absorption rate).
    """

    clearance: _library_parameter("clearance") | None = None
    central_volume: _library_parameter("central_volume") | None = None
    q2: _library_parameter("q2") | None = None
    v2: _library_parameter("v2") | None = None
    q3: _library_parameter("q3") | None = None
    v3: _library_parameter("v3") | None = None
    absorption_rate: _library_parameter("absorption_rate") | None = None
    bioavailability: _library_parameter("bioavailability") | None = None
    fraction_renal: _library_parameter("fraction_renal") | None = None
    diffusivity: _library_parameter("diffusivity") | None = None
    permeability: _library_parameter("permeability") | None = None
    reflection_coefficient: _library_parameter("reflection_coefficient") | None = None
    unbound_fraction: _library_parameter("unbound_fraction") | None = None
    tissue_decay_rate: _library_parameter("tissue_decay_rate") | None = None
    emax: _library_parameter("emax") | None = None
    ic50: _library_parameter("ic50") | None = None
    hill: _library_parameter("hill") | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # the library's own message (rather than pydantic's "extra inputs"), naming every allowed key
        for key in data if isinstance(data, dict) else ():
            if key not in cls.model_fields:
                raise FieldProblem(str(key), data[key], f"unknown drug parameter {key!r}; allowed: "
                                   f"{', '.join(cls.model_fields)}")
        return data

    @model_serializer(mode="wrap")
    def _given_only(self, handler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if key in self.model_fields_set}

    def given(self) -> dict[str, float | None]:
        """The overridden parameters and their values (internal units), in field order."""
        return {key: getattr(self, key) for key in type(self).model_fields if key in self.model_fields_set}
