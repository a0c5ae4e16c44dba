"""Single import point for the FEniCSx stack.

``dolfinx_solver`` must be imported before ``dolfinx`` and ``petsc4py`` (it loads ``mpi4py.MPI`` first
and guards against a foreign petsc4py). Every module that needs DOLFINx imports it from here, so the
allocator policy of :mod:`oncotwin.core.memory` is set here too, before the stack allocates anything.
"""
# ruff: noqa: I001  (the import order is the point of this module)

import dolfinx_solver  # noqa: F401  (must precede dolfinx/petsc4py)

from oncotwin.core.memory import retain_freed_memory  # noqa: E402

retain_freed_memory()

import dolfinx  # noqa: E402
import dolfinx.fem  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import dolfinx.io  # noqa: E402
import dolfinx.io.gmsh  # noqa: E402
import dolfinx.mesh  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

__all__ = ["MPI", "PETSc", "dolfinx", "ufl"]
