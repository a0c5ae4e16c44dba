"""Local re-meshing used by the surface-cap repair: edge removal, ring polygons, vertex rings."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.mesh.cap_repair import _VertexTets
from oncotwin.mesh.edge_removal import edge_removal, ring_polygon, signed_volume, tet_ratios, triangulations


@pytest.mark.parametrize("n, count", [(2, 1), (3, 1), (4, 2), (5, 5), (6, 14)])
def test_triangulations_of_a_polygon_are_catalan(n, count):
    found = list(triangulations(list(range(n))))
    assert len(found) == count
    assert all(len(t) == max(n - 2, 0) for t in found)


def test_ring_polygon_chains_the_link_edges():
    u, v = 10, 11
    others = [[u, v, 2, 3], [u, v, 3, 1]]
    assert ring_polygon(others, u, v, 2, 1) == [2, 3, 1]
    assert ring_polygon([[u, v, 2, 3]], u, v, 2, 1) is None  # the chain does not reach 1


def _ring_of_three():
    """Edge u-v (nodes 0, 1) with three tetrahedra around it over the triangle of nodes 2, 3, 4."""
    angles = 2 * np.pi * np.arange(3) / 3
    p = np.array([[0, 0, 1.0], [0, 0, -1.0]] + [[np.cos(a), np.sin(a), 0.0] for a in angles])
    tets = np.array([[0, 1, 2, 3], [0, 1, 3, 4], [0, 1, 4, 2]])
    return p, tets


def test_edge_removal_is_the_three_two_flip():
    p, tets = _ring_of_three()
    ring = [0, 1, 2]
    new, quality = edge_removal(p, tets, [1, 2], 0, 1, 2, 3, ring, 0.0)
    assert len(new) == 2 and all({2, 3, 4} <= set(q) for q in new)
    volumes = [signed_volume(p, q) for q in new]
    assert min(volumes) > 0
    assert sum(volumes) == pytest.approx(sum(abs(signed_volume(p, t)) for t in tets))
    assert quality == pytest.approx(float(tet_ratios(p, new).min()))
    assert edge_removal(p, tets, [1, 2], 0, 1, 2, 3, ring, 1.0) == ([], 1.0)  # no improvement on 1.0


def test_vertex_rings():
    rings = _VertexTets(np.array([[0, 1, 2, 3], [1, 2, 3, 4]]), 5)
    assert rings.around(1, 2) == [0, 1]
    assert rings.around(0, 4) == []
    assert rings.around(4) == [1]
