"""oncotwin: a 3D finite-element digital twin of tumour mechanics and transport.

The package follows the simulation pipeline::

    case (user input) -> mesh (images -> tagged tetrahedra) -> physics (UFL forms)
    -> problems (spaces + solvers) -> la (PETSc) -> io (files) -> cli

Importing :mod:`dolfinx_solver` first is required by the DOLFINx wheel (it orders MPI ahead of the
compiled bindings); modules that need DOLFINx import it through :mod:`oncotwin.core.fenics`.
"""

__version__ = "0.1.0"
