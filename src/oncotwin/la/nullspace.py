"""Rigid-body modes of a vector Lagrange space: the near-null space that algebraic multigrid needs.

Smoothed-aggregation AMG (PETSc GAMG) builds its coarse spaces from the vectors that the operator maps
(nearly) to zero. For elasticity these are the rigid motions: translations and infinitesimal rotations
``omega x (x - x_c)``. Without them GAMG sees only the constants per component and converges slowly.
"""

from __future__ import annotations

import numpy as np

from oncotwin.core.fenics import MPI, PETSc, dolfinx


def rigid_body_modes(V: dolfinx.fem.FunctionSpace) -> PETSc.NullSpace:
    """Orthonormal rigid-body modes of a blocked (vector) Lagrange space, as a PETSc near-null space.

    Evaluated at the coordinates of the owned dofs (nodes) about their global centroid: 3 translations
    and 3 rotations in 3D (2 and 1 in 2D), then orthonormalised by modified Gram-Schmidt in the
    Euclidean inner product of the dof vectors (collective over the mesh communicator).

    Args:
        V: vector Lagrange space with block size equal to the geometric dimension.

    Returns:
        The near-null space (attach it with ``Mat.setNearNullSpace``, see :func:`oncotwin.la.petsc.create_ksp`).
    """
    comm = V.mesh.comm
    gdim = V.mesh.geometry.dim
    bs = V.dofmap.index_map_bs
    if bs != gdim:
        raise ValueError(f"rigid_body_modes needs a vector space with block size {gdim}, got {bs}")
    owned = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:owned, :gdim]
    count = comm.allreduce(owned, op=MPI.SUM)
    centroid = comm.allreduce(x.sum(axis=0), op=MPI.SUM) / max(count, 1)
    x = x - centroid

    modes = []
    for i in range(gdim):  # translations
        m = np.zeros((owned, gdim))
        m[:, i] = 1.0
        modes.append(m)
    rotations = [(0, 1)] if gdim == 2 else [(0, 1), (1, 2), (2, 0)]
    for i, j in rotations:  # rotation in the (i, j) plane: u_i = -x_j, u_j = x_i
        m = np.zeros((owned, gdim))
        m[:, i] = -x[:, j]
        m[:, j] = x[:, i]
        modes.append(m)

    vectors = []
    for m in modes:
        vec = PETSc.Vec().createMPI((owned * bs, PETSc.DECIDE), bsize=bs, comm=comm)
        vec.setArray(m.ravel())
        vectors.append(vec)
    _orthonormalise(vectors)
    return PETSc.NullSpace().create(vectors=vectors, comm=comm)


def _orthonormalise(vectors: list[PETSc.Vec]) -> None:
    """Modified Gram-Schmidt in place (collective)."""
    for i, v in enumerate(vectors):
        for w in vectors[:i]:
            v.axpy(-w.dot(v), w)
        norm = v.norm()
        if norm == 0.0:
            raise ValueError("rigid-body modes are linearly dependent (degenerate mesh?)")
        v.scale(1.0 / norm)
