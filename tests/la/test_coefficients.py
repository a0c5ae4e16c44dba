"""Packed coefficients refreshed for the changing ones equal DOLFINx's full packing, serially and in parallel."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.la.coefficients import PackedCoefficients


def _functions(comm):
    mesh = dolfinx.mesh.create_unit_cube(comm, 5, 4, 3)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    rng = np.random.default_rng(comm.rank)
    spaces = {"iterate": V, "cells": dolfinx.fem.functionspace(mesh, ("DG", 0)),
              "vector": dolfinx.fem.functionspace(mesh, ("Lagrange", 2, (3,)))}
    functions = {}
    for name, space in spaces.items():
        functions[name] = dolfinx.fem.Function(space, name=name)
        functions[name].x.array[:] = rng.random(functions[name].x.array.size)
    return mesh, V, functions


def _same(packed: dict, form) -> bool:
    reference = dolfinx.fem.pack_coefficients(form)
    return packed.keys() == reference.keys() and all(np.array_equal(packed[k], reference[k]) for k in reference)


@pytest.mark.mpi
def test_refreshing_the_iterate_gives_the_full_packing(comm):
    _, V, f = _functions(comm)
    u, w, c = f["iterate"], f["vector"], f["cells"]
    form = dolfinx.fem.form((c * u ** 2 + ufl.div(w) * u) * ufl.TestFunction(V) * ufl.dx)
    packed = PackedCoefficients(form, [u, w])
    assert _same(packed.pack(), form)
    assert packed.gathers
    u.x.array[:] += 0.5
    w.x.array[:] *= -2.0
    assert _same(packed.refresh(), form)
    c.x.array[:] = 3.0  # not among the varying ones: only a new pack() sees it
    assert not _same(packed.refresh(), form)
    assert _same(packed.pack(), form)
    # the assembly with the packed coefficients equals DOLFINx's own
    u.x.array[:] -= 0.25
    expected = dolfinx.fem.assemble_vector(form)
    got = dolfinx.fem.assemble_vector(form, coeffs=packed.refresh())
    assert np.array_equal(got.array, expected.array)


@pytest.mark.mpi
def test_a_facet_integral_is_repacked_in_full(comm):
    _, V, f = _functions(comm)
    u = f["iterate"]
    form = dolfinx.fem.form(u * ufl.TestFunction(V) * ufl.dx + u ** 2 * ufl.TestFunction(V) * ufl.ds)
    packed = PackedCoefficients(form, [u])
    packed.pack()
    assert not packed.gathers
    u.x.array[:] *= 1.5
    assert _same(packed.refresh(), form)


def test_misuse_is_reported(comm):
    _, V, f = _functions(comm)
    form = dolfinx.fem.form(f["iterate"] * ufl.TestFunction(V) * ufl.dx)
    with pytest.raises(ValueError, match="not a coefficient"):
        PackedCoefficients(form, [f["cells"]])
    with pytest.raises(RuntimeError, match="before pack"):
        PackedCoefficients(form, [f["iterate"]]).refresh()
