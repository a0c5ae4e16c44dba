"""Tumour cell invasion: the diffusion part of the reaction-diffusion growth model.

.. math::

    \\partial_t N = \\nabla\\cdot(D\\nabla N) + R(N, p, \\ldots), \\qquad D = D_0\\,e^{-\\gamma\\,\\sigma_{vm}}

(Fisher-Kolmogorov with the mechanical coupling of Hormuth, Weis, Yankeelov et al., e.g.
Hormuth et al., J. R. Soc. Interface 15:20180013, 2018). ``D_0`` is tissue-dependent (white matter
faster than grey, zero in CSF); the von Mises stress of the mass effect slows invasion. The reaction
``R`` (proliferation, death, treatment) is pointwise and integrated separately
(:mod:`oncotwin.kinetics.response`) by operator splitting, so the diffusion operator here is linear and
its matrix changes only when the step size or the stress changes.

With volume exclusion (:mod:`oncotwin.la.exclusion`) the viable cells move only into the space that
doomed and necrotic cells leave free, ``J = -D [(1 - w) grad N + N grad w]`` (Simpson, Hughes & Landman
2009, Physica A 388:399): a growing rim does not drain into a full necrotic core. The stiffness below is
then the graph whose weights that exclusion step uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


@dataclass(frozen=True)
class CellInvasion:
    """Coefficients of the invasion (diffusion) operator.

    Attributes:
        diffusivity: D_0 [mm^2/s], usually region-wise constant.
        stress: von Mises stress [mmHg] (or None: no mechanical coupling).
        stress_coupling: gamma [1/mmHg].
    """

    diffusivity: ufl.core.expr.Expr
    stress: ufl.core.expr.Expr | None = None
    stress_coupling: ufl.core.expr.Expr | float = 0.0

    def effective_diffusivity(self) -> ufl.core.expr.Expr:
        """D = D_0 exp(-gamma sigma_vm)."""
        if self.stress is None:
            return self.diffusivity
        return self.diffusivity * ufl.exp(-self.stress_coupling * self.stress)

    def stiffness_form(self, n: ufl.Argument, v: ufl.Argument, dx: ufl.Measure):
        """Stiffness of ``-div(D grad n)`` with no flux through the boundary."""
        return ufl.inner(self.effective_diffusivity() * ufl.grad(n), ufl.grad(v)) * dx

    def step_forms(self, n: ufl.Argument, v: ufl.Argument, n_old: ufl.core.expr.Expr, dt: ufl.core.expr.Expr,
                   dx: ufl.Measure, dx_mass: ufl.Measure | None = None):
        """Backward-Euler diffusion step ``(n - n_old)/dt = div(D grad n)``, no flux through the boundary.

        Args:
            n: trial function.
            v: test function.
            n_old: density before the step.
            dt: step size [s].
            dx: cell measure.
            dx_mass: measure of the mass terms; a vertex quadrature lumps them (P1), which with the
                diffusion term gives an M-matrix on non-obtuse meshes: densities stay in [0, 1].
        """
        dxm = dx if dx_mass is None else dx_mass
        a = n * v * dxm + dt * self.stiffness_form(n, v, dx)
        return a, n_old * v * dxm
