"""PETSc helpers: cell size for the preconditioner switch, projected initial guesses, Newton forcing terms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, PETSc, dolfinx, ufl
from oncotwin.la.petsc import ProjectedInitialGuess, create_ksp, diffusion_number, newton_forcing, solve
from oncotwin.problems.regions import typical_cell_size


@pytest.mark.mpi
def test_typical_cell_size_of_a_box_of_tetrahedra(comm):
    """n^3 cubes of edge L/n, 6 tetrahedra each: mean volume (L/n)^3 / 6, regular edge (sqrt 2)^(1/3) L/n."""
    L, n = 2.0, 6
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [L, L, L]], [n, n, n])
    h = typical_cell_size(comm, mesh)
    assert h == pytest.approx(2 ** (1 / 6) * L / n, rel=1e-12)
    assert diffusion_number(10.0, 0.5, h) == pytest.approx(5.0 / h**2)


def spd_system(comm, n=8):
    mesh = dolfinx.mesh.create_unit_cube(comm, n, n, n)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form((ufl.inner(ufl.grad(u), ufl.grad(v)) + u * v) * ufl.dx))
    A.assemble()
    x = ufl.SpatialCoordinate(mesh)

    def rhs(t):
        f = (1 + t) * ufl.sin(3 * x[0] + t) * ufl.cos(2 * x[1]) + t**2 * x[2]
        b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(f * v * ufl.dx))
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b

    return A, rhs


def energy_error(A, x, exact) -> float:
    e = x.copy()
    e.axpy(-1.0, exact)
    Ae = e.duplicate()
    A.mult(e, Ae)
    return math.sqrt(max(e.dot(Ae), 0.0))


@pytest.mark.mpi
def test_projected_guess_is_exact_in_the_span_and_beats_the_previous_solution(comm):
    A, rhs = spd_system(comm)
    ksp = create_ksp(comm, A, "test_projection_", {"ksp_type": "cg", "pc_type": "jacobi", "ksp_rtol": 1e-12})
    ksp.setInitialGuessNonzero(True)
    projection = ProjectedInitialGuess(A, size=4)
    solutions, plain, projected = [], [], []
    for k, t in enumerate(np.linspace(0.0, 0.5, 6)):
        b = rhs(t)
        exact = A.createVecRight()
        solve(ksp, b, exact, "reference")  # from zero
        x = A.createVecRight()
        if solutions:
            x.array[:] = solutions[-1].array
            previous = energy_error(A, x, exact)
            assert projection.guess(b, x)
            guessed = energy_error(A, x, exact)
            assert guessed <= previous * (1 + 1e-12)  # never worse than the previous solution
            plain.append(previous)
            projected.append(guessed)
        else:
            assert not projection.guess(b, x)
        projection.add(exact)
        solutions.append(exact)
        if k == 3:  # a right-hand side in the span of earlier ones: the guess is the solution
            combo = rhs(0.0)
            combo.scale(0.3)
            combo.axpy(0.7, b)
            target = solutions[0].copy()
            target.scale(0.3)
            target.axpy(0.7, exact)
            y = A.createVecRight()
            projection.guess(combo, y)
            assert energy_error(A, y, target) < 1e-9 * math.sqrt(target.dot(target))
    assert sum(projected) < 0.1 * sum(plain)  # smooth loads: the projection is far closer
    # checkpoints: the restored basis makes the same guess
    restored = ProjectedInitialGuess(A, size=4)
    restored.restore(projection.state())
    b = rhs(0.6)
    x1, x2 = A.createVecRight(), A.createVecRight()
    projection.guess(b, x1)
    restored.guess(b, x2)
    assert np.array_equal(x1.array, x2.array)
    # a full basis restarts from the newest solution
    assert len(projection.state()) // 2 <= 4


def test_projected_guess_skips_dependent_solutions(comm):
    A, _ = spd_system(comm, n=4)
    projection = ProjectedInitialGuess(A)
    x = A.createVecRight()
    x.setRandom()
    projection.add(x)
    y = x.copy()
    y.scale(2.0)
    projection.add(y)  # in the span already: not added
    assert projection.state().shape[0] == 2
    assert comm.allreduce(projection.state().shape[1], op=MPI.SUM) == A.getSize()[0]


def _free_communicators(comm) -> int:
    """How many more communicators MPI can create now (each is freed again)."""
    made = []
    try:
        while len(made) < 4096:
            made.append(comm.Dup())
    except MPI.Exception:
        pass
    for c in made:
        c.Free()
    return len(made)


@pytest.mark.mpi
def test_released_parallel_matrices_give_their_communicators_back(comm):
    """A forward run's matrices and solvers, dropped and released, do not use up MPI's communicators.

    Without :func:`release_garbage`, petsc4py parks every parallel matrix dropped by Python (with the
    DOLFINx CSR and its neighbourhood communicators): about 8 communicators per forward run on 2 ranks.
    """
    from oncotwin.la.assembly import NativeMatrix
    from oncotwin.la.petsc import release_garbage

    mesh = dolfinx.mesh.create_unit_cube(comm, 4, 4, 4)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    form = dolfinx.fem.form(u * v * ufl.dx + ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)

    def one_run() -> None:
        matrix = NativeMatrix(form, space=V)
        ksp = create_ksp(comm, matrix.mat, "leak_", {"ksp_type": "cg", "pc_type": "jacobi"})
        x, b = matrix.mat.createVecs()
        b.set(1.0)
        solve(ksp, b, x, "leak test")

    one_run()
    release_garbage(comm)
    before = _free_communicators(comm)
    for _ in range(20):
        one_run()
        release_garbage(comm)
    after = _free_communicators(comm)
    assert before - after <= 2, (before, after)  # 20 runs; parked they used about one each on 2 ranks


def test_newton_forcing_follows_eisenstat_walker_choice_2_and_ends_at_a_fraction_of_the_tolerance():
    tol = 1e-10
    assert newton_forcing(1.0, None, None, tol) == 0.1  # first step: eta_max
    # quadratic in the residual ratio: 0.9 (1e-3 / 1e-1)^2 = 9e-5
    assert newton_forcing(1e-3, 1e-1, 0.1, tol) == pytest.approx(0.9e-4, rel=1e-12)
    # safeguard: a sudden drop after a loose step keeps gamma eta_prev^2 (0.225) when above 0.1, capped at 0.1
    assert newton_forcing(1e-6, 1.0, 0.5, tol) == 0.1
    assert newton_forcing(1e-6, 1.0, 0.5, tol, eta_max=0.9) == pytest.approx(0.225, rel=1e-12)
    # a solve whose target is within the tolerance is the last: it aims at final x tolerance, no further
    # (0.9 (1e-7 / 1e-3)^2 1e-7 = 9e-16 <= tol -> 0.01 tol / 1e-7)
    assert newton_forcing(1e-7, 1e-3, 1e-3, tol) == pytest.approx(0.01 * tol / 1e-7, rel=1e-12)
    assert newton_forcing(1e-7, 1e-3, 1e-3, tol, final=0.5) == pytest.approx(0.5 * tol / 1e-7, rel=1e-12)
    # ... and not tighter than an earlier step asked when that already reaches it
    assert newton_forcing(2e-10, 1e-3, 1e-3, tol) == pytest.approx(0.01 * tol / 2e-10, rel=1e-12)
    # a target above the tolerance is left to Eisenstat-Walker
    assert newton_forcing(1e-2, 1e-1, 0.1, tol) == pytest.approx(0.9e-2, rel=1e-12)
