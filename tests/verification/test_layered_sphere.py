"""Two-material sphere (white core 5x the grey shell's diffusivity): closed form, and the FE solution
(the oxygen solver with supply and no consumption is ``-div(D grad c) + S c = S c_v``) converging to it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.mesh.distribute import mesh_in_memory
from oncotwin.problems.oxygen import OxygenProblem, OxygenTissue
from oncotwin.verification.layered_sphere import LayeredSphere

# Swanson et al. 2000: D_grey 0.13 mm^2/day, D_white 5x; rate 0.05 1/day (Rockne et al. 2010 range)
A, B, D_WHITE, D_GREY, RATE = 2.0, 4.0, 0.65, 0.13, 0.05  # mm, mm, mm^2/day, mm^2/day, 1/day
EXACT = LayeredSphere(A, B, D_WHITE, RATE, D_GREY, RATE, 1.0)


def test_closed_form_satisfies_ode_interface_and_boundary():
    eps = 1e-9
    assert float(EXACT.profile(B)) == pytest.approx(1.0, rel=1e-12)
    assert float(EXACT.profile(A - eps)) == pytest.approx(float(EXACT.profile(A + eps)), rel=1e-7)
    assert float(EXACT.flux(A - eps)) == pytest.approx(float(EXACT.flux(A + eps)), rel=1e-6)
    for r, (d, k) in ((1.2, (D_WHITE, RATE)), (3.1, (D_GREY, RATE))):
        h = 1e-3
        w = EXACT.profile(np.array([r - h, r, r + h]))
        laplacian = (w[2] - 2 * w[1] + w[0]) / h**2 + (w[2] - w[0]) / (h * r)
        assert d * laplacian == pytest.approx(k * w[1], rel=1e-5)
        fd = (w[2] - w[0]) / (2 * h)
        assert float(EXACT.flux(r)) == pytest.approx(-d * fd, rel=1e-6)
    # equal layers reduce to the single sphere sinh(m r) / r, normalised at b
    same = LayeredSphere(A, B, 1.0, 0.2, 1.0, 0.2, 1.0)
    m = math.sqrt(0.2)
    for r in (0.0, 3.0, 12.0):
        expected = (m if r == 0 else math.sinh(m * r) / r) / (math.sinh(m * B) / B)
        assert float(same.profile(r)) == pytest.approx(expected, rel=1e-10)
    # the fast white core flattens the profile: the centre sees more than with a grey core
    grey_core = LayeredSphere(A, B, D_GREY, RATE, D_GREY, RATE, 1.0)
    assert float(EXACT.profile(0.0)) > 1.15 * float(grey_core.profile(0.0))  # 0.501 against 0.418


def relative_error(comm, size: float) -> float:
    case = Case.model_validate({
        "name": "layered", "geometry": {"kind": "sphere", "tumour_radius": f"{A} mm", "host_radius": f"{B} mm"},
        "mesh": {"size_tumour": f"{size} mm", "size_far": f"{size} mm", "grading_distance": "1 mm"},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}}})
    tm = mesh_in_memory(comm, case)
    # c = c_v - w: supply S (c_v - c), no consumption, c(b) = c_v - w(b) = 0 with c_v = 1
    tissue = {"tumour": OxygenTissue(D_WHITE, RATE, 1.0, 0.0, 1.0), "host": OxygenTissue(D_GREY, RATE, 1.0, 0.0, 1.0)}
    problem = OxygenProblem(tm, tissue, 0.0, 0.0, boundary_conditions={"outer": 0.0},
                            hypoxic_threshold=0.1, necrotic_threshold=0.01)
    problem.solve()
    reference = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 3)))
    reference.interpolate(lambda x: 1.0 - EXACT.profile(np.linalg.norm(x, axis=0)))
    dx = ufl.dx(metadata={"quadrature_degree": 6})

    def total(form) -> float:
        return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)), op=MPI.SUM)

    return math.sqrt(total((problem.po2 - reference) ** 2 * dx) / total(reference**2 * dx))


@pytest.mark.mpi
def test_fe_solution_converges_to_the_layered_sphere_at_second_order(comm):
    """P1: L2 rate 2 (measured rates are printed on failure); the lumped reaction keeps it."""
    sizes = (1.0, 0.5, 0.25)
    errors = [relative_error(comm, h) for h in sizes]
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(len(sizes) - 1)]
    assert errors[-1] < 0.02, (errors, rates)  # measured 0.135, 0.050, 0.0127 (rates 1.44, 1.97)
    assert rates[-1] == pytest.approx(2.0, abs=0.35), (errors, rates)
