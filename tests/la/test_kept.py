"""Objects kept on a mesh: built once per key, replaced by another key, one per name."""

from __future__ import annotations

from oncotwin.core.fenics import MPI, dolfinx
from oncotwin.la.kept import kept_on, options_key


def test_built_once_per_key_and_replaced_by_another_key():
    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    builds = []

    def build(tag):
        builds.append(tag)
        return [tag]

    a = kept_on(mesh, "operator", ("E", 1.0), lambda: build("a"))
    assert kept_on(mesh, "operator", ("E", 1.0), lambda: build("again")) is a
    other = kept_on(mesh, "other", ("E", 1.0), lambda: build("other"))  # names are independent
    b = kept_on(mesh, "operator", ("E", 2.0), lambda: build("b"))
    assert b is not a and kept_on(mesh, "operator", ("E", 1.0), lambda: build("a2")) is not a  # one kept per name
    assert builds == ["a", "other", "b", "a2"]
    assert kept_on(mesh, "other", ("E", 1.0), lambda: build("no")) is other
    fresh = dolfinx.mesh.create_unit_cube(MPI.COMM_WORLD, 2, 2, 2)
    assert kept_on(fresh, "operator", ("E", 1.0), lambda: build("fresh")) == ["fresh"]  # per mesh


def test_options_key_ignores_order_and_value_types():
    assert options_key({"ksp_rtol": 1e-7, "pc_type": "gamg"}) == options_key({"pc_type": "gamg", "ksp_rtol": "1e-07"})
    assert options_key(None) == options_key({}) == ()
    assert options_key({"ksp_rtol": 1e-7}) != options_key({"ksp_rtol": 1e-8})
