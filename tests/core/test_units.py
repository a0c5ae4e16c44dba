import pytest

from oncotwin.core.units import UnitError, convert, to_internal


def test_converts_to_internal_units():
    assert to_internal("3.1e-7 cm^2/(mmHg*s)", "mm^2/(mmHg*s)") == pytest.approx(3.1e-5)
    assert to_internal("2 kPa", "mmHg") == pytest.approx(15.0012, rel=1e-4)
    assert to_internal("200 1/cm", "1/mm") == pytest.approx(20.0)
    assert to_internal("2 day", "s") == pytest.approx(172800.0)
    assert to_internal("75 mg/m^2", "mg/m^2") == pytest.approx(75.0)
    assert to_internal("2 Gy", "Gy") == pytest.approx(2.0)
    assert convert(1e-3, "mm/s", "um/s") == pytest.approx(1.0)


@pytest.mark.parametrize("value, message", [
    ("5 mm", "dimension"),
    (5, "a unit is required"),
    ("fast", "cannot read"),
    (True, "expected"),
])
def test_rejects_bad_quantities(value, message):
    with pytest.raises(UnitError, match=message):
        to_internal(value, "mm^2/(mmHg*s)")


def test_zero_needs_no_unit():
    assert to_internal(0, "mmHg") == 0.0


def test_an_integer_beyond_the_float_range_is_a_unit_error():
    """A 401-digit number in a quantity gave a bare OverflowError from the float conversion (fuzz run)."""
    with pytest.raises(UnitError, match="too large"):
        to_internal("1" + "0" * 400 + " mm", "mm")
