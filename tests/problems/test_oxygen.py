"""Verification of the oxygen problem: Greenspan sphere, MMS rates, uniform balances, maximum principle,
Newton warm starts and hypoxia metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.case.schema import Case
from oncotwin.core.errors import SolverError
from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.defaults.oxygen import (
    HYPOXIC_THRESHOLD,
    NECROTIC_THRESHOLD,
    OXYGEN_DEFAULTS,
    TUMOUR_CONSUMPTION_DEFAULT,
)
from oncotwin.mesh.distribute import TaggedMesh, mesh_in_memory
from oncotwin.problems.oxygen import OxygenProblem, OxygenTissue
from oncotwin.verification.spherical_oxygen import ZeroOrderSphere
from tests.problems.test_fluid import cube

DEFAULTS = {kind: OxygenTissue(**values) for kind, values in OXYGEN_DEFAULTS.items()}
THRESHOLDS = {"hypoxic_threshold": HYPOXIC_THRESHOLD, "necrotic_threshold": NECROTIC_THRESHOLD}


def total(comm, form) -> float:
    return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)), op=MPI.SUM)


def p1(tm, fn) -> dolfinx.fem.Function:
    f = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1)), name="density")
    f.interpolate(fn)
    return f


def global_range(comm, f) -> tuple[float, float]:
    return comm.allreduce(float(f.x.array.min()), op=MPI.MIN), comm.allreduce(float(f.x.array.max()), op=MPI.MAX)


def balance(supply, vascular, vmax, km) -> float:
    """Root of S (cv - c) = Vmax c / (Km + c) (uniform medium)."""
    b = supply * km - supply * vascular + vmax
    return (-b + math.sqrt(b * b + 4 * supply * supply * vascular * km)) / (2 * supply)


# ------------------------------------------------------------------------------- closed forms
@pytest.mark.mpi
def test_zero_order_sphere_matches_greenspan(comm):
    """Avascular sphere, surface pO2 c0, K_m = 1e-3 c0 (essentially zero order): profile and anoxic core."""
    R, D, q, c0 = 2.0, 0.1, 12.0, 40.0  # q R^2 / (6 D) = 2 c0: core radius R / 2
    case = Case.model_validate({
        "name": "greenspan", "geometry": {"kind": "sphere", "tumour_radius": f"{R} mm"},
        "mesh": {"size_tumour": "0.2 mm", "size_far": "0.2 mm", "grading_distance": "1 mm"},
        "regions": {"tumour": {"kind": "tumour"}}})
    tm = mesh_in_memory(comm, case)
    problem = OxygenProblem(tm, {"tumour": OxygenTissue(D, 0.0, 0.0, q, 1e-3 * c0)}, 0.0, 0.0,
                            boundary_conditions={"tumour_boundary": c0}, **THRESHOLDS)
    info = problem.solve()
    exact = ZeroOrderSphere(R, D, q, c0)
    assert exact.necrotic_radius() == pytest.approx(1.0)
    reference = dolfinx.fem.Function(dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 3)))
    reference.interpolate(lambda x: exact.profile(np.linalg.norm(x, axis=0)))
    error = math.sqrt(total(comm, (problem.po2 - reference) ** 2 * ufl.dx)
                      / total(comm, reference**2 * ufl.dx))
    assert error < 0.03, error  # measured 2.0 % at h = 0.2 mm
    low, high = global_range(comm, problem.po2)
    assert 0.0 <= low and high <= c0 * (1 + 1e-12)
    assert info.clipped_min > -1e-3 * c0  # only round-off-sized negatives (non-M-matrix tetrahedra)
    assert info.iterations <= 15, info  # measured 11 from the cold start (c = c0)

    def radius(volume):
        return (3 * volume / (4 * math.pi)) ** (1 / 3)

    # the anoxic core: volume where c < 0.1 mmHg vs the closed form (level set and free boundary r_n)
    r_num = radius(problem.volume_below(0.1))
    assert r_num == pytest.approx(exact.radius_below(0.1), rel=0.02)
    assert r_num == pytest.approx(exact.necrotic_radius(), rel=0.05)
    m = problem.metrics()  # the whole sphere is the tumour region
    assert radius(m["necrotic_volume_mm3"]) == pytest.approx(exact.radius_below(1.0), rel=0.02)
    assert radius(m["hypoxic_volume_mm3"]) == pytest.approx(exact.radius_below(10.0), rel=0.02)
    assert m["tumour_volume_mm3"] == pytest.approx(4 / 3 * math.pi * R**3, rel=0.01)


def mms_errors(comm, n: int) -> tuple[float, float, object]:
    """Errors of a manufactured solution with region-wise supply/consumption and the full MM term."""
    tissue = {"tumour": OxygenTissue(0.05, 0.35, 40.0, 0.0, 2.5),
              "host": OxygenTissue(0.05, 2.8, 40.0, 15.0, 2.5)}
    tm = cube(comm, n)
    density = p1(tm, lambda x: x[0])
    x = ufl.SpatialCoordinate(tm.mesh)
    exact = 20.0 + 10.0 * ufl.cos(ufl.pi * x[0]) * ufl.cos(ufl.pi * x[1]) * ufl.cos(2 * ufl.pi * x[2])
    phys = OxygenProblem(tm, tissue, density, 15.0, **THRESHOLDS).physics
    source = -ufl.div(phys.diffusivity * ufl.grad(exact)) + phys.consumption(exact) - phys.supply(exact)
    problem = OxygenProblem(tm, tissue, density, 15.0, extra_source=source, **THRESHOLDS)
    info = problem.solve()
    e = problem.po2 - exact
    dx = ufl.dx(metadata={"quadrature_degree": 6})
    return math.sqrt(total(comm, e * e * dx)), math.sqrt(total(comm, ufl.inner(ufl.grad(e), ufl.grad(e)) * dx)), info


@pytest.mark.mpi
def test_manufactured_solution_converges_at_optimal_rates(comm):
    """P1 with lumped (vertex-quadrature) reaction: L2 rate 2, H1 rate 1."""
    results = [mms_errors(comm, n) for n in (8, 16, 32)]
    l2 = [r[0] for r in results]
    h1 = [r[1] for r in results]
    l2_rate, h1_rate = math.log2(l2[-2] / l2[-1]), math.log2(h1[-2] / h1[-1])
    assert l2_rate == pytest.approx(2.0, abs=0.15), l2  # measured 1.96
    assert h1_rate == pytest.approx(1.0, abs=0.1), h1  # measured 0.99
    assert all(r[2].iterations <= 4 for r in results), [r[2] for r in results]  # measured 3


# ------------------------------------------------------------------------------- uniform media
@pytest.mark.mpi
def test_uniform_supply_only_gives_the_vascular_po2(comm):
    tm = cube(comm, 4)
    t = OxygenTissue(2e-3, 2.8, 40.0, 0.0, 2.5)
    problem = OxygenProblem(tm, {"tumour": t, "host": t}, 0.0, 0.0, **THRESHOLDS)
    problem.po2.x.array[:] = 3.0  # any initial guess
    problem.solve()
    assert problem.po2.x.array == pytest.approx(40.0, rel=1e-10)


@pytest.mark.mpi
def test_uniform_supply_and_consumption_give_the_algebraic_balance(comm):
    tm = cube(comm, 4)
    S, cv, v_tissue, v_tumour, N, km = 1.3, 40.0, 6.0, 15.0, 0.6, 2.5
    t = OxygenTissue(2e-3, S, cv, v_tissue, km)
    problem = OxygenProblem(tm, {"tumour": t, "host": t}, N, v_tumour, **THRESHOLDS)
    problem.solve()
    assert problem.po2.x.array == pytest.approx(balance(S, cv, v_tissue + v_tumour * N, km), rel=1e-10)
    # large K_m: the consumption is linear, c = S cv / (S + Vmax / Km)
    t = OxygenTissue(2e-3, S, cv, 1e3, 1e6)
    problem = OxygenProblem(tm, {"tumour": t, "host": t}, 0.0, 0.0, **THRESHOLDS)
    problem.solve()
    assert problem.po2.x.array == pytest.approx(S * cv / (S + 1e-3), rel=1e-5)


def test_defaults_oxygenate_normal_brain_and_make_dense_tumour_hypoxic():
    normal, tumour = OXYGEN_DEFAULTS["normal"], OXYGEN_DEFAULTS["tumour"]
    c_normal = balance(normal["supply_rate"], normal["vascular_po2"], normal["tissue_consumption"],
                       normal["half_saturation"])
    assert 30.0 <= c_normal <= 40.0

    def tumour_po2(density):
        return balance(tumour["supply_rate"], tumour["vascular_po2"],
                       tumour["tissue_consumption"] + TUMOUR_CONSUMPTION_DEFAULT * density, tumour["half_saturation"])

    assert 5.0 < tumour_po2(1.0) < 10.0  # hypoxic at full cell density
    assert tumour_po2(0.5) > 10.0  # oxygenated infiltrative margin


# ------------------------------------------------------------------------------- robustness
@pytest.mark.mpi
def test_maximum_principle_with_an_unresolved_boundary_layer(comm):
    """Avascular, strongly consuming half next to perfused tissue: layer width ~10 um, cells 250 um."""
    tm = cube(comm, 4)
    tissue = {"tumour": OxygenTissue(2e-3, 0.0, 40.0, 0.0, 1.0), "host": DEFAULTS["normal"]}
    density = p1(tm, lambda x: np.where(x[0] < 0.5, 1.0, 0.0))
    problem = OxygenProblem(tm, tissue, density, 30.0, **THRESHOLDS)
    info = problem.solve()
    low, high = global_range(comm, problem.po2)
    assert info.clipped_min == 0.0  # Kuhn tetrahedra are non-obtuse: M-matrix, no negatives at all
    assert 0.0 <= low and high <= 40.0
    assert low < 1e-3  # the avascular half is anoxic
    m = problem.metrics()
    assert m["necrotic_fraction"] > 0.5 and m["hypoxic_fraction"] >= m["necrotic_fraction"]


@pytest.mark.mpi
def test_m_matrix_correction_reduces_undershoots_on_obtuse_cells(comm):
    """A distorted mesh (obtuse cells) with an avascular consuming half next to perfused tissue: plain
    Galerkin undershoots below 0 at the interface; the supply-weighted correction cuts that by > 5x."""
    undershoot = {}
    for monotone in (False, True):
        tm = cube(comm, 6)
        x = tm.mesh.geometry.x
        x[:, :] += 0.15 * np.sin(2 * np.pi * x[:, [1, 2, 0]]) * np.sin(np.pi * x)  # boundary stays put
        tissue = {"tumour": OxygenTissue(2e-3, 0.0, 40.0, 0.0, 2.5), "host": DEFAULTS["normal"]}
        density = p1(tm, lambda y: np.where(y[0] < 0.5, 1.0, 0.0))
        problem = OxygenProblem(tm, tissue, density, 30.0, monotone=monotone, **THRESHOLDS)
        undershoot[monotone] = problem.solve().clipped_min
        assert global_range(comm, problem.po2)[1] <= 40.0
    assert undershoot[False] < -1e-3  # measured -5.3e-3 mmHg
    assert undershoot[True] > 0.2 * undershoot[False]  # measured -2.5e-4 mmHg


@pytest.mark.mpi
def test_newton_warm_start_and_vascular_scaling(comm):
    tm = cube(comm, 8)
    tissue = {"tumour": DEFAULTS["tumour"], "host": DEFAULTS["normal"]}
    density = p1(tm, lambda x: np.clip(1.5 - 2 * x[0], 0.0, 1.0))
    problem = OxygenProblem(tm, tissue, density, TUMOUR_CONSUMPTION_DEFAULT, **THRESHOLDS)
    cold = problem.solve()
    assert 1 <= cold.iterations <= 8, cold  # measured 6
    assert problem.solve().iterations == 0  # unchanged problem: the previous solution is converged
    density.x.array[:] *= 1.05  # a growth step
    warm = problem.solve()
    assert 1 <= warm.iterations < cold.iterations, (cold, warm)  # measured 3
    before = problem.metrics()
    problem.set_vascular_scaling({"tumour": 0.5})
    after_info = problem.solve()
    after = problem.metrics()
    assert after_info.iterations <= cold.iterations  # halving S_v is a large change: measured 6
    assert after["po2_mean_tumour_mmHg"] < before["po2_mean_tumour_mmHg"]
    assert after["hypoxic_fraction"] >= before["hypoxic_fraction"]


def test_newton_failure_is_a_solver_error(comm):
    tm = cube(comm, 4)
    problem = OxygenProblem(tm, {"tumour": DEFAULTS["tumour"], "host": DEFAULTS["normal"]}, 1.0,
                            TUMOUR_CONSUMPTION_DEFAULT, newton_max_it=1, **THRESHOLDS)
    with pytest.raises(SolverError, match="Newton's method did not converge"):
        problem.solve()


def test_bad_input_is_reported(comm):
    tm = cube(comm, 2)
    with pytest.raises(ValueError, match="no parameters for region"):
        OxygenProblem(tm, {"tumour": DEFAULTS["tumour"]}, 0.0, 0.0, **THRESHOLDS)
    with pytest.raises(ValueError, match="unknown boundary"):
        OxygenProblem(tm, {"tumour": DEFAULTS["tumour"], "host": DEFAULTS["normal"]}, 0.0, 0.0,
                      boundary_conditions={"outer": 40.0}, **THRESHOLDS)


# ------------------------------------------------------------------------------- metrics
@pytest.mark.mpi
def test_metrics_with_a_density_indicator(comm):
    """Dense tumour tissue for x <= 0.5: hypoxic except at the front; the indicator N > 0.2 selects it."""
    tm = cube(comm, 6)
    t = DEFAULTS["tumour"]
    density = p1(tm, lambda x: np.where(x[0] < 0.5 + 1e-9, 1.0, 0.0))
    problem = OxygenProblem(tm, {"tumour": t, "host": t}, density, TUMOUR_CONSUMPTION_DEFAULT, **THRESHOLDS)
    problem.solve()
    chi = ufl.conditional(ufl.gt(density, 0.2), 1.0, 0.0)
    m = problem.metrics(chi)
    # the metrics are vertex-quadrature integrals of the indicator (times c < threshold)
    dxv = ufl.dx(domain=tm.mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    assert m["tumour_volume_mm3"] == pytest.approx(total(comm, chi * dxv), rel=1e-12)
    below = ufl.conditional(ufl.lt(problem.po2, 10.0), 1.0, 0.0)
    assert m["hypoxic_volume_mm3"] == pytest.approx(total(comm, below * chi * dxv), rel=1e-12)
    assert m["po2_mean_tumour_mmHg"] == pytest.approx(
        total(comm, problem.po2 * chi * dxv) / m["tumour_volume_mm3"], rel=1e-12)
    dense = balance(t.supply_rate, t.vascular_po2, TUMOUR_CONSUMPTION_DEFAULT, t.half_saturation)
    assert m["po2_min_tumour_mmHg"] == pytest.approx(dense, rel=1e-3)  # 3 cells from the x = 0.5 front
    assert 0.5 < m["hypoxic_fraction"] < 1.0 and m["necrotic_fraction"] == 0.0
    whole = problem.metrics(dolfinx.fem.Constant(tm.mesh, 1.0))
    assert whole["tumour_volume_mm3"] == pytest.approx(1.0, rel=1e-12)
    assert whole["hypoxic_volume_mm3"] == pytest.approx(problem.volume_below(10.0), rel=1e-12)
    assert whole["hypoxic_volume_mm3"] == pytest.approx(m["hypoxic_volume_mm3"], rel=1e-12)
    default = problem.metrics()  # region 'tumour' (cells with x < 0.5)
    assert default["tumour_volume_mm3"] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.mpi
def test_newton_matrix_is_the_jacobian_of_the_residual(comm):
    """Constant diffusion part + diagonal reaction derivative = the assembled Jacobian of the residual
    (with the monotone correction and Dirichlet rows), at a non-uniform pO2."""
    tm = cube(comm, 5)
    facets = dolfinx.mesh.exterior_facet_indices(tm.mesh.topology)
    tm = TaggedMesh(tm.mesh, tm.cell_tags, dolfinx.mesh.meshtags(tm.mesh, 2, facets, np.ones_like(facets)),
                    tm.regions, {"outer": 1}, tm.tumour_regions)
    tissue = {"tumour": DEFAULTS["tumour"], "host": DEFAULTS["normal"]}
    density = p1(tm, lambda x: np.clip(1.5 - 2 * x[0], 0.0, 1.0))
    problem = OxygenProblem(tm, tissue, density, TUMOUR_CONSUMPTION_DEFAULT,
                            boundary_conditions={"outer": 20.0}, **THRESHOLDS)
    problem.po2.interpolate(lambda x: 5.0 + 30.0 * x[0] * x[1] - 8.0 * x[2])  # negative values too
    problem._assemble_jacobian()
    q, dc = ufl.TestFunction(problem.V), ufl.TrialFunction(problem.V)
    F = problem.physics.residual(problem.po2, q, problem.dx, problem.dx_lumped)
    J = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(ufl.derivative(F, problem.po2, dc)), bcs=problem.bcs)
    J.assemble()
    J.axpy(1.0, problem._correction)
    J.axpy(-1.0, problem.A)
    assert J.norm() < 1e-13 * problem.A.norm()
