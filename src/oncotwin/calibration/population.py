"""Hierarchical (population) estimate from per-patient Laplace fits: a two-stage empirical-Bayes model.

Model: patient ``i``'s log-parameters ``theta_i ~ N(mu, Omega)`` (population mean ``mu``, between-patient
covariance ``Omega``, diagonal), and its data give a likelihood of ``theta_i``. Every patient is fitted
once on its own (Levenberg-Marquardt with a weak individual prior ``N(mu0, P0^-1)``, Laplace posterior
``N(x_i, C_i)``). Dividing the individual prior out of that Gaussian gives the Laplace approximation of
the patient's likelihood in information form: precision ``L_i = C_i^-1 - P0`` and ``b_i = C_i^-1 x_i -
P0 mu0``, so ``-log p(data_i | theta) = 1/2 theta^T L_i theta - b_i^T theta + const``.

``mu`` and ``Omega`` then maximise the marginal likelihood of all patients, by expectation-maximisation
(the global two-stage method of Steimer et al., Drug Metab. Rev. 15:265, 1984; Davidian & Giltinan,
"Nonlinear models for repeated measurement data", 1995, ch. 5). Each EM step is closed form:

* E: random effects ``S_i = (L_i + Omega^-1)^-1``, ``m_i = S_i (b_i + Omega^-1 mu)`` (each patient's
  estimate shrunk towards the population);
* M: ``mu = (N Omega^-1 + P0)^-1 (Omega^-1 sum_i m_i + P0 mu0)`` (the individual prior doubles as a weak
  hyperprior of ``mu``: with a few patients and a weak ``P0`` this is the mean of the ``m_i``), and
  ``Omega = diag(mean_i [(m_i - mu)^2 + diag S_i])``.

No further forward run is needed: the cost is one individual calibration per patient (about 10-30
forward runs each), against a joint hierarchical fit that would need the Jacobians of all patients at
every outer step. The approximation is that of the Laplace posterior (exact for a model linear in the
log-parameters). EM starts at the individual prior (``mu0``, ``P0^-1``), so that a parameter the data do
not inform keeps it: such a parameter is reported as not informed.

The uncertainty of ``mu`` is ``Cov(mu) = (sum_i (Omega + L_i^-1)^-1 + P0)^-1`` (Woodbury form, no inverse
of a possibly singular ``L_i``). A new patient's prior is the population predictive distribution
``N(mu, Omega + Cov(mu))``: its log sd combines the between-patient spread and the uncertainty of the
median. For a parameter the data do not inform it is the individual prior.

Covariates (optional): a parameter ``k`` may depend on one patient covariate ``c`` through the power model
of population pharmacometrics, ``median_k(c) = exp(mu_k) (c / c_ref)^beta_k``, i.e. ``theta_ik = mu_k +
beta_k z_i + eta_ik`` with ``z_i = log(c_i / c_ref)`` (Mould & Upton 2013, CPT Pharmacometrics Syst.
Pharmacol. 2:e38, covariate models: a continuous covariate as a power of its value over a reference;
the same form as the weight and eGFR effects of :mod:`oncotwin.pk.antibodies`). With the coefficients
``gamma = (mu, beta)`` and a patient's design matrix ``X_i = [I | e_k z_i]`` the EM steps above keep
their form: ``m_i = S_i (b_i + Omega^-1 X_i gamma)``,
``gamma = (sum_i X_i^T Omega^-1 X_i + H)^-1 (sum_i X_i^T Omega^-1 m_i + H gamma_0)`` and ``Omega`` from the
residuals ``m_i - X_i gamma``; ``H`` is ``P0`` on ``mu`` and :data:`SLOPE_PRECISION` on ``beta`` (flat in
practice, about 0). ``Cov(gamma) = (sum_i X_i^T (Omega^-1 - Omega^-1 S_i Omega^-1) X_i + H)^-1``, and a new
patient with ``z`` has the predictive log sd ``sqrt(omega_k + x_k^T Cov(gamma) x_k)``, ``x_k = (e_k, z e_k)``.
Without covariates everything reduces to the model above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_LOG_SD = 0.02
"""Floor of the between-patient log sd (2 %): keeps ``Omega`` invertible when the patients agree."""

SLOPE_PRECISION = 1e-2
"""Hyperprior precision of a covariate exponent about 0 (sd 10: flat in practice, keeps the M-step defined)."""


@dataclass
class Individual:
    """One patient's Laplace fit: posterior mean and covariance, and the individual prior it used."""

    mean: np.ndarray
    covariance: np.ndarray
    prior_mean: np.ndarray
    prior_precision: np.ndarray

    def likelihood(self) -> tuple[np.ndarray, np.ndarray]:
        """The Laplace likelihood in information form ``(L, b)``; ``L`` projected onto the PSD matrices."""
        posterior_precision = np.linalg.inv(self.covariance)
        posterior_precision = 0.5 * (posterior_precision + posterior_precision.T)
        L = posterior_precision - self.prior_precision
        w, V = np.linalg.eigh(0.5 * (L + L.T))
        L = (V * np.clip(w, 0.0, None)) @ V.T  # a flat direction cannot have negative information
        b = posterior_precision @ self.mean - self.prior_precision @ self.prior_mean
        return L, b


@dataclass
class Population:
    """The hierarchical estimate (log-parameters).

    Attributes:
        mean: population mean ``mu``.
        spread: between-patient log sd (sqrt of the diagonal of ``Omega``).
        mean_covariance: covariance of ``mu``.
        effects: per patient, the random-effect mean ``m_i`` (shrunk estimate).
        effect_covariances: per patient, ``S_i``.
        informed: per parameter, whether the patients' data carry more information than one individual prior.
        iterations: EM iterations used.
        converged: whether EM met its tolerance.
        slopes: per parameter, the covariate exponent ``beta`` (0 without a covariate).
        with_covariate: per parameter, whether it has a covariate.
        coefficient_covariance: covariance of ``(mu, beta of the parameters with a covariate)``.
    """

    mean: np.ndarray
    spread: np.ndarray
    mean_covariance: np.ndarray
    effects: list[np.ndarray]
    effect_covariances: list[np.ndarray]
    informed: list[bool]
    iterations: int
    converged: bool
    slopes: np.ndarray | None = None
    with_covariate: np.ndarray | None = None
    coefficient_covariance: np.ndarray | None = None

    def slope_moments(self, k: int) -> tuple[float, float, float]:
        """Parameter ``k``'s covariate exponent, its sd and its correlation with ``mu_k`` (0, 0, 0 without one)."""
        if self.with_covariate is None or not self.with_covariate[k]:
            return 0.0, 0.0, 0.0
        j = len(self.mean) + int(np.count_nonzero(self.with_covariate[:k]))
        C = self.coefficient_covariance
        sd = math.sqrt(C[j, j])
        return float(self.slopes[k]), sd, float(C[k, j] / math.sqrt(C[k, k] * C[j, j]))

    @property
    def predictive_log_sd(self) -> np.ndarray:
        """Log sd of a new patient's parameters: between-patient spread and uncertainty of the mean."""
        return np.sqrt(self.spread ** 2 + np.diag(self.mean_covariance))

    def predictive(self, prior_mean: np.ndarray, prior_precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new patient's prior (log median, log sd); the individual prior where the data do not inform."""
        informed = np.array(self.informed)
        mean = np.where(informed, self.mean, prior_mean)
        sd = np.where(informed, self.predictive_log_sd, 1.0 / np.sqrt(np.diag(prior_precision)))
        return mean, sd


def _designs(n: int, p: int, covariates: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Per patient the design matrix ``X_i`` (``p`` x ``p + q``), and which parameters have a covariate."""
    if covariates is None:
        return [np.eye(p)] * n, np.zeros(p, dtype=bool)
    z = np.asarray(covariates, dtype=float)
    if z.shape != (n, p):
        raise ValueError(f"covariates: expected an array of {n} patients x {p} parameters, got {z.shape}")
    active = ~np.all(np.isnan(z), axis=0)
    if np.any(np.isnan(z[:, active])):
        raise ValueError("covariates: every patient needs the value of each covariate in use")
    columns = np.flatnonzero(active)
    designs = []
    for zi in z:
        X = np.zeros((p, p + len(columns)))
        X[:, :p] = np.eye(p)
        X[columns, p + np.arange(len(columns))] = zi[columns]
        designs.append(X)
    return designs, active


def two_stage(individuals: list[Individual], *, covariates: np.ndarray | None = None, tolerance: float = 1e-9,
              max_iterations: int = 20_000, min_log_sd: float = MIN_LOG_SD) -> Population:
    """Population mean and between-patient spread from per-patient Laplace fits (see the module docstring).

    Args:
        individuals: the patients' fits (same parameters, same individual prior).
        covariates: optional, patients x parameters: ``z_ik = log(c_i / c_ref)`` of parameter ``k``'s
            covariate, NaN in the columns of parameters without one.
        tolerance: EM stops when the coefficients and the log spread change by less than this.
        max_iterations: EM iterations at most.
        min_log_sd: floor of the between-patient log sd.
    """
    if len(individuals) < 2:
        raise ValueError("a population estimate needs at least two patients")
    information = [ind.likelihood() for ind in individuals]
    mu0, P0 = np.asarray(individuals[0].prior_mean, dtype=float), np.asarray(individuals[0].prior_precision)
    n, p = len(individuals), len(mu0)
    designs, active = _designs(n, p, covariates)
    q = designs[0].shape[1] - p
    H = np.zeros((p + q, p + q))
    H[:p, :p] = P0
    H[p:, p:] = SLOPE_PRECISION * np.eye(q)
    gamma0 = np.concatenate([mu0, np.zeros(q)])
    gamma = gamma0.copy()
    omega = np.maximum(1.0 / np.diag(P0), min_log_sd ** 2)
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):
        means = [X @ gamma for X in designs]
        effects, covariances = _expectation(information, means, omega)
        inv_omega = np.diag(1.0 / omega)
        lhs = sum(X.T @ inv_omega @ X for X in designs) + H
        rhs = sum(X.T @ inv_omega @ m for X, m in zip(designs, effects, strict=True)) + H @ gamma0
        new_gamma = np.linalg.solve(lhs, rhs)
        new_omega = np.maximum(np.mean([(m - X @ new_gamma) ** 2 + np.diag(S) for m, X, S in
                                        zip(effects, designs, covariances, strict=True)], axis=0), min_log_sd ** 2)
        change = max(np.max(np.abs(new_gamma - gamma)), np.max(np.abs(0.5 * np.log(new_omega / omega))))
        gamma, omega = new_gamma, new_omega
        if change < tolerance:
            converged = True
            break
    effects, covariances = _expectation(information, [X @ gamma for X in designs], omega)
    inv_omega = np.diag(1.0 / omega)
    weight = sum(X.T @ (inv_omega - inv_omega @ S @ inv_omega) @ X for X, S in zip(designs, covariances,
                                                                                   strict=True))
    coefficient_covariance = np.linalg.inv(weight + H)
    data_information = np.sum([np.diag(L) for L, _ in information], axis=0)
    informed = [bool(d > p0) for d, p0 in zip(data_information, np.diag(P0), strict=True)]
    slopes = np.zeros(p)
    slopes[active] = gamma[p:]
    return Population(mean=gamma[:p], spread=np.sqrt(omega), mean_covariance=coefficient_covariance[:p, :p],
                      effects=effects, effect_covariances=covariances, informed=informed, iterations=iteration,
                      converged=converged, slopes=slopes, with_covariate=active,
                      coefficient_covariance=coefficient_covariance)


def _expectation(information: list[tuple[np.ndarray, np.ndarray]], means: list[np.ndarray],
                 omega: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The random effects' posterior means and covariances given each patient's population mean
    ``X_i gamma`` and diagonal ``Omega``."""
    inv_omega = np.diag(1.0 / omega)
    covariances = [np.linalg.inv(L + inv_omega) for L, _ in information]
    effects = [S @ (b + inv_omega @ m) for S, (_, b), m in zip(covariances, information, means, strict=True)]
    return effects, covariances
