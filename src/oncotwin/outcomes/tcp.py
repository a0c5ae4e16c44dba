"""Poisson tumour control probability from the surviving clonogens.

TCP = exp(-N_s), with N_s the expected number of clonogens that survive the course (Munro TR, Gilbert CW,
Br J Radiol 1961;34:246; Webb S, Nahum AE, Phys Med Biol 1993;38:653). For a dose per point and the
linear-quadratic model with n equal fractions, N_s = sum_i rho_i w_i exp(-n (alpha d_i + beta d_i^2)),
d_i = D_i / n; the tumour model supplies N_s directly when it tracks the clonogens.
"""

from __future__ import annotations

import numpy as np


def tcp_from_survivors(surviving_clonogens: np.ndarray | float) -> np.ndarray:
    """TCP = exp(-N_s) (vectorised over an ensemble of N_s)."""
    survivors = np.asarray(surviving_clonogens, dtype=float)
    if np.any(survivors < 0):
        raise ValueError("the number of surviving clonogens must be >= 0")
    return np.exp(-survivors)


def surviving_clonogens(dose: np.ndarray, weights: np.ndarray, density_per_mm3: float | np.ndarray,
                        n_fractions: int, alpha: float, alpha_beta: float) -> float:
    """Expected survivors of an LQ course: sum rho w exp(-n (alpha d + beta d^2)), d = D / n.

    Args:
        dose: total dose per point [Gy].
        weights: volume per point [mm^3].
        density_per_mm3: clonogen density (scalar or per point).
        n_fractions: number of equal fractions.
        alpha: LQ alpha [1/Gy].
        alpha_beta: alpha/beta [Gy].
    """
    dose, weights = np.asarray(dose, dtype=float), np.asarray(weights, dtype=float)
    d = dose / n_fractions
    log_sf = -n_fractions * (alpha * d + alpha / alpha_beta * d * d)
    return float(np.sum(np.asarray(density_per_mm3) * weights * np.exp(log_sf)))
