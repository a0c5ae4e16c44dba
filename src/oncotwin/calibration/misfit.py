"""Weighted residuals between simulated and observed tumours (a least-squares misfit).

The visible tumour is the level set {u >= threshold} of the density ``u`` (viable plus dead cells) with
the readouts' log-linear reconstruction between the nodes (:mod:`oncotwin.problems.level_sets`); its volume
fraction ``f_c`` in every cell is computed exactly from the nodal values (continuous in the parameters,
no smoothing width). The observed fractions ``o_c`` are the parts of the cells the
segmentation covers (sampled at sub-cell centroids by the caller). Two terms:

* shape: ``r_c = sqrt(V_c / V_obs) (f_c - o_c) / sigma_S`` over the cells (volumes ``V_c``), whose squared
  norm is the symmetric-difference volume relative to the observed volume, over the expected discordance
  of two segmentations ``sigma_S^2``;
* volume: ``(log V_sim - log V_obs) / sigma_V``.

An observation whose date is only known within a window (the K model times ``t_k`` of its day grid,
uniform prior) enters through the likelihood marginalised over the date,
``-2 log L = -2 log (1/K sum_k exp(-q_k / 2))`` with ``q_k`` the squared shape and volume residuals at
``t_k``. As residuals: ``sqrt(w_k) r_k`` for every date with the posterior date weights
``w_k = softmax(-q_k / 2)``, plus ``sqrt(2 KL(w || uniform))``; their squared norm is exactly
``-2 log L``. (Moment matching of the date, the window means with the model's spread added to the
variances but without its log-variance term, let a tumour that vanishes inside the window score better
than a constant offset.) With one date this is the plain least-squares misfit. Scalar series (biomarkers proportional to a model metric with an unknown factor) contribute
``(log b_i - log m_i - c) / sd`` with the factor ``c`` profiled out.

Residual vectors have a distributed part (this rank's cells) and a replicated part (scalars); their
inner products reduce over ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from oncotwin.problems.level_sets import visible_fraction


@dataclass
class Residual:
    """A residual vector: distributed entries (this rank's) and replicated entries (same on every rank)."""

    spatial: np.ndarray
    scalar: np.ndarray

    def __sub__(self, other: Residual) -> Residual:
        return Residual(self.spatial - other.spatial, self.scalar - other.scalar)

    def __truediv__(self, h: float) -> Residual:
        return Residual(self.spatial / h, self.scalar / h)


def dot(comm: MPI.Comm, a: Residual, b: Residual) -> float:
    """Inner product of two residual vectors of the same layout."""
    return comm.allreduce(float(np.dot(a.spatial, b.spatial)), op=MPI.SUM) + float(np.dot(a.scalar, b.scalar))


def concatenate(parts: list[Residual]) -> Residual:
    """One residual vector from several (observation by observation)."""
    return Residual(np.concatenate([p.spatial for p in parts]) if parts else np.zeros(0),
                    np.concatenate([p.scalar for p in parts]) if parts else np.zeros(0))


class SegmentationMisfit:
    """Misfit of one segmentation observation.

    Args:
        comm: communicator of the mesh.
        cells: nodal indices (local, with ghosts) of the owned tetrahedra, shape (cells, 4).
        volumes: their volumes [mm^3].
        observed: observed fraction of each owned cell (in [0, 1]).
        times: model times [s] compared with it (one, or the day grid of a window).
        threshold: detection threshold of the density.
        volume_sd: sd of log volume.
        shape_discordance: variance of the shape term (relative symmetric difference).
    """

    def __init__(self, comm: MPI.Comm, cells: np.ndarray, volumes: np.ndarray, observed: np.ndarray,
                 times: list[float], threshold: float, volume_sd: float, shape_discordance: float):
        self.comm, self.cells, self.volumes, self.times = comm, cells, volumes, list(times)
        self.threshold = threshold
        self.volume_sd, self.shape_discordance = volume_sd, shape_discordance
        self.observed = np.asarray(observed, dtype=float)
        self.volume_obs = self._integral(self.observed)
        if self.volume_obs <= 0:
            raise ValueError("the observed tumour does not intersect the mesh")

    def _integral(self, fractions: np.ndarray) -> float:
        return self.comm.allreduce(float(np.dot(self.volumes, fractions)), op=MPI.SUM)

    def visible(self, density: np.ndarray) -> np.ndarray:
        """Cell fractions of the visible tumour for a local nodal density."""
        return visible_fraction(density[self.cells], self.threshold)

    def residual(self, density: dict[float, np.ndarray]) -> tuple[Residual, dict[str, float]]:
        """Residual and diagnostics (volumes, Dice, date weights) for the simulated densities."""
        fractions = [self.visible(density[t]) for t in self.times]
        floor = 1e-3 * self.volume_obs  # a vanished tumour stays finite in log space
        volumes = np.array([self._integral(f) for f in fractions])
        sd_shape = math.sqrt(self.shape_discordance)
        spatial = [np.sqrt(self.volumes / self.volume_obs) * (f - self.observed) / sd_shape for f in fractions]
        volume = (np.log(volumes + floor) - math.log(self.volume_obs + floor)) / self.volume_sd
        q = np.array([self.comm.allreduce(float(np.dot(r, r)), op=MPI.SUM) for r in spatial]) + volume ** 2
        w = np.exp(-0.5 * (q - q.min()))
        w /= w.sum()
        divergence = float(np.sum(w * np.log(np.maximum(w * len(w), 1e-300))))
        root = np.sqrt(w)
        residual = Residual(np.concatenate([s * r for s, r in zip(root, spatial, strict=True)]),
                            np.concatenate([root * volume, [math.sqrt(max(2.0 * divergence, 0.0))]]))
        dice = [self.dice(f) for f in fractions]
        info = {"volume_observed_mm3": self.volume_obs,
                "volume_simulated_mm3": float(np.exp(np.dot(w, np.log(volumes + floor)))) - floor,
                "volume_simulated_min_mm3": float(volumes.min()), "volume_simulated_max_mm3": float(volumes.max()),
                "dice": float(np.dot(w, dice)), "dice_min": float(min(dice)), "dice_max": float(max(dice)),
                "shape_sd": sd_shape, "volume_log_sd": self.volume_sd, "date_weight_max": float(w.max()), "neg2_log_likelihood": float(q.min() - 2 * math.log(
                    np.mean(np.exp(-0.5 * (q - q.min())))))}
        return residual, info

    def terms(self, density: dict[float, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per model time: the log of the simulated volume plus the floor, and the squared shape residual
        (what :func:`neg2_log_likelihood` combines; the readouts a surrogate emulates)."""
        fractions = [self.visible(density[t]) for t in self.times]
        volumes = np.array([self._integral(f) for f in fractions])
        shapes = np.array([self._integral((f - self.observed) ** 2) / self.volume_obs for f in fractions])
        return np.log(volumes + self.floor), shapes / self.shape_discordance

    @property
    def floor(self) -> float:
        """Volume added before taking logs [mm^3] (a vanished tumour stays finite in log space)."""
        return 1e-3 * self.volume_obs

    def neg2_log_likelihood(self, log_volumes: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """``-2 log L`` of this observation from :meth:`terms` (vectorised over leading axes)."""
        volume = (log_volumes - math.log(self.volume_obs + self.floor)) / self.volume_sd
        q = shapes + volume ** 2
        low = q.min(axis=-1, keepdims=True)
        return low[..., 0] - 2.0 * np.log(np.mean(np.exp(-0.5 * (q - low)), axis=-1))

    def dice(self, fractions: np.ndarray) -> float:
        """Dice overlap of simulated and observed cell fractions (overlap min(f, o) within a cell)."""
        both = self._integral(np.minimum(fractions, self.observed))
        total = self._integral(fractions) + self.volume_obs
        return 2.0 * both / total if total > 0 else 1.0


class ScalarMisfit:
    """Misfit of a scalar series proportional to a model metric (factor profiled out)."""

    def __init__(self, metric: str, times: list[float], values: list[float], log_sd: float):
        self.metric, self.times, self.values, self.log_sd = metric, list(times), np.asarray(values), log_sd

    def residual(self, trajectory) -> tuple[Residual, dict[str, float]]:
        """Residual of the log ratios around their mean."""
        model = np.array([max(trajectory.metric(self.metric, t), 1e-300) for t in self.times])
        ratios = np.log(self.values) - np.log(model)
        offset = float(np.mean(ratios))
        return (Residual(np.zeros(0), (ratios - offset) / self.log_sd),
                {"scale": math.exp(offset), "rms_log_error": float(np.sqrt(np.mean((ratios - offset) ** 2)))})
