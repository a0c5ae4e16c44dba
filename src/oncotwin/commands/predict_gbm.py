"""``oncotwin predict-gbm IN_DIR OUT_DIR``: the PREDICT-GBM benchmark contract (see
:mod:`oncotwin.studies.predict_gbm`): per patient, the tumour-cell concentration on the input grid.

Every patient folder is checked (files, grids, labels) before anything runs or is written. Each patient is
meshed and run in a hidden working folder of ``OUT_DIR`` that is removed afterwards; only
``OUT_DIR/<id>.nii.gz`` (named by the benchmark's own pseudonymous id, as its contract requires) remains.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin.case import load_case
from oncotwin.core.errors import OutputExistsError
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import new_file
from oncotwin.io.export import export_volume, read_output, write_nifti
from oncotwin.run.simulation import Simulation
from oncotwin.studies.predict_gbm import Patient, choose_parameters, find_patients, read_patient, write_case

#: Occupied density (what the tumour fills: viable, doomed and necrotic cells), the benchmark's concentration.
FIELDS = ("tumour_cells", "doomed_cells", "necrotic_cells")


def _check(in_dir: Path, out_dir: Path, force: bool) -> list[Patient]:
    patients = find_patients(in_dir)
    for patient in patients:
        read_patient(patient)
        target = out_dir / f"{patient.id}.nii.gz"
        if target.exists() and not force:
            raise OutputExistsError(f"{target}: exists; use --force to replace it")
    return patients


def _prepare(patient: Patient, work: Path, extent: str, index: int):
    data = read_patient(patient)
    params = choose_parameters(data)
    return write_case(patient, data, params, work, extent, index), params


def _export(run_dir: Path, patient: Patient, target: Path, force: bool) -> float:
    """Write the occupied density on the segmentation's grid; returns its maximum."""
    seg = read_patient(patient)["tumorseg"]
    total = None
    for field in FIELDS:
        blocks, _ = read_output(run_dir, field, None)
        values = export_volume(blocks, field, seg)
        total = values if total is None else total + values
    total = np.clip(total, 0.0, 1.0).astype(np.float32)
    with new_file(target, force) as tmp:
        write_nifti(tmp, total, seg, str(target))
    return float(total.max())


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Run every patient of ``IN_DIR`` into ``OUT_DIR``; returns the exit status."""
    in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
    patients = on_root(comm, _check, in_dir, out_dir, args.force)
    on_root(comm, lambda: out_dir.mkdir(parents=True, exist_ok=True))
    for index, patient in enumerate(patients):
        work = out_dir / f".oncotwin_work_{index}"
        case_path, params = on_root(comm, _prepare, patient, work, args.extent, index)
        case, digest = load_case(comm, case_path)
        try:
            run = Simulation(comm, case, case_path, digest, work / "run", work / "meshes", force=True,
                             show_progress=False).run()
            peak = on_root(comm, _export, run, patient, out_dir / f"{patient.id}.nii.gz", args.force)
        finally:
            on_root(comm, shutil.rmtree, work, True)
        if comm.rank == 0:
            print(f"{out_dir / (patient.id + '.nii.gz')}: rho {params.proliferation_rate:g}/day, D white "
                  f"{params.d_white:.3g} grey {params.d_grey:.3g} mm^2/day ({params.how}), {params.days:g} days, "
                  f"max {peak:.3f}")
    return 0
