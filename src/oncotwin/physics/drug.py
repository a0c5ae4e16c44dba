"""Drug transport in tissue: convection-diffusion-reaction fed by the plasma concentration.

.. math::

    \\partial_t c + \\nabla\\cdot(u c) - \\nabla\\cdot(D\\nabla c)
        = J_s - J_L - k c,

with the interstitial velocity ``u = -K grad p`` of the fluid problem, transvascular solute exchange by
Kedem-Katchalsky with Patlak's Peclet correction (Baxter & Jain 1989, eq. 7)

.. math::

    J_s = J_f (1 - \\sigma_f) c_p + P\\tfrac{S}{V} (c_p - c)\\,\\frac{Pe}{e^{Pe} - 1},
    \\qquad Pe = \\frac{J_f (1 - \\sigma_f)}{P S/V},

where ``J_f = Lp S/V (p_v - p - sigma_T (pi_v - pi_i))`` is the fluid filtration per unit volume [1/s],
``c_p`` the unbound plasma concentration, lymphatic removal ``J_L = LpL SL/V max(p - p_L, 0) c`` and
first-order decay/uptake ``k c``. With a steady pressure every coefficient is constant in time and the
equation is linear in ``c``: ``J_s - J_L - k c = c_p(t) * gain - loss * c``. The problem class exploits
this (one matrix per time-step size, a source vector scaled by ``c_p(t)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


def patlak_factor(peclet: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """``Pe / (e^Pe - 1)``, evaluated stably near ``Pe = 0`` (series ``1 - Pe/2 + Pe^2/12``)."""
    small = ufl.lt(abs(peclet), 1e-4)
    safe = ufl.conditional(small, 1.0, peclet)
    return ufl.conditional(small, 1.0 - peclet / 2 + peclet**2 / 12, safe / (ufl.exp(safe) - 1.0))


@dataclass(frozen=True)
class VascularExchange:
    """Kedem-Katchalsky-Patlak exchange written as ``J_s = gain * c_p - uptake * c``.

    A blood-brain barrier with efflux transporters lets less drug in than out: the influx is multiplied by
    ``penetration`` = Kp,uu, the steady-state unbound tissue / unbound plasma ratio (Hammarlund-Udenaes M
    et al., Pharm Res 2008;25:1737), and the back-diffusion is not. Without a barrier (``None``) the
    exchange is symmetric.

    Attributes:
        filtration: fluid filtration J_f [1/s] (from the pressure; may be negative: reabsorption).
        permeability_surface: P S/V [1/s].
        reflection: solute reflection coefficient sigma_f [-].
        penetration: Kp,uu in [0, 1] per point, or ``None`` (no barrier).
    """

    filtration: ufl.core.expr.Expr
    permeability_surface: ufl.core.expr.Expr
    reflection: ufl.core.expr.Expr
    penetration: ufl.core.expr.Expr | None = None

    def _diffusive(self) -> ufl.core.expr.Expr:
        convective = self.filtration * (1 - self.reflection)
        ps = self.permeability_surface
        positive = ufl.gt(ps, 0.0)
        peclet = ufl.conditional(positive, convective / ufl.conditional(positive, ps, 1.0), 0.0)
        return ps * patlak_factor(peclet)

    @property
    def gain(self) -> ufl.core.expr.Expr:
        """Coefficient of the plasma concentration [1/s]."""
        gain = self.filtration * (1 - self.reflection) + self._diffusive()
        return gain if self.penetration is None else self.penetration * gain

    @property
    def uptake(self) -> ufl.core.expr.Expr:
        """Coefficient of the tissue concentration (back-diffusion into vessels) [1/s]."""
        return self._diffusive()


@dataclass(frozen=True)
class DrugTransport:
    """Coefficients of the tissue transport equation (UFL expressions).

    Attributes:
        diffusivity: D [mm^2/s].
        velocity: interstitial velocity u [mm/s] (a vector expression, e.g. the recovered Darcy flux).
        exchange: vascular exchange.
        lymphatic_rate: LpL SL/V max(p - p_L, 0) [1/s].
        decay: first-order degradation / cellular uptake k [1/s].
    """

    diffusivity: ufl.core.expr.Expr
    velocity: ufl.core.expr.Expr
    exchange: VascularExchange
    lymphatic_rate: ufl.core.expr.Expr
    decay: ufl.core.expr.Expr

    @property
    def loss(self) -> ufl.core.expr.Expr:
        """Total first-order loss rate (vessel back-diffusion + lymphatics + decay) [1/s]."""
        return self.exchange.uptake + self.lymphatic_rate + self.decay

    def operator(self, c, q, dx, ds, dx_reaction=None) -> ufl.Form:
        """Spatial operator (bilinear): diffusion, conservative convection with free outflow, losses.

        ``dx_reaction`` (default ``dx``) integrates the loss term; a vertex quadrature lumps it.
        """
        dxr = dx if dx_reaction is None else dx_reaction
        u, n = self.velocity, ufl.FacetNormal(ufl.domain.extract_unique_domain(c))
        outflow = ufl.max_value(ufl.dot(u, n), 0.0)
        return (ufl.inner(self.diffusivity * ufl.grad(c), ufl.grad(q)) * dx
                - c * ufl.dot(u, ufl.grad(q)) * dx
                + outflow * c * q * ds
                + self.loss * c * q * dxr)

    def supg_tau(self, mesh, dt=None) -> ufl.core.expr.Expr:
        """Stabilisation parameter (Tezduyar): ``(4/dt^2 + (2|u|/h)^2 + 9 (4D/h^2)^2 + loss^2)^(-1/2)``.

        ``dt`` = None gives the steady parameter.
        """
        h = ufl.CellDiameter(mesh)
        u = self.velocity
        speed = ufl.sqrt(ufl.dot(u, u) + 1e-30)
        inv_tau2 = (2 * speed / h) ** 2 + 9 * (4 * self.diffusivity / h**2) ** 2 + self.loss**2
        if dt is not None:
            inv_tau2 += (2 / dt) ** 2
        return 1 / ufl.sqrt(inv_tau2)

    def supg_test(self, q, mesh, dt=None) -> ufl.core.expr.Expr:
        """The SUPG weighting ``tau u . grad q`` of the strong residual."""
        return self.supg_tau(mesh, dt) * ufl.dot(self.velocity, ufl.grad(q))

    def supg(self, c, q, dx, dt=None) -> ufl.Form:
        """Streamline-upwind Petrov-Galerkin terms of the backward-Euler operator (bilinear part).

        The strong residual of the (linear, P1) equation is ``c/dt + div(u c) + loss c - rhs``; the
        diffusion term vanishes element-wise for P1. The matching right-hand-side terms (``c_old/dt`` and
        sources) are weighted with :meth:`supg_test` by the problem.
        """
        mesh = ufl.domain.extract_unique_domain(c)
        residual = ufl.div(self.velocity * c) + self.loss * c
        if dt is not None:
            residual += c / dt
        return self.supg_test(q, mesh, dt) * residual * dx
