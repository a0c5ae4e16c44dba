"""Edge removal: re-mesh the ring of tetrahedra around an edge without that edge (best triangulation)."""

from __future__ import annotations

import numpy as np

from oncotwin.mesh.quality import radius_ratio


def signed_volume(p: np.ndarray, tet) -> float:
    """Signed volume of one tetrahedron (node ids into ``p``)."""
    a, b, c, d = (p[i] for i in tet)
    return float(np.dot(np.cross(b - a, c - a), d - a)) / 6.0


def tet_ratios(p: np.ndarray, tets) -> np.ndarray:
    """Radius ratios of tetrahedra given as any sequence of 4 node ids."""
    return radius_ratio(p, np.asarray(tets, dtype=np.int64).reshape(-1, 4))


def triangulations(polygon: list[int]):
    """Every triangulation of a convex-indexed polygon (list of vertex ids), as lists of triangles."""
    if len(polygon) < 3:
        yield []
        return
    first, last = polygon[0], polygon[-1]
    for k in range(1, len(polygon) - 1):
        for left in triangulations(polygon[:k + 1]):
            for right in triangulations(polygon[k:]):
                yield left + [(first, polygon[k], last)] + right


def edge_removal(p: np.ndarray, tets: np.ndarray, others: list[int], u: int, v: int, start: int, end: int,
                 ring: list[int], quality: float) -> tuple[list[tuple], float]:
    """Best re-meshing of the ring of edge ``uv`` without it (tetrahedra over a triangulated link polygon).

    ``others`` are the ring's tetrahedra but the one whose link edge is ``(start, end)``. Returns the new
    tetrahedra (positive, same total volume, worst radius ratio above ``quality``) or ``[]``.
    """
    polygon = ring_polygon([tets[s].tolist() for s in others], u, v, start, end)
    if polygon is None:
        return [], quality
    old_volume = sum(abs(signed_volume(p, tets[s])) for s in ring)
    best: list[tuple] = []
    for triangles in triangulations(polygon):
        candidate = [q for x, y, z in triangles for q in ((x, y, z, u), (y, x, z, v))]
        signed = np.array([signed_volume(p, q) for q in candidate])
        if signed.max() < 0:
            candidate, signed = [(q[1], q[0], q[2], q[3]) for q in candidate], -signed
        if signed.min() <= 0 or abs(signed.sum() - old_volume) > 1e-6 * old_volume:
            continue
        worst = float(tet_ratios(p, candidate).min())
        if worst > quality:
            best, quality = candidate, worst
    return best, quality


def ring_polygon(others: list[list[int]], a: int, b: int, c: int, d: int) -> list[int] | None:
    """Chain the link edges of the tetrahedra around ``ab`` (other side) from ``c`` to ``d``."""
    links = [tuple(v for v in tet if v not in (a, b)) for tet in others]
    polygon, current, unused = [c], c, list(links)
    while current != d:
        step = next((e for e in unused if current in e), None)
        if step is None:
            return None
        unused.remove(step)
        current = step[1] if step[0] == current else step[0]
        polygon.append(current)
    return polygon if not unused and len(set(polygon)) == len(polygon) else None
