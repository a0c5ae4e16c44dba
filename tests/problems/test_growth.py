"""Verification of tumour growth: Fisher-KPP wave (rates), front speed, kinetics, clones and treatment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.kinetics.response import CloneKinetics
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.problems.growth import GrowthProblem, GrowthTissue
from oncotwin.verification.fisher_kpp import FisherKPP


def strip(comm, length: float, n: int, width: float = 0.5) -> TaggedMesh:
    """A quasi-1D box [0, length] x [0, width]^2 with n cells along x, one region 'tumour'."""
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [length, width, width]], [n, 1, 1],
                                   ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = mesh.topology.dim
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.ones_like(cells))
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, np.zeros(0, np.int32), np.zeros(0, np.int32))
    return TaggedMesh(mesh, cell_tags, facet_tags, {"tumour": 1}, {}, ("tumour",))


def fisher_problem(tm, model: FisherKPP, initial) -> GrowthProblem:
    kin = CloneKinetics(sensitive_rate=model.rate, resistant_rate=model.rate)
    problem = GrowthProblem(tm, {"tumour": GrowthTissue(model.diffusivity)}, kin)
    x = problem.V.tabulate_dof_coordinates()[:, 0]
    problem.sensitive.x.array[:] = initial(x)
    problem.viable.x.array[:] = problem.sensitive.x.array
    return problem


def l2_error(problem: GrowthProblem, exact) -> float:
    x = ufl.SpatialCoordinate(problem.tmesh.mesh)
    e = problem.viable - exact(x[0], ufl)
    form = dolfinx.fem.form(e * e * ufl.dx(metadata={"quadrature_degree": 6}))
    return math.sqrt(problem.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


@pytest.mark.mpi
def test_exact_travelling_wave_converges_at_second_order_in_space(comm):
    """Ablowitz-Zeppetella wave: halving h and quartering dt divides the L2 error by ~4."""
    model = FisherKPP(diffusivity=0.1, rate=0.5)  # mm^2/s-free units: the solver does not care
    length, centre, t_end = 28.0, 12.0, 4.0  # the wave is flat (no-flux) at both ends to ~1e-5
    errors = []
    for n, steps in ((56, 8), (112, 32), (224, 128)):
        tm = strip(comm, length, n)
        problem = fisher_problem(tm, model, lambda x: model.travelling_wave(x - centre, 0.0, m=np))
        for _ in range(steps):
            problem.step(t_end / steps)
        errors.append(l2_error(problem, lambda x, m: model.travelling_wave(x - centre, t_end, m=m)))
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert errors[-1] < 2e-3, errors
    assert rates[-1] == pytest.approx(2.0, abs=0.3), (errors, rates)


@pytest.mark.mpi
def test_front_from_a_step_travels_at_two_sqrt_d_rho(comm):
    """KPP minimal speed 2 sqrt(D rho), with Bramson's logarithmic delay accounted for."""
    model = FisherKPP(diffusivity=1.0, rate=1.0)
    tm = strip(comm, 80.0, 320)
    problem = fisher_problem(tm, model, lambda x: (x < 4.0).astype(float))
    x = problem.V.tabulate_dof_coordinates()[:, 0]

    def front() -> float:
        """Rightmost position where the density crosses 1/2 (linear interpolation, all ranks)."""
        order = np.argsort(x)
        xs, us = x[order], problem.viable.x.array[order]
        above = np.nonzero(us >= 0.5)[0]
        local = -np.inf
        if above.size and above[-1] + 1 < xs.size:
            i = above[-1]
            local = xs[i] + (us[i] - 0.5) / (us[i] - us[i + 1]) * (xs[i + 1] - xs[i])
        return comm.allreduce(local, op=MPI.MAX)

    dt, positions = 0.02, {}
    for k in range(1, int(25 / dt) + 1):
        problem.step(dt)
        if k in (int(15 / dt), int(25 / dt)):
            positions[k * dt] = front()
    speed = (positions[25.0] - positions[15.0]) / 10.0
    expected = model.mean_speed_with_delay(15.0, 25.0)
    assert speed == pytest.approx(expected, rel=0.03), (speed, expected, model.minimal_speed)
    assert speed < model.minimal_speed  # fronts approach the minimal speed from below


def uniform(comm, kin, density=0.1, resistant=0.0, necrotic=0.0) -> GrowthProblem:
    from tests.problems.test_fluid import cube

    tm = cube(comm, 3)
    tissue = {name: GrowthTissue(1e-3, 1.0, density, necrotic) for name in tm.regions}
    return GrowthProblem(tm, tissue, kin, initial_resistant_fraction=resistant)


@pytest.mark.mpi
def test_uniform_density_follows_the_logistic_closed_form(comm):
    kin = CloneKinetics(sensitive_rate=0.3, resistant_rate=0.3)
    problem = uniform(comm, kin, density=0.05)
    for _ in range(10):
        problem.step(1.0)
    exact = 1.0 / (1.0 + (1 / 0.05 - 1) * math.exp(-0.3 * 10.0))
    assert problem.viable.x.array == pytest.approx(exact, rel=1e-6)
    volume = problem._sum(np.ones_like(problem.mass))
    assert problem.metrics()["tumour_cells"] == pytest.approx(exact * volume * 1e6, rel=1e-6)


@pytest.mark.mpi
def test_selection_of_the_resistant_clone_under_continuous_kill(comm):
    """Sensitive cells killed at rate k: closed form of the resistant share without mutation."""
    kin = CloneKinetics(sensitive_rate=0.0, resistant_rate=0.0)
    problem = uniform(comm, kin, density=0.5, resistant=0.1)
    k, dt = 0.2, 0.5
    for _ in range(20):
        problem.step(dt)
        problem.apply_survival(math.exp(-k * dt), 1.0)
    s, r = 0.45 * math.exp(-k * 10.0), 0.05
    assert problem.metrics()["resistant_fraction"] == pytest.approx(r / (s + r), rel=1e-9)


@pytest.mark.mpi
def test_mutation_moves_divisions_to_the_resistant_clone_and_anoxia_makes_necrosis(comm):
    kin = CloneKinetics(sensitive_rate=0.1, resistant_rate=0.1, mutation_fraction=0.01, necrosis_rate=0.5)
    problem = uniform(comm, kin, density=0.5)
    n0 = problem.viable.x.array.copy()
    problem.step(1.0, po2=np.full_like(n0, 40.0))
    assert problem.resistant.x.array.min() > 0  # mutation from nothing
    # at equal rates the total follows the logistic law whatever the mutation fraction
    exact = 1.0 / (1.0 + (1 / 0.5 - 1) * math.exp(-0.1))
    assert problem.viable.x.array == pytest.approx(exact, rel=1e-6)
    total = problem.viable.x.array + problem.necrotic.x.array
    problem.step(1.0, po2=np.zeros_like(n0))  # anoxic: no division, death into the necrotic pool
    assert problem.viable.x.array == pytest.approx(exact * math.exp(-0.5), rel=1e-6)
    assert problem.viable.x.array + problem.necrotic.x.array == pytest.approx(total, rel=1e-9)
    assert problem.metrics(po2=np.zeros_like(n0))["hypoxic_fraction"] == pytest.approx(1.0)


@pytest.mark.mpi
def test_multigrid_keeps_invasion_iterations_flat_when_diffusion_dominates(comm):
    """dt D / h^2 > 2 switches CG to AMG: iterations stay flat under refinement (Jacobi's grow like 1/h)."""
    from tests.problems.test_fluid import cube

    kin = CloneKinetics(sensitive_rate=0.0, resistant_rate=0.0)
    iterations = {}
    for n in (8, 16, 32):
        tm = cube(comm, n)
        x = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1)).tabulate_dof_coordinates()
        problem = GrowthProblem(tm, {name: GrowthTissue(1.0, 1.0, 0.0) for name in tm.regions}, kin)
        problem.sensitive.x.array[:] = np.exp(-20 * ((x - 0.5) ** 2).sum(axis=1))
        iterations[n] = problem.step(0.03).iterations  # dt D / h^2 = 1.5, 6.2, 25
        assert problem._multigrid == (n > 8)
        mass = problem._sum(problem.sensitive.x.array)
        assert mass == pytest.approx(problem._sum(np.exp(-20 * ((x - 0.5) ** 2).sum(axis=1))), rel=1e-8)
    assert iterations[32] <= 1.3 * iterations[16], iterations


@pytest.mark.mpi
@pytest.mark.parametrize("exclusion", [True, False])
def test_volume_exclusion_keeps_a_rim_out_of_a_full_necrotic_core(comm, exclusion):
    """With volume exclusion no cell enters nodes that necrosis fills, and the cells are conserved; Fisher
    diffusion (exclusion off) drains the rim into the core."""
    tm = strip(comm, 10.0, 40)
    kin = CloneKinetics(sensitive_rate=0.0, resistant_rate=0.0)
    problem = GrowthProblem(tm, {"tumour": GrowthTissue(0.5)}, kin, volume_exclusion=exclusion)
    x = problem.V.tabulate_dof_coordinates()[:, 0]
    core, rim = x < 5.0 - 1e-9, (x >= 5.0 - 1e-9) & (x < 6.0 + 1e-9)
    problem.necrotic.x.array[:] = np.where(core, 1.0, 0.0)
    problem.sensitive.x.array[:] = np.where(rim, 0.9, 0.0)
    before = problem._sum(problem.sensitive.x.array)
    for _ in range(5):
        problem.step(0.5)
    in_core = problem._sum(np.where(core, problem.sensitive.x.array, 0.0))
    assert problem._sum(problem.sensitive.x.array) == pytest.approx(before, rel=1e-8)  # ksp_rtol 1e-10
    if exclusion:
        assert in_core == 0.0
        assert np.all(problem.sensitive.x.array + problem.necrotic.x.array <= 1.0 + 1e-12)
    else:
        assert in_core > 0.05 * before


def test_the_enhancing_readout_sees_viable_and_doomed_cells_but_not_necrosis(comm):
    kin = CloneKinetics(sensitive_rate=0.0, resistant_rate=0.0)
    problem = uniform(comm, kin, density=0.5, necrotic=0.3)
    problem.apply_survival(0.6)  # 0.2 of the 0.5 become doomed
    assert np.allclose(problem.seen("enhancing"), 0.5)
    assert np.allclose(problem.seen("flair"), 0.8) and np.allclose(problem.seen("total"), 0.8)
