"""Closed form of a traction-free spherical cavity in an eigenstrained medium fixed at its outer surface.

A shell ``a < r < b`` (moduli ``E, nu``) carries a uniform isotropic eigenstrain ``e*``; the cavity surface
``r = a`` is traction-free (``sigma_rr(a) = 0``: a drained ventricle) and the outer surface is fixed
(``u(b) = 0``: the skull). The radial displacement is ``u = B r + C / r^2`` with
``sigma_rr = 3 K (B - e*) - 4 mu C / r^3`` and ``sigma_tt = 3 K (B - e*) + 2 mu C / r^3`` (the thick
spherical shell of Timoshenko & Goodier, *Theory of Elasticity*, 3rd ed., 1970, with the eigenstrain as a
thermal strain). The two conditions give ``C = -3 K e* / (4 mu / a^3 + 3 K / b^3)`` and ``B = -C / b^3``:
the swelling medium bulges into the cavity (``u(a) < 0``), which relieves the stress the skull would
otherwise hold.

The mesh is a gmsh OpenCASCADE hollow ball (region ``host``, boundaries ``outer`` and ``cavity``).
"""

from __future__ import annotations

from dataclasses import dataclass

import gmsh
import numpy as np

from oncotwin.core.fenics import MPI
from oncotwin.mesh.distribute import TaggedMesh, distribute_model


@dataclass(frozen=True)
class SphericalCavity:
    """Exact radial displacement and stresses (consistent units).

    Attributes:
        radius: cavity radius a.
        outer_radius: fixed outer radius b.
        young, poisson: E, nu of the medium.
        eigenstrain: uniform isotropic eigenstrain e*.
    """

    radius: float
    outer_radius: float
    young: float
    poisson: float
    eigenstrain: float

    def _moduli(self) -> tuple[float, float]:
        mu = self.young / (2 * (1 + self.poisson))
        bulk = self.young / (3 * (1 - 2 * self.poisson))
        return mu, bulk

    @property
    def coefficients(self) -> tuple[float, float]:
        """``(B, C)`` of ``u = B r + C / r^2``."""
        mu, bulk = self._moduli()
        c = -3 * bulk * self.eigenstrain / (4 * mu / self.radius**3 + 3 * bulk / self.outer_radius**3)
        return -c / self.outer_radius**3, c

    def displacement(self, r) -> np.ndarray:
        """Radial displacement u(r)."""
        B, C = self.coefficients
        r = np.asarray(r, dtype=float)
        return B * r + C / r**2

    def displacement_vector(self, x: np.ndarray) -> np.ndarray:
        """``u(r) x / r`` at points of shape ``(3, n)`` (DOLFINx interpolation; the cavity excludes r = 0)."""
        B, C = self.coefficients
        r = np.maximum(np.linalg.norm(x, axis=0), 1e-300)
        return (B + C / r**3) * x

    def sigma_rr(self, r) -> np.ndarray:
        """Radial stress."""
        B, C = self.coefficients
        mu, bulk = self._moduli()
        r = np.asarray(r, dtype=float)
        return 3 * bulk * (B - self.eigenstrain) - 4 * mu * C / r**3

    def sigma_tt(self, r) -> np.ndarray:
        """Hoop stress."""
        B, C = self.coefficients
        mu, bulk = self._moduli()
        r = np.asarray(r, dtype=float)
        return 3 * bulk * (B - self.eigenstrain) + 2 * mu * C / r**3


def _fill_hollow_ball(radius: float, outer_radius: float, size: float) -> None:
    occ = gmsh.model.occ
    outer = occ.addSphere(0, 0, 0, outer_radius)
    inner = occ.addSphere(0, 0, 0, radius)
    (shell,), _ = occ.cut([(3, outer)], [(3, inner)])
    occ.synchronize()
    surfaces = gmsh.model.getBoundary([shell], oriented=False)
    by_radius = sorted((abs(gmsh.model.occ.getMass(2, s)), s) for _, s in surfaces)  # area: cavity first
    gmsh.model.addPhysicalGroup(3, [shell[1]], 1, name="host")
    gmsh.model.addPhysicalGroup(2, [by_radius[-1][1]], 1, name="outer")
    gmsh.model.addPhysicalGroup(2, [by_radius[0][1]], 2, name="cavity")
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.5 * size)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.model.mesh.generate(3)


def hollow_ball(comm: MPI.Comm, radius: float, outer_radius: float, size: float) -> TaggedMesh:
    """A tetrahedral hollow ball ``radius < r < outer_radius`` with target edge ``size``, distributed."""
    return distribute_model(comm, "hollow_ball", _fill_hollow_ball, (radius, outer_radius, size), [])
