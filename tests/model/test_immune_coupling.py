"""The T-cell field coupled into a run: off changes nothing, on writes its outputs and its kill lowers the
tumour cells; serial and under mpirun -n 2."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.model.test_tumour import SPHERE, rows

GROWING = SPHERE + """
regions:
  necrotic: {kind: necrotic}
  tumour: {kind: tumour}
  host: {kind: normal, growth: {diffusivity: "0.3 mm^2/day"}}
physics:
  growth: {step: "1 day", proliferation_rate: "0.2 1/day"}
  IMMUNE
time: {end: "4 day", max_step: "12 h", min_step: "1 h", output_every: "1 day"}
treatment:
  patient: {height: "170 cm", weight: "70 kg" PROFILE}
  radiotherapy: {dose_per_fraction: "2 Gy", schedule: "days 2-3", alpha: "0.3 1/Gy", alpha_beta: "10 Gy"}
"""
IMMUNE_MARKERS = ', profile: {pdl1_tps: "60 %", cd8_density: "1500 cells/mm^2", tmb: "12 mut/Mb"}'


def _run(shared_tmp, comm, name: str, text: str):
    from oncotwin.case import load_case
    from oncotwin.run.simulation import Simulation

    case_file = shared_tmp / f"{name}.yaml"
    if comm.rank == 0:
        case_file.write_text(text.replace("NAME", name))
    comm.barrier()
    case, sha = load_case(comm, case_file)[:2]
    return Simulation(comm, case, case_file, sha, shared_tmp / f"{name}_run", shared_tmp / "meshes",
                      show_progress=False).run()


@pytest.mark.mpi
@pytest.mark.timeout(300)
def test_immune_off_gives_the_result_without_the_immune_section_to_1e_12(shared_tmp, comm):
    # the immune markers of the profile act only through the compartment: off, they must not leak either
    plain = rows(_run(shared_tmp, comm, "immune_absent", GROWING.replace("IMMUNE", "").replace(" PROFILE", "")))
    off = rows(_run(shared_tmp, comm, "immune_off", GROWING.replace("IMMUNE", "immune: {enabled: false}")
                    .replace(" PROFILE", IMMUNE_MARKERS)))
    assert [sorted(r) for r in plain] == [sorted(r) for r in off]
    assert plain[-1]["tumour_cells"] != plain[0]["tumour_cells"]  # something happened
    for a, b in zip(plain, off, strict=True):
        for key, value in a.items():
            if math.isfinite(value):
                assert b[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key
