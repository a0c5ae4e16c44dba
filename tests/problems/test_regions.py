"""Region-wise coefficients: one DG0 value per region of the mesh."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.problems.fluid import FluidTissue
from oncotwin.problems.regions import (
    Integrals,
    cell_volume,
    dg0_space,
    integrate,
    mesh_volume,
    region_coefficient,
    set_region_values,
)
from tests.problems.test_fluid import MMS_TISSUE, cube


@pytest.mark.mpi
def test_region_coefficient_takes_each_region_value(comm):
    tm = cube(comm, 2)
    tissue = {**MMS_TISSUE, "absent": MMS_TISSUE["host"]}  # regions missing from the mesh are skipped
    f = region_coefficient(dg0_space(tm), tm, tissue, lambda t: t.vascular_filtration, "LpSV")
    assert f.name == "LpSV"
    dofs = f.function_space.dofmap.list[:, 0]
    tags = np.zeros(dofs.size, dtype=np.int32)
    tags[tm.cell_tags.indices] = tm.cell_tags.values
    assert np.all(f.x.array[dofs[tags == 1]] == 2.0 * 3.0)
    assert np.all(f.x.array[dofs[tags == 2]] == 0.5 * 1.0)


@pytest.mark.mpi
def test_set_region_values_changes_only_the_named_regions_of_one_shared_space(comm):
    tm = cube(comm, 3)
    space = dg0_space(tm)
    assert dg0_space(tm) is space  # one DG0 space per mesh
    f = region_coefficient(space, tm, {"tumour": 2.0, "host": 5.0}, float)
    set_region_values(f, tm, {1: 7.0, 99: 1.0})  # tag 99 is not in the mesh
    dofs = space.dofmap.list[:, 0]
    tags = np.zeros(dofs.size, dtype=np.int32)
    tags[tm.cell_tags.indices] = tm.cell_tags.values
    assert np.all(f.x.array[dofs[tags == 1]] == 7.0)
    assert np.all(f.x.array[dofs[tags == 2]] == 5.0)


@pytest.mark.mpi
def test_mesh_volume_from_the_boundary_equals_the_cell_integral(comm):
    """Divergence theorem on a mesh whose nodes (boundary ones too) are moved: the volume is no longer
    the box's, both ways of computing it agree."""
    mesh = dolfinx.mesh.create_box(comm, [[0, 0, 0], [2, 1, 1]], [5, 4, 3])
    x = mesh.geometry.x
    x[:, :3] += 0.03 * np.sin(7 * x[:, [1, 2, 0]] + 3 * x[:, [2, 0, 1]])
    assert mesh_volume(comm, mesh) == cell_volume(comm, mesh)  # no facet-cell connectivity: the cells
    mesh.topology.create_connectivity(2, 3)
    volume = mesh_volume(comm, mesh)
    assert abs(volume - 2.0) > 1e-4
    assert volume == pytest.approx(cell_volume(comm, mesh), rel=1e-13)


def test_fluid_tissue_derived_coefficients():
    t = FluidTissue(hydraulic_conductivity=1.0, vascular_permeability=2.0, vessel_surface_density=3.0,
                    vascular_pressure=15.6, plasma_oncotic_pressure=20.0, interstitial_oncotic_pressure=15.0,
                    reflection_coefficient=0.82, lymphatic_filtration=0.0, lymphatic_pressure=0.0)
    assert t.vascular_filtration == 6.0
    assert t.effective_vascular_pressure == 15.6 - 0.82 * (20.0 - 15.0)


@pytest.mark.mpi
def test_integrals_compile_once_and_follow_the_functions_they_refer_to(comm):
    tm = cube(comm, 3)
    f = region_coefficient(dg0_space(tm), tm, {"tumour": 2.0, "host": 5.0}, float)
    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    builds = []

    def integrand():
        builds.append(1)
        return f * dx(1)

    integral = Integrals(comm)
    assert integral("f", integrand) == pytest.approx(2.0 * 0.5, rel=1e-12)  # half of the unit cube
    f.x.array[:] *= 3.0
    assert integral("f", integrand) == pytest.approx(integrate(comm, f * dx(1)), rel=1e-12)
    assert integral("f", integrand) == pytest.approx(6.0 * 0.5, rel=1e-12)
    assert len(builds) == 1
    assert integral("host", lambda: f * dx(2)) == pytest.approx(15.0 * 0.5, rel=1e-12)
    assert isinstance(integral._forms["f"], dolfinx.fem.Form)
