"""Linear mammillary 1-, 2- and 3-compartment plasma PK: closed forms, an ODE reference and the AUC.

Model (amounts A in mg, central compartment 1, peripheral compartments j = 2, 3)::

    dA1/dt = -(CL + sum_j Q_j) / V1 * A1 + sum_j Q_j / V_j * A_j + input(t)
    dAj/dt =  Q_j / V1 * A1 - Q_j / V_j * A_j
    oral:    dA0/dt = -ka * A0,  input = ka * A0,  A0 jumps by F * dose

The rate matrix K is similar to a symmetric matrix (``V^(-1/2) K V^(1/2)`` with ``V`` the diagonal of
volumes), so its eigenvalues -alpha_i are real and negative and the central response to a unit amount
is ``sum_i c_i exp(-alpha_i t)`` with ``c_i = U_0i^2`` (U: orthonormal eigenvectors), ``sum c_i = 1``.
Infusions are the time integral of that response, oral doses its convolution with ``ka exp(-ka t)``;
events superpose. Everything is vectorised over the time array.

Units: internal (s, mm^3, mg), so concentrations are mg/mm^3 (what the FEM transport model uses);
the ``*_mg_per_l`` methods of :class:`oncotwin.pk.plasma.PlasmaCurve` report mg/L (= ug/mL):
1 mg/mm^3 = 1e6 mg/L.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.integrate import solve_ivp

from oncotwin.pk.schedule import DoseEvent


@dataclass(frozen=True)
class CompartmentModel:
    """Structural model in internal units.

    Attributes:
        clearance: CL, mm^3/s.
        central_volume: V1, mm^3.
        peripheral: ((Q2, V2), (Q3, V3)) as present, mm^3/s and mm^3.
        absorption_rate: ka, 1/s (oral doses only).
        bioavailability: F of oral doses.
    """

    clearance: float
    central_volume: float
    peripheral: tuple[tuple[float, float], ...] = ()
    absorption_rate: float | None = None
    bioavailability: float = 1.0

    def __post_init__(self):
        values = [self.clearance, self.central_volume] + [x for pair in self.peripheral for x in pair]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError("clearances and volumes must be finite and > 0")
        if len(self.peripheral) > 2:
            raise ValueError("at most 3 compartments are supported")

    @property
    def n_compartments(self) -> int:
        return 1 + len(self.peripheral)

    @cached_property
    def rate_matrix(self) -> np.ndarray:
        """K such that dA/dt = K A (central first), 1/s."""
        n = self.n_compartments
        k = np.zeros((n, n))
        v1 = self.central_volume
        k[0, 0] = -self.clearance / v1
        for j, (q, v) in enumerate(self.peripheral, start=1):
            k[0, 0] -= q / v1
            k[0, j] = q / v
            k[j, 0] = q / v1
            k[j, j] = -q / v
        return k

    @cached_property
    def _modes(self) -> tuple[np.ndarray, np.ndarray]:
        volumes = np.array([self.central_volume] + [v for _, v in self.peripheral])
        scale = np.sqrt(volumes)
        symmetric = self.rate_matrix * scale[np.newaxis, :] / scale[:, np.newaxis]
        symmetric = 0.5 * (symmetric + symmetric.T)
        eigenvalues, vectors = np.linalg.eigh(symmetric)
        return -eigenvalues, vectors[0, :] ** 2

    @property
    def rates(self) -> np.ndarray:
        """Disposition rate constants alpha_i > 0 (1/s)."""
        return self._modes[0]

    @property
    def coefficients(self) -> np.ndarray:
        """Weights c_i of exp(-alpha_i t) in the central amount after a unit bolus (they sum to 1)."""
        return self._modes[1]

    # ------------------------------------------------------------------------------ closed forms
    def concentration(self, t: np.ndarray | float, events: Sequence[DoseEvent]) -> np.ndarray:
        """Plasma (central) concentration, mg/mm^3, at times ``t`` (s) after all ``events``.

        Right-continuous at a bolus: the value at the dose time includes the dose.
        """
        t = np.atleast_1d(np.asarray(t, dtype=float))
        total = np.zeros_like(t)
        for event in events:
            total += self._response(t, event, integrated=False)
        return total / self.central_volume

    def auc(self, t: np.ndarray | float, events: Sequence[DoseEvent]) -> np.ndarray:
        """Cumulative AUC of the plasma concentration from 0 to ``t``, mg*s/mm^3."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        total = np.zeros_like(t)
        for event in events:
            total += self._response(t, event, integrated=True)
        return total / self.central_volume

    def _response(self, t: np.ndarray, event: DoseEvent, *, integrated: bool) -> np.ndarray:
        """Central amount (or its time integral) from one event, mg (mg*s)."""
        alpha, c = self.rates, self.coefficients
        s = np.maximum(t - event.time, 0.0)[:, np.newaxis]
        if event.route == "oral":
            ka = self._require_ka()
            amount = self.bioavailability * event.amount
            if integrated:
                return amount * ka * (_oral_auc(alpha, ka, s) @ c)
            return amount * ka * (_oral_kernel(alpha, ka, s) @ c)
        if event.duration <= 0:
            if integrated:
                return event.amount * (_g(alpha, s) @ c)
            return np.where(t >= event.time, event.amount * (np.exp(-alpha * s) @ c), 0.0)
        rate = event.amount / event.duration
        s_end = np.maximum(t - event.end, 0.0)[:, np.newaxis]
        kernel = _h if integrated else _g
        return rate * ((kernel(alpha, s) - kernel(alpha, s_end)) @ c)

    def _require_ka(self) -> float:
        if self.absorption_rate is None:
            raise ValueError("an oral dose needs an absorption rate (ka) in the drug parameters")
        return self.absorption_rate

    # ------------------------------------------------------------------------------ ODE reference
    def solve_ode(self, t: np.ndarray, events: Sequence[DoseEvent], *, rtol: float = 1e-12,
                  atol_fraction: float = 1e-16, method: str = "DOP853") -> np.ndarray:
        """Reference solution (scipy ``solve_ivp``, tight tolerances) of the same model, for tests.

        Integrates piecewise between event starts/ends so that no discontinuity falls inside a step.

        Returns:
            Plasma concentration at ``t`` (mg/mm^3), right-continuous at boluses like :meth:`concentration`.
        """
        t = np.asarray(t, dtype=float)
        n = self.n_compartments
        k_full = np.zeros((n + 1, n + 1))  # state 0: oral depot
        k_full[1:, 1:] = self.rate_matrix
        if self.absorption_rate is not None:
            k_full[0, 0] = -self.absorption_rate
            k_full[1, 0] = self.absorption_rate
        total_dose = sum(e.amount for e in events) or 1.0
        atol = atol_fraction * total_dose

        t_max = float(t.max(initial=0.0))
        breaks = sorted({0.0, t_max, *(x for e in events for x in (e.time, e.end) if x <= t_max)})
        state = np.zeros(n + 1)
        out = np.full(t.shape, np.nan)
        for a, b in zip(breaks, breaks[1:] + [np.inf], strict=False):
            state = state + self._jumps_at(a, events, n)
            in_segment = (t >= a) & (t < b) if np.isfinite(b) else (t >= a)
            if not np.isfinite(b) and not in_segment.any():
                break
            rate_in = sum((e.rate for e in events if e.duration > 0 and e.time <= a < e.end), 0.0)
            b_eff = b if np.isfinite(b) else float(t[in_segment].max())
            if b_eff > a:
                sol = solve_ivp(lambda _, y, r=rate_in: k_full @ y + np.r_[0.0, r, np.zeros(n - 1)],
                                (a, b_eff), state, method=method, rtol=rtol, atol=atol,
                                dense_output=True)
                if not sol.success:
                    raise RuntimeError(f"ODE reference solve failed: {sol.message}")
                if in_segment.any():
                    out[in_segment] = sol.sol(t[in_segment])[1]
                state = sol.y[:, -1]
            elif in_segment.any():
                out[in_segment] = state[1]
        return out / self.central_volume

    def _jumps_at(self, time: float, events: Sequence[DoseEvent], n: int) -> np.ndarray:
        jump = np.zeros(n + 1)
        for event in events:
            if event.time == time and event.duration <= 0:
                if event.route == "oral":
                    self._require_ka()
                    jump[0] += self.bioavailability * event.amount
                else:
                    jump[1] += event.amount
        return jump


def _g(a: np.ndarray | float, s: np.ndarray) -> np.ndarray:
    """(1 - exp(-a s)) / a, accurate for small a*s (the integral of exp(-a u) over [0, s])."""
    a = np.asarray(a, dtype=float)
    x = a * s
    safe = np.where(np.abs(x) < 1e-8, 1.0, x)
    return np.where(np.abs(x) < 1e-8, s * (1.0 - 0.5 * x), -np.expm1(-safe) / np.where(a == 0, 1.0, a))


def _h(a: np.ndarray | float, s: np.ndarray) -> np.ndarray:
    """(a s - 1 + exp(-a s)) / a^2, the integral of :func:`_g` over [0, s], accurate for small a*s."""
    a = np.asarray(a, dtype=float)
    x = a * s
    small = np.abs(x) < 1e-3
    safe_x = np.where(small, 1.0, x)
    direct = (safe_x + np.expm1(-safe_x)) / safe_x**2
    series = 0.5 - x / 6.0 + x**2 / 24.0 - x**3 / 120.0
    return s**2 * np.where(small, series, direct)


def _oral_kernel(alpha: np.ndarray, ka: float, s: np.ndarray) -> np.ndarray:
    """(exp(-alpha s) - exp(-ka s)) / (ka - alpha), written to avoid overflow and 0/0 at ka = alpha."""
    low = np.minimum(alpha, ka)
    gap = np.abs(ka - alpha)
    return np.exp(-low * s) * _g(gap, s)


def _oral_auc(alpha: np.ndarray, ka: float, s: np.ndarray) -> np.ndarray:
    """Integral of :func:`_oral_kernel` over [0, s]: (g(alpha, s) - g(ka, s)) / (ka - alpha)."""
    gap = ka - alpha
    close = np.abs(gap) <= 1e-6 * np.maximum(ka, alpha)
    terms = (_g(alpha, s) - _g(ka, s)) / np.where(close, 1.0, gap)
    if close.any():  # the divided difference cancels: use its limit
        terms[:, close] = _oral_auc_limit(alpha[close], ka, s)
    return terms


def _oral_auc_limit(alpha: np.ndarray, ka: float, s: np.ndarray) -> np.ndarray:
    """Integral of u exp(-a u) over [0, s] with a = (alpha + ka) / 2: the kernel when ka -> alpha."""
    a = 0.5 * (alpha + ka)
    x = a * s
    small = np.abs(x) < 1e-3
    safe_x = np.where(small, 1.0, x)
    direct = -(np.expm1(-safe_x) + safe_x * np.exp(-safe_x)) / safe_x**2
    series = 0.5 - x / 3.0 + x**2 / 8.0
    return s**2 * np.where(small, series, direct)
