"""Baseline cell densities whose imaging edges lie on the segmented surfaces.

The regions' densities are uniform (``initial_density``, ``initial_necrotic``); at the P1 nodes where
regions meet, the plain average would put the visible edge (density = readout threshold) up to a cell
layer away from the segmented surface and overstate small tumours' volumes by 10-25 %. Here the nodes of
each imaging edge take that edge's threshold, so the level set of the readout passes through the
segmented surface and the baseline readouts reproduce the segmentation they were built from:

* the lesion's outer surface (against host tissue) is seen at the outer threshold: the FLAIR/T2
  threshold when that readout is modelled (Rockne et al., Phys. Med. Biol. 55:3271, 2010: about 16 % of
  carrying capacity), else the detection threshold of the total-tumour readout;
* a surface between regions above and below the T1-gadolinium threshold (enhancing tumour against
  edema, necrosis, non-enhancing tumour or host tissue) is seen at that threshold (Rockne 2010: about
  80 %), when that readout is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-9
_TILT = 1e-3
"""T1c edge nodes sit at ``threshold * (1 + _TILT (2 s - 1))`` with ``s`` the node's share of the side above the
threshold. Where a feature is one cell thick (thin rims of enhancing tumour), every node of a cell may lie
on a surface; the tilt then counts the cell on the side most of its support belongs to, instead of leaving
it to rounding. Elsewhere it moves the edge by about 1e-3 of the density step, i.e. a negligible part of a
cell. On the lesion's outer surface (convex, where shares below 1/2 would drop the inner cells) the tilt is
a deterministic dither of sign +-1 instead: cells whose nodes all lie on the surface split about evenly
between inside and outside, as the cells the surface cuts do."""


def dither_signs(points: np.ndarray) -> np.ndarray:
    """A sign with a magnitude in [0.5, 1.5) per node from its coordinates: deterministic and the same on any
    partition. Unequal magnitudes, so that no quadrature point of a cell sits exactly on the threshold (equal
    and opposite tilts would cancel there, and the last bit of the clone split would decide)."""
    phase = np.sin(12.9898 * points[:, 0] + 78.233 * points[:, 1] + 37.719 * points[:, 2]) * 43758.5453
    u = phase - np.floor(phase)
    return np.where(u < 0.5, -1.0, 1.0) * (0.5 + 2.0 * np.abs(u - 0.5))


@dataclass(frozen=True)
class ImagingEdges:
    """Thresholds at which the baseline segmentation's surfaces are seen.

    Attributes:
        outer: all-cell density of the lesion's surface against host tissue.
        enhancing: viable density of the T1c edge inside the lesion (None: not modelled).
    """

    outer: float
    enhancing: float | None = None


def place_edges(viable: np.ndarray, necrotic: np.ndarray, shares: dict[str, np.ndarray],
                densities: dict[str, tuple[float, float]], host: set[str], edges: ImagingEdges,
                points: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nodal baseline densities with the imaging edges on the region surfaces.

    Args:
        viable: region-averaged nodal viable density.
        necrotic: region-averaged nodal necrotic density.
        shares: per region, the nodal share of the region (1 inside, 0 outside, between on its surface).
        densities: per region, its (viable, necrotic) initial density.
        host: names of the host (normal tissue) regions.
        edges: the thresholds of the edges.
        points: nodal coordinates [mm] (for the dither of the outer edge; None: no dither).

    Returns:
        New (viable, necrotic) arrays.
    """
    viable, necrotic = viable.copy(), necrotic.copy()
    dither = np.zeros_like(viable) if points is None else dither_signs(points)
    touching = {name: share > _EPS for name, share in shares.items()}
    if not touching:
        return viable, necrotic
    count = sum(t.astype(int) for t in touching.values())
    on_host = np.zeros_like(viable, dtype=bool)
    on_lesion = np.zeros_like(viable, dtype=bool)
    lesion_max = np.zeros_like(viable)
    v_max, v_min = np.full_like(viable, -np.inf), np.full_like(viable, np.inf)
    share_enhancing = np.zeros_like(viable)
    for name, touch in touching.items():
        v, m = densities[name]
        if edges.enhancing is not None and v > edges.enhancing:
            share_enhancing += shares[name]
        if name in host:
            on_host |= touch
        else:
            on_lesion |= touch
            lesion_max = np.where(touch, np.maximum(lesion_max, v + m), lesion_max)

        v_max = np.where(touch, np.maximum(v_max, v), v_max)
        v_min = np.where(touch, np.minimum(v_min, v), v_min)
    interface = count >= 2
    enhancing = np.zeros_like(interface)
    if edges.enhancing is not None:
        # the T1c edge wins where enhancing tumour touches host tissue directly: the FLAIR volume is the
        # larger one, so the same shift costs it less
        enhancing = interface & (v_max > edges.enhancing) & (v_min < edges.enhancing)
        viable[enhancing] = edges.enhancing * (1.0 + _TILT * (2.0 * share_enhancing[enhancing] - 1.0))
        necrotic[enhancing] = np.minimum(necrotic[enhancing], 1.0 - edges.enhancing)
    outer = interface & on_host & on_lesion & (lesion_max > edges.outer) & ~enhancing
    occupied = viable + necrotic
    level = edges.outer * (1.0 + _TILT * dither)
    scale = np.where(outer & (occupied > 0), level / np.where(occupied > 0, occupied, 1.0), 1.0)
    return viable * scale, necrotic * scale
