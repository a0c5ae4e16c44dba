"""UFL checks of the oxygen physics: consumption, supply, tangent continuation, residual, vessel regression."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.physics.oxygen import OxygenTransport, VesselRegression, michaelis_menten


@pytest.fixture(scope="module")
def mesh():
    return dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1)


def value(mesh, expr) -> float:
    """Mean of a (constant) expression over the unit cube."""
    return dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ufl.dx(domain=mesh)))


def physics(mesh, density=0.4) -> OxygenTransport:
    c = lambda v: dolfinx.fem.Constant(mesh, float(v))
    return OxygenTransport(diffusivity=c(2e-3), supply_rate=c(2.8), vascular_po2=c(40.0),
                           tissue_consumption=c(15.0), tumour_consumption=c(10.0),
                           half_saturation=c(2.5), density=c(density))


def test_consumption_is_michaelis_menten_with_density_dependent_tumour_part(mesh):
    phys = physics(mesh, density=0.4)
    for po2 in (0.5, 5.0, 40.0):
        assert value(mesh, phys.consumption(po2)) == pytest.approx((15.0 + 10.0 * 0.4) * po2 / (2.5 + po2))
        assert value(mesh, phys.supply(po2)) == pytest.approx(2.8 * (40.0 - po2))
    # normal tissue consumption does not depend on the tumour density
    assert value(mesh, physics(mesh, density=0.0).consumption(5.0)) == pytest.approx(15.0 * 5.0 / 7.5)


def test_tangent_continuation_below_zero_is_c1_and_has_no_pole(mesh):
    km = dolfinx.fem.Constant(mesh, 2.5)
    assert value(mesh, michaelis_menten(-1.0, km)) == pytest.approx(-1.0 / 2.5)
    assert value(mesh, michaelis_menten(-2.5, km)) == pytest.approx(-1.0)  # c = -K_m: no pole
    c = ufl.variable(dolfinx.fem.Constant(mesh, 0.0))
    slope = ufl.diff(michaelis_menten(c, km), c)
    assert value(mesh, slope) == pytest.approx(1 / 2.5)
    eps = 1e-7
    for s in (-1, 1):
        v = ufl.variable(dolfinx.fem.Constant(mesh, s * eps))
        assert value(mesh, ufl.diff(michaelis_menten(v, km), v)) == pytest.approx(1 / 2.5, rel=1e-6)


def test_residual_vanishes_for_the_uniform_balance_and_jacobian_is_symmetric(mesh):
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    phys = physics(mesh, density=0.4)
    # uniform balance S (cv - c) = Vmax c / (Km + c):  S c^2 + (S Km - S cv + Vmax) c - S cv Km = 0
    S, cv, vmax, km = 2.8, 40.0, 19.0, 2.5
    b = S * km - S * cv + vmax
    root = (-b + (b * b + 4 * S * S * cv * km) ** 0.5) / (2 * S)
    c = dolfinx.fem.Function(V)
    c.x.array[:] = root
    q = ufl.TestFunction(V)
    dxl = ufl.dx(domain=mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    F = phys.residual(c, q, ufl.dx(domain=mesh), dxl)
    vec = dolfinx.fem.assemble_vector(dolfinx.fem.form(F))
    assert abs(vec.array).max() < 1e-12
    J = dolfinx.fem.assemble_matrix(dolfinx.fem.form(ufl.derivative(F, c, ufl.TrialFunction(V)))).to_dense()
    assert abs(J - J.T).max() < 1e-14
    # lumped reaction: the Jacobian's off-diagonal entries are those of the stiffness matrix only
    K = dolfinx.fem.assemble_matrix(dolfinx.fem.form(
        ufl.inner(phys.diffusivity * ufl.grad(ufl.TrialFunction(V)), ufl.grad(q)) * ufl.dx)).to_dense()
    off = ~np.eye(J.shape[0], dtype=bool)
    assert abs(J[off] - K[off]).max() < 1e-14


def regression_closed_form(n, onset, residual):
    """r(n) = 1 (n <= n_c), 1 - (1 - r_min)(n - n_c)/(1 - n_c) (n_c < n < 1), r_min (n >= 1)."""
    if n <= onset:
        return 1.0
    if n >= 1.0:
        return residual
    return 1.0 - (1.0 - residual) * (n - onset) / (1.0 - onset)


@pytest.mark.parametrize(("onset", "residual"), [(0.5, 0.0), (0.2, 0.3), (0.0, 0.6)])
def test_vessel_regression_matches_its_closed_form_pointwise(mesh, onset, residual):
    law = VesselRegression(onset, residual)
    for n in (0.0, 0.1, onset, 0.55, 0.75, 0.9, 0.999, 1.0, 1.2):
        assert value(mesh, law.factor(dolfinx.fem.Constant(mesh, n))) == pytest.approx(
            regression_closed_form(n, onset, residual), abs=1e-14), n
    # on a P1 field: the factor at each vertex (vertex quadrature samples the nodal values)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    occupancy = dolfinx.fem.Function(V)
    occupancy.interpolate(lambda x: 1.1 * x[0])
    f = dolfinx.fem.Function(V)
    f.interpolate(dolfinx.fem.Expression(law.factor(occupancy), V.element.interpolation_points))
    expected = [regression_closed_form(n, onset, residual) for n in occupancy.x.array]
    assert f.x.array == pytest.approx(expected, abs=1e-14)


def test_vessel_regression_rejects_bad_parameters():
    with pytest.raises(ValueError, match="onset_density"):
        VesselRegression(1.0, 0.0)
    with pytest.raises(ValueError, match="residual_fraction"):
        VesselRegression(0.5, 1.5)
