"""Volume exclusion on a P1 graph: motile cells move only into free space.

Cells of a motile population ``u`` hop between neighbouring nodes only into the space that immobile
occupants (doomed and necrotic cells) leave free, ``f = 1 - w``. For the multi-species simple exclusion
process the net hop rate from node i to j is proportional to ``u_i f_j - u_j f_i``, whose continuum limit
is the cross-diffusion flux ``J = -D [(1 - w) grad u + u grad w]`` (Simpson, Hughes & Landman 2009,
Physica A 388:399). With the P1 stiffness ``K`` of ``-div(D grad)`` as the graph weights, the rate of
change at node i is

.. math::

    (A u)_i = \\sum_{j \\ne i} (-K_{ij}) (u_i f_j - u_j f_i), \\qquad
    A = \\mathrm{diag}(f)\\,K - \\mathrm{diag}(K f)

(``K`` has zero row sums). ``A`` is conservative (its column sums vanish for a symmetric ``K``), its
off-diagonal entries ``f_i K_ij`` are <= 0 where ``K``'s are, and ``A f = 0``: tissue that is full stays
full. ``M + dt A`` with a lumped mass ``M`` is therefore a column-diagonally dominant M-matrix: a
backward-Euler step keeps ``0 <= u <= f`` and conserves the cells exactly. With ``w = 0`` it is plain
Fisher diffusion, ``A = K``.
"""

from __future__ import annotations

from oncotwin.core.fenics import PETSc


def exclusion_step_matrix(K: PETSc.Mat, mass: PETSc.Vec, free: PETSc.Vec | None, dt: float,
                          out: PETSc.Mat) -> PETSc.Mat:
    """Write the backward-Euler matrix ``diag(mass) + dt [diag(f) K - diag(K f)]`` into ``out``.

    Args:
        K: assembled symmetric P1 stiffness of ``-div(D grad)`` (zero row sums: no-flux boundary).
        mass: lumped nodal masses (owned layout of ``K``'s rows).
        free: nodal free-space fraction ``f`` in [0, 1] (None: no obstacles, ``f = 1``).
        dt: step size.
        out: an assembled matrix with ``K``'s sparsity pattern (e.g. ``K.duplicate()``), overwritten.

    Returns:
        ``out``, assembled.
    """
    K.copy(out, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
    if free is None:
        out.scale(dt)
        out.setDiagonal(out.getDiagonal() + mass)
        return out
    flow = K.createVecLeft()
    K.mult(free, flow)
    rows = free.copy()
    rows.scale(dt)
    out.diagonalScale(L=rows)
    diagonal = out.getDiagonal()
    diagonal.axpy(-dt, flow)
    diagonal.axpy(1.0, mass)
    out.setDiagonal(diagonal)
    return out
