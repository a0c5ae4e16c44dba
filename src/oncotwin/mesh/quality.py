"""Tetrahedral mesh quality: radius ratio, dihedral angles, volumes and counts per region."""

from __future__ import annotations

import numpy as np


def tet_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volumes of tetrahedra (positive for gmsh's right-handed node order)."""
    p0, p1, p2, p3 = (points[tets[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", np.cross(p1 - p0, p2 - p0), p3 - p0) / 6.0


def radius_ratio(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Normalised radius ratio 3 r_in / r_circ (1 for a regular tetrahedron, 0 when degenerate)."""
    p = points[tets]
    volume = np.abs(tet_volumes(points, tets))
    faces = [(1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)]
    area = sum(0.5 * np.linalg.norm(np.cross(p[:, b] - p[:, a], p[:, c] - p[:, a]), axis=1) for a, b, c in faces)
    r_in = 3.0 * volume / area
    # circumradius: |a|^2 (b x c) + |b|^2 (c x a) + |c|^2 (a x b) / (12 V) with edges from node 0
    a, b, c = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]
    num = (np.sum(a * a, 1)[:, None] * np.cross(b, c) + np.sum(b * b, 1)[:, None] * np.cross(c, a)
           + np.sum(c * c, 1)[:, None] * np.cross(a, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        r_circ = np.linalg.norm(num, axis=1) / (12.0 * volume)
        ratio = 3.0 * r_in / r_circ
    return np.nan_to_num(ratio, nan=0.0, posinf=0.0)


def dihedral_angles(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """The six interior dihedral angles (degrees) of each tetrahedron, shape (m, 6)."""
    p = points[tets]
    faces = [(1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)]
    normals = []
    for k, (a, b, c) in enumerate(faces):
        n = np.cross(p[:, b] - p[:, a], p[:, c] - p[:, a])
        # orient outward: away from the opposite node k
        sign = np.sign(np.einsum("ij,ij->i", n, p[:, a] - p[:, k]))
        normals.append(n * sign[:, None] / np.maximum(np.linalg.norm(n, axis=1), 1e-300)[:, None])
    angles = []
    for i in range(4):
        for j in range(i + 1, 4):
            cos = np.clip(-np.einsum("ij,ij->i", normals[i], normals[j]), -1.0, 1.0)
            angles.append(np.degrees(np.arccos(cos)))
    return np.stack(angles, axis=1)


def tet_quality(points: np.ndarray, tets: np.ndarray, cell_tags: np.ndarray) -> dict:
    """Quality report of a tagged tetrahedral mesh (JSON-serialisable).

    Args:
        points: node coordinates, shape (n, 3).
        tets: node indices, shape (m, 4).
        cell_tags: region tag of every tetrahedron, shape (m,).
    """
    volumes = tet_volumes(points, tets)
    ratio = radius_ratio(points, tets)
    dihedral = dihedral_angles(points, tets)
    tags = np.unique(cell_tags)
    return {
        "cells": int(len(tets)),
        "nodes": int(len(points)),
        "cells_per_tag": {int(t): int(np.sum(cell_tags == t)) for t in tags},
        "volume_per_tag": {int(t): float(np.abs(volumes[cell_tags == t]).sum()) for t in tags},
        "min_radius_ratio": float(ratio.min()) if len(ratio) else 0.0,
        "mean_radius_ratio": float(ratio.mean()) if len(ratio) else 0.0,
        "min_dihedral_deg": float(dihedral.min()) if len(ratio) else 0.0,
        "max_dihedral_deg": float(dihedral.max()) if len(ratio) else 0.0,
        "inverted": int(np.sum(volumes <= 0.0)),
    }
