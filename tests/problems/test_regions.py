"""Region-wise coefficients: one DG0 value per region of the mesh."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import dolfinx, ufl
from oncotwin.problems.fluid import FluidTissue
from oncotwin.problems.regions import Integrals, dg0_space, integrate, region_coefficient
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
