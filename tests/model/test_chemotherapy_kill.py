"""The chemotherapy kill integrates the exposure: it does not depend on the drug step sizes."""

from __future__ import annotations

import pytest

from tests.model.test_tumour import SPHERE, rows

CHEMO = SPHERE + """
regions:
  necrotic: {kind: necrotic, growth: {diffusivity: "0 mm^2/s"}}
  tumour: {kind: tumour, growth: {diffusivity: "0 mm^2/s"}}
  host: {kind: normal, growth: {diffusivity: "0 mm^2/s"}}
physics:
  drug: {enabled: true}
  growth:
    proliferation_rate: "0 1/day"
    necrosis_rate: "0 1/day"
    drug_effect: {temozolomide: {max_kill_rate: "1 1/day", ec50: "2 mg/L"}}
time: {end: "2 day", max_step: "MAX", min_step: "MIN", output_every: "1 day"}
treatment:
  patient: {height: "170 cm", weight: "70 kg"}
  drugs: [{drug: temozolomide, dose: "150 mg/m^2", route: oral, schedule: "daily x 2"}]
"""


@pytest.mark.mpi
def test_halving_every_drug_step_changes_the_cells_killed_by_less_than_one_percent(shared_tmp, comm):
    from oncotwin.case import load_case
    from oncotwin.run.simulation import Simulation

    killed = {}
    for label, (largest, smallest) in {"coarse": ("12 h", "1 h"), "fine": ("6 h", "30 min")}.items():
        case_file = shared_tmp / f"chemo_{label}.yaml"
        if comm.rank == 0:
            case_file.write_text(CHEMO.replace("NAME", f"chemo_{label}").replace("MAX", largest)
                                 .replace("MIN", smallest))
        comm.barrier()
        case, sha = load_case(comm, case_file)[:2]
        out = Simulation(comm, case, case_file, sha, shared_tmp / f"chemo_{label}_run", shared_tmp / "meshes").run()
        data = rows(out)
        killed[label] = data[0]["tumour_cells"] - data[-1]["tumour_cells"]
    assert killed["coarse"] > 0
    assert killed["fine"] == pytest.approx(killed["coarse"], rel=0.01)
