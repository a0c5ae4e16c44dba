"""Repair of the flat tetrahedra ("caps") that span two surface triangles of one patch.

Surface nets quads are nearly planar and cocircular, so Delaunay may fill one with a flat tetrahedron
whose two faces are both fixed surface triangles; no optimiser can touch it. The repair works in the
current gmsh model, on the volume of every component and the discrete surface patches between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gmsh
import numpy as np

from oncotwin.mesh.edge_removal import edge_removal, tet_ratios

_FACES = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))
_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
MAX_RING = 7  # largest ring of tetrahedra around an edge that is re-meshed (triangulations grow fast)


def remove_surface_caps(volumes: dict[int, int], surface_pairs: dict[int, tuple[int, int]],
                        threshold: float = 0.1, passes: int = 3) -> dict:
    """Remove the flat tetrahedra ("caps") spanning two adjacent triangles of one surface patch.

    Surface nets quads are nearly planar and cocircular, so Delaunay may fill one with a flat
    tetrahedron ``abcd`` whose faces ``abc`` and ``abd`` are both surface triangles; with fixed surface
    triangles no optimiser can remove it. Locally:

    * on the outer boundary the cap is deleted and its other faces ``acd``, ``bcd`` become the
      boundary triangles (the volume changes by the cap's tiny volume);
    * on an inner interface, either the tetrahedra around the cap's inner edge ``cd`` (all in its
      region) are re-meshed without ``cd`` (edge removal: best triangulation of the ring polygon; the
      surface is unchanged), or else the cap and the tetrahedra around the surface edge ``ab`` on the
      other side are re-meshed without ``ab`` and given to the other region: the interface then runs
      through ``acd`` and ``bcd``.

    An operation is applied only when every new tetrahedron is positive, the ring's volume is kept
    and the worst element improves; ``cd`` must not already be a surface edge. Cells below
    ``0.2 * threshold`` that are not such caps (or whose cap cannot be repaired so) get the best
    removal of one of their interior edges (ring in one region, no surface triangle around it), which
    keeps every surface (only the worst: these Python loops are slow on unoptimised meshes). Triangles
    are updated in their discrete surface (same orientation with respect to the regions), so facet
    groups stay consistent.

    Returns:
        Counts of repaired caps: deleted on the outer boundary, moved across an interface, and
        removed inside their region by an interior edge removal (surface unchanged).
    """
    p = _node_coordinates()
    stats = {"outer": 0, "inner": 0, "interior": 0}
    for _ in range(passes):
        done = _cap_pass(p, volumes, surface_pairs, threshold, stats)
        if not done:
            break
    return stats


def _node_coordinates() -> np.ndarray:
    """Coordinates of the gmsh nodes, indexed by node tag."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    node_tags = node_tags.astype(np.int64)
    p = np.zeros((int(node_tags.max()) + 1, 3))
    p[node_tags] = coords.reshape(-1, 3)
    return p


def _volume_tets(volumes: dict[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tetrahedra (node tags), their component and their element tag, over every component volume."""
    entity_of = {v: c for c, v in volumes.items()}
    tet_list, comp_list, tag_list = [], [], []
    for volume, component in entity_of.items():
        _, etags, enodes = gmsh.model.mesh.getElements(3, volume)
        if not len(etags):
            continue
        tet_list.append(enodes[0].astype(np.int64).reshape(-1, 4))
        tag_list.append(etags[0].astype(np.int64))
        comp_list.append(np.full(len(etags[0]), component, dtype=np.int64))
    return np.concatenate(tet_list), np.concatenate(comp_list), np.concatenate(tag_list)


def _surface_triangles(surface_pairs: dict[int, tuple[int, int]], near: np.ndarray) -> dict[tuple, tuple]:
    """Sorted triangle -> (surface, element tag, nodes) of the surface triangles touching a ``near`` node."""
    surface_of: dict[tuple, tuple[int, int, tuple]] = {}
    for surface in surface_pairs:
        _, stags, snodes = gmsh.model.mesh.getElements(2, surface)
        if not len(stags):
            continue
        triangles = snodes[0].astype(np.int64).reshape(-1, 3)
        keep = near[triangles].any(axis=1)
        for tag, tri in zip(stags[0][keep].tolist(), triangles[keep].tolist()):
            surface_of[tuple(sorted(tri))] = (surface, tag, tuple(tri))
    return surface_of


class _VertexTets:
    """Vertex -> tetrahedra incidence (CSR), for the rings of tetrahedra around edges."""

    def __init__(self, tets: np.ndarray, n_vertices: int):
        flat = tets.ravel()
        self.order = np.argsort(flat, kind="stable")
        self.starts = np.searchsorted(flat[self.order], np.arange(n_vertices + 1))

    def around(self, *vertices: int) -> list[int]:
        """Sorted tetrahedra that contain all ``vertices``."""
        sets = [set((self.order[self.starts[v]:self.starts[v + 1]] // 4).tolist()) for v in vertices]
        return sorted(set.intersection(*sets))


@dataclass
class _Edits:
    """Element changes of one pass, applied to gmsh together at its end (keyed by component / surface)."""

    remove_tets: dict[int, list[int]] = field(default_factory=dict)
    add_tets: dict[int, list[tuple]] = field(default_factory=dict)
    remove_tris: dict[int, list[int]] = field(default_factory=dict)
    add_tris: dict[int, list[tuple]] = field(default_factory=dict)

    def apply(self, volumes: dict[int, int]) -> None:
        """Remove and add the tetrahedra and surface triangles in the gmsh model."""
        for component, removed in self.remove_tets.items():
            gmsh.model.mesh.removeElements(3, volumes[component], removed)
        for component, added in self.add_tets.items():
            gmsh.model.mesh.addElementsByType(volumes[component], 4, [], np.asarray(added, dtype=np.int64).ravel())
        for surface, removed in self.remove_tris.items():
            gmsh.model.mesh.removeElements(2, surface, removed)
        for surface, added in self.add_tris.items():
            gmsh.model.mesh.addElementsByType(surface, 2, [], np.asarray(added, dtype=np.int64).ravel())


def _cap_pass(p: np.ndarray, volumes: dict[int, int], surface_pairs: dict[int, tuple[int, int]],
              threshold: float, stats: dict) -> int:
    """One pass over the cells below ``threshold``, worst first; returns the number of repairs."""
    tets, comps, etags = _volume_tets(volumes)
    ratio = tet_ratios(p, tets)
    bad = np.flatnonzero(ratio < threshold)
    if not len(bad):
        return 0
    near = np.zeros(len(p), dtype=bool)
    near[tets[bad].ravel()] = True
    repair = _CapRepair(p, tets, comps, etags, ratio, threshold, surface_pairs,
                        _surface_triangles(surface_pairs, near), stats)
    changed = 0
    for t in bad[np.argsort(ratio[bad])]:
        changed += repair.repair(t)
    repair.edits.apply(volumes)
    return changed


class _CapRepair:
    """The local operations of one pass, on the mesh as it was at the start of the pass.

    Tetrahedra touched by an operation are locked (their vertices) until the next pass; the surface
    triangle table follows the surface changes at once.
    """

    def __init__(self, p: np.ndarray, tets: np.ndarray, comps: np.ndarray, etags: np.ndarray,
                 ratio: np.ndarray, threshold: float, surface_pairs: dict[int, tuple[int, int]],
                 surface_of: dict[tuple, tuple], stats: dict):
        self.p, self.tets, self.comps, self.etags, self.ratio = p, tets, comps, etags, ratio
        self.threshold, self.surface_pairs, self.surface_of, self.stats = threshold, surface_pairs, surface_of, stats
        self.around = _VertexTets(tets, len(p)).around
        self.locked: set[int] = set()
        self.edits = _Edits()

    def repair(self, t: int) -> int:
        """Repair cell ``t`` as a cap if it is one, else by an interior edge removal; 1 when changed."""
        tet = self.tets[t].tolist()
        faces = [tuple(sorted(tet[i] for i in f)) for f in _FACES]
        on_surface = [f for f in faces if f in self.surface_of]
        if len(on_surface) != 2 or self.surface_of[on_surface[0]][0] != self.surface_of[on_surface[1]][0]:
            return self.remove_an_edge(t)
        surface = self.surface_of[on_surface[0]][0]
        a, b = sorted(set(on_surface[0]) & set(on_surface[1]))
        c, d = (v for v in tet if v not in (a, b))
        if self.locked & set(tet):
            return 0
        cd_ring = self.around(c, d)
        if self._surface_edge(c, d, cd_ring):  # cd must not be a surface edge already
            return self.remove_an_edge(t)
        ring = self.around(a, b)
        component = int(self.comps[t])
        pair = self.surface_pairs[surface]
        other = pair[1] if pair[0] == component else pair[0]
        new: list[tuple] = []
        if other == 0:
            if ring != [t]:
                return self.remove_an_edge(t)
        else:
            # (1) remove cd inside the cap's region (surface unchanged); (2) remove ab across the interface
            if self._remove_inner_edge(t, (a, b, c, d), cd_ring, component):
                return 1
            new = self._remesh_across(t, (a, b, c, d), ring, other)
            if not new:
                return self.remove_an_edge(t)
        self._move_surface(surface, on_surface, tet, (a, b, c, d))
        self._replace(ring, other, new)
        self.stats["inner" if other else "outer"] += 1
        return 1

    def remove_an_edge(self, t: int) -> bool:
        """Edge removal on the best interior edge of tetrahedron ``t`` (ring in one region, not on a surface)."""
        tet = self.tets[t].tolist()
        if self.ratio[t] >= 0.2 * self.threshold or self.locked & set(tet):  # only the worst: the loop is in Python
            return False
        component, best, best_ring, quality = int(self.comps[t]), [], [], float(self.ratio[t])
        for i, j in _EDGES:
            u, v = tet[i], tet[j]
            ring = self.around(u, v)
            if len(ring) > MAX_RING or any(self.comps[s] != component for s in ring):
                continue
            if self._surface_edge(u, v, ring):
                continue
            start, end = (x for x in tet if x not in (u, v))
            new, quality = edge_removal(self.p, self.tets, [s for s in ring if s != t], u, v, start, end, ring,
                                        quality)
            if new:
                best, best_ring = new, ring
        if not best:
            return False
        self._replace(best_ring, component, best)
        self.stats["interior"] += 1
        return True

    def _surface_edge(self, u: int, v: int, ring: list[int]) -> bool:
        """Whether ``uv`` is an edge of a known surface triangle (one made with a vertex of its ring)."""
        return any(tuple(sorted((u, v, x))) in self.surface_of
                   for s in ring for x in self.tets[s] if x not in (u, v))

    def _remove_inner_edge(self, t: int, cap: tuple[int, int, int, int], cd_ring: list[int], component: int
                           ) -> bool:
        """Remove the cap's inner edge ``cd`` when its ring lies in the cap's region (surface unchanged)."""
        a, b, c, d = cap
        inside = [s for s in cd_ring if s != t]
        if not all(self.comps[s] == component for s in inside) or len(inside) > MAX_RING:
            return False
        new, _ = edge_removal(self.p, self.tets, inside, c, d, a, b, cd_ring, float(self.ratio[t]))
        if not new:
            return False
        self._replace(cd_ring, component, new)
        self.stats["interior"] += 1
        return True

    def _remesh_across(self, t: int, cap: tuple[int, int, int, int], ring: list[int], other: int) -> list[tuple]:
        """Tetrahedra for the ring of the surface edge ``ab`` without it, given to the ``other`` region."""
        a, b, c, d = cap
        others = [s for s in ring if s != t]
        if any(self.comps[s] != other for s in others) or len(others) > MAX_RING:
            return []
        new, _ = edge_removal(self.p, self.tets, others, a, b, c, d, ring, float(self.ratio[t]))
        return new

    def _move_surface(self, surface: int, on_surface: list[tuple], tet: list[int],
                      cap: tuple[int, int, int, int]) -> None:
        """Surface: remove abc, abd; add acd, bcd with the same orientation relative to the regions."""
        a, b, c, d = cap
        p = self.p
        old = self.surface_of[on_surface[0]][2]
        centre = p[tet].mean(axis=0)
        old_out = np.dot(np.cross(p[old[1]] - p[old[0]], p[old[2]] - p[old[0]]), p[old[0]] - centre) > 0
        for face in (on_surface[0], on_surface[1]):
            self.edits.remove_tris.setdefault(surface, []).append(self.surface_of.pop(face)[1])
        for tri in ((a, c, d), (b, c, d)):
            out = np.dot(np.cross(p[tri[1]] - p[tri[0]], p[tri[2]] - p[tri[0]]), p[tri[0]] - centre) > 0
            tri = tri if out != old_out else (tri[0], tri[2], tri[1])
            self.edits.add_tris.setdefault(surface, []).append(tri)
            self.surface_of[tuple(sorted(tri))] = (surface, -1, tri)

    def _replace(self, ring: list[int], component: int, new: list[tuple]) -> None:
        """Remove the ``ring`` tetrahedra (locking their vertices) and add ``new`` ones to ``component``."""
        for s in ring:
            self.edits.remove_tets.setdefault(int(self.comps[s]), []).append(int(self.etags[s]))
            self.locked.update(self.tets[s].tolist())
        if new:
            self.edits.add_tets.setdefault(component, []).extend(new)
