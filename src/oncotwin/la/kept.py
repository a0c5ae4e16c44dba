"""Objects kept on a mesh for the next problem of the same kind and inputs (operators and their solvers).

A comparison or a forecast builds the same physics on one mesh again and again, with inputs that change only
what the operator does not see (treatment, proliferation). What is expensive and depends on the mesh and a
few inputs only, such as an algebraic-multigrid hierarchy, is kept on the mesh under a name with the inputs
it was built from, and reused while they are equal. One object is kept per name: different inputs replace it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from oncotwin.core.fenics import dolfinx

_ATTR = "_oncotwin_kept"
T = TypeVar("T")


def kept_on(mesh: dolfinx.mesh.Mesh, name: str, key: Hashable, build: Callable[[], T]) -> T:
    """The object kept on ``mesh`` under ``name`` if it was built from ``key``, else ``build()`` (kept then).

    Args:
        mesh: the mesh the object lives on (it holds the object until replaced or freed).
        name: what is kept (one object per name).
        key: everything the object depends on besides the mesh, compared with ``==``: parameters,
            options, and the tag objects themselves (not their ids, which Python reuses).
        build: makes the object; called on every rank of the mesh or on none (the key must be the same
            on every rank, as it is for inputs read from the case).
    """
    store = mesh.__dict__.setdefault(_ATTR, {})
    kept = store.get(name)
    if kept is not None and kept[0] == key:
        return kept[1]
    store.pop(name, None)  # drop the old object before building the new one
    value = build()
    store[name] = (key, value)
    return value


def options_key(options: dict | None) -> tuple:
    """A comparable form of a PETSc options dictionary (values as strings, keys sorted)."""
    return tuple(sorted((str(k), str(v)) for k, v in (options or {}).items()))
