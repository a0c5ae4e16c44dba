"""PETSc solver options fail loudly: unread user options and rejected values are one-line errors."""

from __future__ import annotations

import logging
import re

import pytest

from oncotwin.core.errors import SolverOptionError
from oncotwin.core.fenics import PETSc
from oncotwin.la.petsc import MULTIGRID, create_ksp, solve
from tests.conftest import REPO, run_cli
from tests.la.test_petsc import spd_system

# what a problem sets: a one-level preconditioner, plus multigrid options it does not read
DEFAULTS = {"ksp_type": "gmres", "pc_type": "bjacobi", "sub_pc_type": "icc", "ksp_rtol": 1e-10,
            **{k: v for k, v in MULTIGRID.items() if k != "pc_type"}}


def first_solve(comm, overrides: dict, unused: str = "error") -> PETSc.KSP:
    A, rhs = spd_system(comm, n=4)
    switch = {} if unused == "error" else {"unused": unused}  # the default: the plain call of every problem
    ksp = create_ksp(comm, A, "test_", DEFAULTS, overrides, **switch)
    solve(ksp, rhs(0.0), A.createVecRight(), "test")
    return ksp


def assert_clean_database():
    assert not [name for name in PETSc.Options().getAll() if name.startswith("test_")]


def assert_same_on_every_rank(comm, message: str):
    assert len(set(comm.allgather(message))) == 1


@pytest.mark.mpi
def test_only_the_users_unread_options_are_reported(comm):
    # valid overrides change the solver; the level smoothers read theirs only at set-up (in the first solve)
    ksp = first_solve(comm, {"ksp_type": "cg", "pc_type": "gamg", "mg_levels_ksp_max_it": 3})
    assert (ksp.getType(), ksp.getPC().getType()) == ("cg", "gamg")
    assert ksp.getPC().getMGSmoother(1).getTolerances()[3] == 3
    # defaults the solver does not read (multigrid options with ICC blocks) are not reported
    ksp = first_solve(comm, {"ksp_type": "cg"})
    assert (ksp.getType(), ksp.getPC().getType()) == ("cg", "bjacobi")
    # a typo is
    with pytest.raises(SolverOptionError) as error:
        first_solve(comm, {"ksp_type": "cg", "ksp_typo": 1})
    message = str(error.value)
    assert message.startswith("solver.test: option 'ksp_typo: 1' (did you mean 'ksp_type'?) never read")
    assert "KSP cg, PC bjacobi" in message
    assert "mg_levels" not in message and "pc_gamg" not in message and "sub_pc_type" not in message
    assert "\n" not in message
    assert_same_on_every_rank(comm, message)
    assert_clean_database()


@pytest.mark.mpi
def test_an_option_of_other_solver_types_is_reported_without_a_suggestion(comm):
    with pytest.raises(SolverOptionError) as error:
        first_solve(comm, {"pc_type": "jacobi", "sub_pc_type": "lu", "mg_levels_ksp_typ": "cg"})
    message = str(error.value)
    assert message.startswith("solver.test: options 'mg_levels_ksp_typ: cg' (did you mean 'mg_levels_ksp_type'?), "
                              "'sub_pc_type: lu' never read by the PETSc solver (KSP gmres, PC jacobi)")


@pytest.mark.mpi
@pytest.mark.parametrize(("overrides", "key", "value", "reason"), [
    ({"ksp_type": "nonsense"}, "ksp_type", "'nonsense'", "Unable to find requested KSP type nonsense"),
    ({"ksp_max_it": 1.5}, "ksp_max_it", "1.5", "Input string 1.5 has no integer value"),
    ({"ksp_norm_type": "bogus"}, "ksp_norm_type", "'bogus'", "Available options: none preconditioned"),
    ({"pc_type": "gamg", "mg_levels_ksp_type": "nonsense"}, "mg_levels_ksp_type", "'nonsense'",  # at set-up
     "Unable to find requested KSP type nonsense"),
])
def test_a_rejected_value_is_a_one_line_error(comm, capfd, overrides, key, value, reason):
    with pytest.raises(SolverOptionError) as error:
        first_solve(comm, {"ksp_rtol": 1e-9, **overrides})
    message = str(error.value)
    assert message.startswith(f"solver.test.{key}: PETSc rejected the value {value}: ")
    assert reason in message and "\n" not in message and "[0]" not in message
    assert "PETSC ERROR" not in capfd.readouterr().err
    assert_same_on_every_rank(comm, message)
    assert_clean_database()


@pytest.mark.mpi
def test_a_value_rejected_on_one_rank_fails_every_rank(comm):
    """Options are the same everywhere in a run; should they differ, no rank may hang."""
    A, _ = spd_system(comm, n=4)
    bad = {"ksp_type": "nonsense"} if comm.rank == comm.size - 1 else {"ksp_type": "cg"}
    with pytest.raises(SolverOptionError, match=r"^solver\.test\.ksp_type: PETSc rejected the value 'nonsense'"):
        create_ksp(comm, A, "test_", DEFAULTS, bad)
    assert_clean_database()


def test_unread_options_can_be_a_warning(comm, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("oncotwin"), "propagate", True)  # configure() (CLI tests) stops it
    with caplog.at_level(logging.WARNING, logger="oncotwin.la"):
        ksp = first_solve(comm, {"ksp_type": "cg", "ksp_typo": 1}, unused="warn")
    assert ksp.getType() == "cg"
    warnings = [r.getMessage() for r in caplog.records if "ksp_typo" in r.getMessage()]
    assert len(set(warnings)) == 1 and warnings[0].endswith("(ignored)"), warnings  # (caplog may see it twice)
    A, _ = spd_system(comm, n=4)
    with pytest.raises(ValueError, match="unused must be one of"):
        create_ksp(comm, A, "test_", DEFAULTS, unused="ignore")


def sphere_case(tmp_path, solver: str):
    """The shipped Baxter & Jain sphere on a coarse mesh, with ``solver`` as its fluid options."""
    text = (REPO / "cases" / "sphere_baxter_jain.yaml").read_text()
    text = re.sub(r"mesh:\n(  .*\n)+", 'mesh: {size_tumour: "1.5 mm", size_rim: "1 mm", rim_band: "1 mm", '
                  'grading_distance: "3 mm", size_far: "3 mm"}\n', text)
    assert "  fluid: {ksp_rtol: 1.0e-10}\n" in text
    case = tmp_path / "sphere.yaml"
    case.write_text(text.replace("  fluid: {ksp_rtol: 1.0e-10}\n", f"  fluid: {solver}\n"))
    return case


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize(("solver", "expected"), [
    ("{ksp_rtol: 1.0e-10, ksp_typo: 1}", "solver.fluid: option 'ksp_typo: 1' (did you mean 'ksp_type'?) never read"),
    ("{ksp_type: nonsense}", "solver.fluid.ksp_type: PETSc rejected the value 'nonsense'"),
])
def test_cli_bad_solver_option_is_one_line(tmp_path, ranks, solver, expected):
    out = tmp_path / "out"
    result = run_cli("-q", "run", str(sphere_case(tmp_path, solver)), "--out", str(out), ranks=ranks, cwd=tmp_path,
                     timeout=180)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("oncotwin: error: ")]
    assert len(errors) == 1 and expected in errors[0], result.stderr  # once (rank 0)
    # besides it only the run's own logged warnings (the coarse mesh under-resolves the pressure rim)
    assert all(line.startswith("[oncotwin] ") for line in lines if line not in errors), result.stderr
    assert "Traceback" not in result.stderr and "PETSC ERROR" not in result.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
