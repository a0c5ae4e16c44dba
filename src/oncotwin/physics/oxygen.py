"""Quasi-steady oxygen reaction-diffusion: vascular supply and Michaelis-Menten consumption.

.. math::

    -\\nabla\\cdot(D\\nabla c) = S_v\\,(c_v - c)
        - (V_{tissue} + V_{tumour} N)\\,\\frac{c}{K_m + c},

with the oxygen partial pressure ``c`` [mmHg] as the unknown (concentrations divided by the solubility,
so every rate is in mmHg/s), the region-wise diffusivity ``D`` [mm^2/s], the vascular transfer rate
``S_v`` [1/s] (already multiplied by any anti-angiogenic scaling), the vascular pO2 ``c_v`` [mmHg], the
consumption at saturation of the normal tissue ``V_tissue`` and of tumour cells at full density
``V_tumour`` [mmHg/s], the tumour cell density fraction ``N`` [-] and the half-saturation pressure
``K_m`` [mmHg] (e.g. Grimes, Fletcher & Partridge, R. Soc. Open Sci. 1:140080, 2014).

For ``c < 0`` the Michaelis-Menten factor is continued by its tangent at 0, ``c / K_m``: the consumption
is then concave, C^1, increasing and free of the pole at ``c = -K_m``. With lumped (vertex-quadrature)
reaction terms the Jacobian is an M-matrix (on non-obtuse meshes) and Newton's method converges
monotonically from any initial guess (after the first step the iterates increase towards the solution);
the discrete solution obeys ``0 <= c <= max(c_v, Dirichlet data)``.

Vessel co-option and regression (optional, :class:`VesselRegression`): the tumour first co-opts the host
vessels, which then regress where it is dense (Holash et al., Science 284:1994, 1999; Gevertz & Torquato,
J. Theor. Biol. 243:517, 2006; compression by the cells: Padera et al., Nature 427:695, 2004). The supply
becomes ``S_v r(n)`` with the surviving vessel fraction

.. math::

    r(n) = 1 - (1 - r_{min})\\,\\min\\Big(1, \\max\\Big(0, \\frac{n - n_c}{1 - n_c}\\Big)\\Big),

intact (``r = 1``) up to the onset density ``n_c`` and falling linearly to the residual fraction
``r_min`` at full occupancy ``n = 1``; ``n`` is the highest density of cells (viable and doomed) reached
so far (:class:`oncotwin.model.tumour.TumourModel`): a necrotic core is avascular through its region's
supply, and necrosis that forms later forms where the cells had already regressed the vessels.
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


def michaelis_menten(c: ufl.core.expr.Expr, half_saturation: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """Saturation factor ``c / (K_m + c)`` for ``c >= 0``, continued by its tangent ``c / K_m`` below 0."""
    return ufl.conditional(ufl.ge(c, 0.0), c / (half_saturation + c), c / half_saturation)


@dataclass(frozen=True)
class VesselRegression:
    """Surviving fraction of the vessels as the tumour occupancy rises (co-option, then regression).

    Attributes:
        onset_density: occupancy ``n_c`` [-] up to which the co-opted vessels are intact (0 <= n_c < 1).
        residual_fraction: surviving fraction ``r_min`` [-] at full occupancy ``n >= 1`` (0 <= r_min <= 1).
    """

    onset_density: float
    residual_fraction: float

    def __post_init__(self):
        if not 0.0 <= self.onset_density < 1.0:
            raise ValueError(f"vessel regression: onset_density must be in [0, 1), got {self.onset_density}")
        if not 0.0 <= self.residual_fraction <= 1.0:
            raise ValueError(f"vessel regression: residual_fraction must be in [0, 1], got {self.residual_fraction}")

    def factor(self, occupancy: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """``r(n)``: 1 below the onset, linear down to ``r_min`` at ``n = 1``, ``r_min`` above."""
        progress = (occupancy - self.onset_density) / (1.0 - self.onset_density)
        return 1.0 - (1.0 - self.residual_fraction) * ufl.min_value(ufl.max_value(progress, 0.0), 1.0)


@dataclass(frozen=True)
class OxygenTransport:
    """Coefficients of the oxygen problem (UFL expressions, region-wise constants or P1 fields).

    Attributes:
        diffusivity: D [mm^2/s].
        supply_rate: vascular oxygen transfer rate per volume S_v [1/s] (including vascular scaling).
        vascular_po2: c_v [mmHg].
        tissue_consumption: V_max of the normal tissue [mmHg/s] (independent of the tumour density).
        tumour_consumption: V_max of tumour cells at full density [mmHg/s].
        half_saturation: K_m [mmHg] (> 0).
        density: tumour cell density fraction N [-] (P1 function or expression).
    """

    diffusivity: ufl.core.expr.Expr
    supply_rate: ufl.core.expr.Expr
    vascular_po2: ufl.core.expr.Expr
    tissue_consumption: ufl.core.expr.Expr
    tumour_consumption: ufl.core.expr.Expr
    half_saturation: ufl.core.expr.Expr
    density: ufl.core.expr.Expr

    @property
    def max_consumption(self) -> ufl.core.expr.Expr:
        """Consumption rate at saturation ``V_tissue + V_tumour N`` [mmHg/s]."""
        return self.tissue_consumption + self.tumour_consumption * self.density

    def consumption(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Oxygen consumption ``(V_tissue + V_tumour N) c / (K_m + c)`` [mmHg/s]."""
        return self.max_consumption * michaelis_menten(c, self.half_saturation)

    def supply(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Vascular supply ``S_v (c_v - c)`` [mmHg/s]."""
        return self.supply_rate * (self.vascular_po2 - c)

    def flux(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Diffusive flux ``-D grad c`` [mmHg mm/s]."""
        return -self.diffusivity * ufl.grad(c)

    def residual(self, c: ufl.core.expr.Expr, q: ufl.Argument, dx: ufl.Measure,
                 dx_reaction: ufl.Measure | None = None) -> ufl.Form:
        """Weak residual ``F(c; q)`` (no-flux is the natural boundary condition).

        Args:
            c: the pO2 (a Function for Newton's method).
            q: test function.
            dx: cell measure of the diffusion term.
            dx_reaction: measure of the supply and consumption terms (default ``dx``); a vertex
                quadrature lumps them (P1), which keeps the discrete maximum principle.
        """
        dxr = dx if dx_reaction is None else dx_reaction
        return ufl.inner(self.diffusivity * ufl.grad(c), ufl.grad(q)) * dx + self.reaction(c) * q * dxr

    def reaction(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Net sink ``consumption - supply`` [mmHg/s] (the only nonlinear, non-differential term)."""
        return self.consumption(c) - self.supply(c)
