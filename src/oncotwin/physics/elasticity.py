"""Small-strain linear elasticity with an isotropic growth eigenstrain (tumour mass effect).

.. math::

    -\\nabla\\cdot\\sigma = f, \\qquad
    \\sigma = \\lambda\\,\\mathrm{tr}(\\varepsilon - \\varepsilon_g) I + 2\\mu(\\varepsilon - \\varepsilon_g),
    \\qquad \\varepsilon = \\tfrac12(\\nabla u + \\nabla u^T), \\qquad \\varepsilon_g = g\\,I,

where the growth eigenstrain ``g = beta N`` is proportional to the tumour cell density ``N`` (fraction of
the carrying capacity), as in the mechanically coupled reaction-diffusion models of Hormuth, Weis,
Yankeelov et al. (Phys. Biol. 15:046006, 2018; J. R. Soc. Interface 14:20161010, 2017). With an
isotropic eigenstrain the stress is the elastic stress minus a pressure ``(3 lambda + 2 mu) g = 3 K g``
(K the bulk modulus): growth acts as a load ``3 K g div v`` in the weak form.
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


def lame_parameters(young, poisson):
    """Lame's ``(lambda, mu)`` from Young's modulus and Poisson's ratio (UFL or floats)."""
    mu = young / (2 * (1 + poisson))
    lmbda = young * poisson / ((1 + poisson) * (1 - 2 * poisson))
    return lmbda, mu


def strain(u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """Small (linearised) strain tensor ``sym(grad u)``."""
    return ufl.sym(ufl.grad(u))


@dataclass(frozen=True)
class GrowthElasticity:
    """Isotropic linear elastic tissue loaded by an isotropic growth eigenstrain (UFL expressions).

    Attributes:
        young: Young's modulus E [mmHg] (usually cell-wise constant).
        poisson: Poisson's ratio nu [-], below 0.5.
        growth_strain: scalar isotropic eigenstrain g [-], e.g. ``beta * N``; the eigenstrain tensor is
            ``g I``.
    """

    young: ufl.core.expr.Expr
    poisson: ufl.core.expr.Expr
    growth_strain: ufl.core.expr.Expr

    def lame(self) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr]:
        """Lame's first parameter lambda and the shear modulus mu [mmHg]."""
        return lame_parameters(self.young, self.poisson)

    def bulk_modulus(self) -> ufl.core.expr.Expr:
        """Bulk modulus ``K = lambda + 2 mu / 3`` [mmHg]."""
        lmbda, mu = self.lame()
        return lmbda + 2 * mu / 3

    def strain(self, u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Total small strain ``sym(grad u)``."""
        return strain(u)

    def eigenstrain(self, dim: int) -> ufl.core.expr.Expr:
        """Growth eigenstrain tensor ``g I`` in ``dim`` dimensions."""
        return self.growth_strain * ufl.Identity(dim)

    def elastic_stress(self, u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Stress of the total strain alone (no eigenstrain): the part that is linear in ``u``."""
        lmbda, mu = self.lame()
        eps = strain(u)
        return lmbda * ufl.tr(eps) * ufl.Identity(len(u)) + 2 * mu * eps

    def stress(self, u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Cauchy stress ``lambda tr(eps - eps_g) I + 2 mu (eps - eps_g)`` [mmHg]."""
        return self.elastic_stress(u) - 3 * self.bulk_modulus() * self.growth_strain * ufl.Identity(len(u))

    def von_mises(self, u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Von Mises equivalent stress ``sqrt(3/2 s:s)`` of the deviatoric stress ``s`` [mmHg].

        The eigenstrain is isotropic, so it drops out of the deviator: ``s = 2 mu dev(eps)``.
        """
        _, mu = self.lame()
        s = 2 * mu * ufl.dev(strain(u))
        return ufl.sqrt(1.5 * ufl.inner(s, s))

    def forms(self, u: ufl.Argument, v: ufl.Argument, dx: ufl.Measure,
              body_force: ufl.core.expr.Expr | None = None):
        """Bilinear and linear forms (zero traction is the natural boundary condition).

        Args:
            u: trial function (vector).
            v: test function (vector).
            dx: cell measure.
            body_force: optional body force per unit volume [mmHg/mm] (e.g. a manufactured solution).
        """
        a = ufl.inner(self.elastic_stress(u), strain(v)) * dx
        L = 3 * self.bulk_modulus() * self.growth_strain * ufl.div(v) * dx
        if body_force is not None:
            L += ufl.inner(body_force, v) * dx
        return a, L
