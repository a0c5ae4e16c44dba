"""Effector T-cell transport in tissue: extravasation from the vasculature, random motility and death.

.. math::

    \\partial_t E - \\nabla\\cdot(D\\nabla E) + d\\,E = r_x\\, v(x),

with ``E`` the effector density [cells/mm^3], ``D`` the random motility [mm^2/s], ``d`` the death rate
[1/s] (Kuznetsov et al. 1994) and ``r_x v`` the extravasation: a patient-level recruitment rate ``r_x``
[cells/(mm^3 s)] scaled by the local vessel density ``v`` (relative, dimensionless), so no effectors enter
where there are no vessels. Zero flux on the boundary: the balance of the field is exactly
``d/dt int E = int r_x v - d int E``. The tumour interaction (stimulation, inactivation, kill) is applied
at the nodes by :mod:`oncotwin.kinetics.immune` (operator splitting).
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


@dataclass(frozen=True)
class TCellTransport:
    """Coefficients of the effector transport equation (UFL expressions or numbers).

    Attributes:
        diffusivity: D [mm^2/s].
        death: d [1/s].
        extravasation: r_x v [cells/(mm^3 s)].
    """

    diffusivity: ufl.core.expr.Expr | float
    death: ufl.core.expr.Expr | float
    extravasation: ufl.core.expr.Expr | float

    def operator(self, e, q, dx: ufl.Measure, dx_reaction: ufl.Measure) -> ufl.Form:
        """Bilinear form of diffusion and death (the reaction on ``dx_reaction``, lumped for P1)."""
        return self.diffusivity * ufl.inner(ufl.grad(e), ufl.grad(q)) * dx + self.death * e * q * dx_reaction

    def source(self, q, dx: ufl.Measure) -> ufl.Form:
        """Linear form of the extravasation."""
        return self.extravasation * q * dx
