"""The oxygen problem's preconditioner: SOR where the supply dominates, multigrid where diffusion does."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import MPI
from oncotwin.problems.oxygen import OxygenProblem, OxygenTissue
from oncotwin.problems.oxygen_solver import ONE_LEVEL_MAX_IT
from tests.problems.test_fluid import cube
from tests.problems.test_oxygen import THRESHOLDS, p1


def _solve(tm, tissue, petsc_options=None) -> OxygenProblem:
    density = p1(tm, lambda x: 0.8 * np.exp(-20 * ((x[0] - 0.3) ** 2 + (x[1] - 0.5) ** 2 + (x[2] - 0.5) ** 2)))
    problem = OxygenProblem(tm, tissue, density, 15.0, petsc_options=petsc_options, **THRESHOLDS)
    problem.solve()
    return problem


def _relative_difference(comm, a: OxygenProblem, b: OxygenProblem) -> float:
    n = a.V.dofmap.index_map.size_local
    worst = comm.allreduce(float(np.abs(a.po2.x.array[:n] - b.po2.x.array[:n]).max(initial=0.0)), op=MPI.MAX)
    scale = comm.allreduce(float(np.abs(b.po2.x.array[:n]).max(initial=0.0)), op=MPI.MAX)
    return worst / scale


@pytest.mark.mpi
def test_supply_dominated_tissue_keeps_sor_and_matches_multigrid(comm):
    tm = cube(comm, 12)
    # S h^2 / D = 2.8 (1/12)^2 / 2e-3 = 9.7: the supply balance sets the pO2 node by node
    tissue = {"tumour": OxygenTissue(2e-3, 2.8, 40.0, 3.0, 2.5), "host": OxygenTissue(2e-3, 1.5, 40.0, 6.0, 2.5)}
    sor, multigrid = _solve(tm, tissue), _solve(tm, tissue, {"pc_type": "gamg"})
    assert not sor.multigrid and multigrid.multigrid
    assert sor.last_solve.linear_iterations <= 3 * max(multigrid.last_solve.linear_iterations, 1)
    assert _relative_difference(comm, sor, multigrid) < 1e-8


@pytest.mark.mpi
def test_diffusion_dominated_tissue_switches_to_multigrid_for_good(comm):
    tm = cube(comm, 24)
    # S h^2 / D ~ 2e-7: nearly a pure Neumann diffusion problem, where SOR's iterations grow with the mesh
    # (about 38 per Newton step on 16^3 cells, more than ONE_LEVEL_MAX_IT on 24^3)
    tissue = {"tumour": OxygenTissue(10.0, 1e-4, 40.0, 0.5, 2.5), "host": OxygenTissue(10.0, 1e-2, 40.0, 0.0, 2.5)}
    switched, multigrid = _solve(tm, tissue), _solve(tm, tissue, {"pc_type": "gamg"})
    assert switched.multigrid
    assert _relative_difference(comm, switched, multigrid) < 1e-8
    # later solves stay on multigrid
    switched.density.x.array[:] *= 1.5
    switched.solve()
    assert switched.multigrid and 0 < switched.last_solve.linear_iterations < ONE_LEVEL_MAX_IT


@pytest.mark.mpi
def test_preconditioner_options_of_the_case_keep_multigrid_defaults_without_switching(comm):
    tm = cube(comm, 4)
    tissue = {"tumour": OxygenTissue(2e-3, 2.8, 40.0, 3.0, 2.5), "host": OxygenTissue(2e-3, 1.5, 40.0, 6.0, 2.5)}
    tuned = _solve(tm, tissue, {"pc_gamg_threshold": 0.02})
    assert tuned.multigrid and tuned.ksp.getPC().getType() == "gamg"
    chosen = _solve(tm, tissue, {"pc_type": "jacobi"})
    assert chosen.multigrid and chosen.ksp.getPC().getType() == "jacobi"
