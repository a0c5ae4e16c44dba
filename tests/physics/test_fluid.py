"""Starling's effective vascular pressure: one formula for numbers and UFL coefficients."""

from __future__ import annotations

import pytest

from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.physics.fluid import effective_vascular_pressure


def test_effective_vascular_pressure_numbers_and_ufl(comm):
    assert effective_vascular_pressure(15.6, 0.82, 20.0, 15.0) == 15.6 - 0.82 * (20.0 - 15.0)
    mesh = dolfinx.mesh.create_unit_cube(comm, 1, 1, 1)
    values = [dolfinx.fem.Constant(mesh, v) for v in (15.6, 0.82, 20.0, 15.0)]
    expr = effective_vascular_pressure(*values)
    integral = dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ufl.dx(domain=mesh)))
    assert integral == pytest.approx(15.6 - 0.82 * 5.0, rel=1e-14)
