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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_LOG_SD = 0.02
"""Floor of the between-patient log sd (2 %): keeps ``Omega`` invertible when the patients agree."""


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
    """

    mean: np.ndarray
    spread: np.ndarray
    mean_covariance: np.ndarray
    effects: list[np.ndarray]
    effect_covariances: list[np.ndarray]
    informed: list[bool]
    iterations: int
    converged: bool

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


def two_stage(individuals: list[Individual], *, tolerance: float = 1e-9, max_iterations: int = 20_000,
              min_log_sd: float = MIN_LOG_SD) -> Population:
    """Population mean and between-patient spread from per-patient Laplace fits (see the module docstring).

    Args:
        individuals: the patients' fits (same parameters, same individual prior).
        tolerance: EM stops when ``mu`` and the log spread change by less than this.
        max_iterations: EM iterations at most.
        min_log_sd: floor of the between-patient log sd.
    """
    if len(individuals) < 2:
        raise ValueError("a population estimate needs at least two patients")
    information = [ind.likelihood() for ind in individuals]
    mu0, P0 = np.asarray(individuals[0].prior_mean, dtype=float), np.asarray(individuals[0].prior_precision)
    mu, n = mu0.copy(), len(individuals)
    omega = np.maximum(1.0 / np.diag(P0), min_log_sd ** 2)
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):
        effects, covariances = _expectation(information, mu, omega)
        new_mu = np.linalg.solve(n * np.diag(1.0 / omega) + P0, np.sum(effects, axis=0) / omega + P0 @ mu0)
        new_omega = np.maximum(np.mean([(m - new_mu) ** 2 + np.diag(S) for m, S in zip(effects, covariances,
                                                                                       strict=True)], axis=0),
                               min_log_sd ** 2)
        change = max(np.max(np.abs(new_mu - mu)), np.max(np.abs(0.5 * np.log(new_omega / omega))))
        mu, omega = new_mu, new_omega
        if change < tolerance:
            converged = True
            break
    effects, covariances = _expectation(information, mu, omega)
    inv_omega = np.diag(1.0 / omega)
    weight = sum(inv_omega - inv_omega @ S @ inv_omega for S in covariances)
    mean_covariance = np.linalg.inv(weight + P0)
    data_information = np.sum([np.diag(L) for L, _ in information], axis=0)
    informed = [bool(d > p) for d, p in zip(data_information, np.diag(P0), strict=True)]
    return Population(mean=mu, spread=np.sqrt(omega), mean_covariance=mean_covariance, effects=effects,
                      effect_covariances=covariances, informed=informed, iterations=iteration, converged=converged)


def _expectation(information: list[tuple[np.ndarray, np.ndarray]], mu: np.ndarray,
                 omega: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The random effects' posterior means and covariances given ``mu`` and diagonal ``Omega``."""
    inv_omega = np.diag(1.0 / omega)
    covariances = [np.linalg.inv(L + inv_omega) for L, _ in information]
    effects = [S @ (b + inv_omega @ mu) for S, (_, b) in zip(covariances, information, strict=True)]
    return effects, covariances
