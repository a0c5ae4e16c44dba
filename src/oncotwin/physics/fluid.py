"""Steady interstitial fluid flow: Darcy + Starling transvascular exchange + lymphatic drainage.

.. math::

    -\\nabla\\cdot(K\\nabla p) = L_p\\tfrac{S}{V}\\,(p_v - p - \\sigma_T(\\pi_v - \\pi_i))
                                - L_{pL}\\tfrac{S_L}{V}\\,(p - p_L),
    \\qquad u = -K\\nabla p

(Baxter & Jain, Microvasc. Res. 37:77, 1989; 40:246, 1990). Writing the right-hand side as
``a (p_e - p)`` with ``a = Lp S/V + LpL SL/V`` and the effective pressure
``p_e = (Lp S/V p_eff + LpL SL/V p_L) / a`` shows the structure: a screened Poisson problem whose
screening length ``1/sqrt(a/K)`` is the width of the pressure drop at the tumour rim.
"""

from __future__ import annotations

from dataclasses import dataclass

import ufl


def effective_vascular_pressure(vascular_pressure, reflection, plasma_oncotic, interstitial_oncotic):
    """Starling's effective vascular pressure ``p_v - sigma_T (pi_v - pi_i)`` [mmHg] (UFL or floats)."""
    return vascular_pressure - reflection * (plasma_oncotic - interstitial_oncotic)


@dataclass(frozen=True)
class FarField:
    """Robin boundary term: outward flux ``h (p - p_far)`` on the measure ``ds``."""

    ds: ufl.Measure
    conductance: ufl.core.expr.Expr
    far_pressure: ufl.core.expr.Expr


@dataclass(frozen=True)
class StarlingDarcy:
    """Coefficients of the steady fluid problem (UFL expressions, usually cell-wise constants).

    Attributes:
        conductivity: hydraulic conductivity K [mm^2/(mmHg s)].
        vascular_filtration: Lp S/V [1/(mmHg s)], already scaled by any vascular treatment.
        effective_vascular_pressure: p_v - sigma_T (pi_v - pi_i) [mmHg].
        lymphatic_filtration: LpL SL/V [1/(mmHg s)].
        lymphatic_pressure: p_L [mmHg].
    """

    conductivity: ufl.core.expr.Expr
    vascular_filtration: ufl.core.expr.Expr
    effective_vascular_pressure: ufl.core.expr.Expr
    lymphatic_filtration: ufl.core.expr.Expr
    lymphatic_pressure: ufl.core.expr.Expr

    def source(self, p: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Net fluid source (transvascular gain minus lymphatic loss) [1/s]."""
        return (self.vascular_filtration * (self.effective_vascular_pressure - p)
                - self.lymphatic_filtration * (p - self.lymphatic_pressure))

    def filtration(self, p: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Transvascular fluid filtration J_f = Lp S/V (p_v - p - sigma_T (pi_v - pi_i)) [1/s]."""
        return self.vascular_filtration * (self.effective_vascular_pressure - p)

    def lymphatic_drainage_rate(self, p: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Lymphatic drainage per unit volume and unit interstitial concentration [1/s] (no backflow)."""
        return self.lymphatic_filtration * ufl.max_value(p - self.lymphatic_pressure, 0.0)

    def flux(self, p: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Darcy flux (interstitial velocity times porosity) u = -K grad p [mm/s]."""
        return -self.conductivity * ufl.grad(p)

    def forms(self, p: ufl.Argument, q: ufl.Argument, dx: ufl.Measure,
              far_fields: tuple[FarField, ...] = (), extra_source: ufl.core.expr.Expr | None = None,
              dx_exchange: ufl.Measure | None = None):
        """Bilinear and linear forms of the weak problem (no-flux is the natural condition).

        Args:
            p: trial function.
            q: test function.
            dx: cell measure.
            far_fields: Robin terms.
            extra_source: an additional volumetric source [1/s] (e.g. a manufactured solution).
            dx_exchange: measure of the vascular/lymphatic exchange terms; a vertex quadrature here
                lumps them (P1), which keeps the discrete maximum principle on under-resolved rims.
        """
        dxe = dx if dx_exchange is None else dx_exchange
        sink = self.vascular_filtration + self.lymphatic_filtration
        a = ufl.inner(self.conductivity * ufl.grad(p), ufl.grad(q)) * dx + sink * p * q * dxe
        rhs = (self.vascular_filtration * self.effective_vascular_pressure
               + self.lymphatic_filtration * self.lymphatic_pressure)
        L = rhs * q * dxe
        if extra_source is not None:
            L += extra_source * q * dx
        for bc in far_fields:
            a += bc.conductance * p * q * bc.ds
            L += bc.conductance * bc.far_pressure * q * bc.ds
        return a, L
