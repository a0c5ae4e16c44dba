"""Multilevel start of a calibration: the MAP on a coarser mesh of the same patient starts the full fit.

The case's element sizes (``size_tumour``, ``size_far`` and ``size_rim``) are multiplied by the case's
``calibration.multilevel.coarse_factor``; everything else (geometry, margins, physics, observations,
prior) is the case's. The calibration runs to convergence on that mesh, with the full model, and its MAP
becomes the starting point on the case's mesh, where Levenberg-Marquardt (or the surrogate) then needs
fewer iterations of the expensive runs than from the prior. The coarse mesh has its own cache folder
(``<case name>_coarse<factor>``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin.core.log import get_logger
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh

log = get_logger("calibrate")


def coarse_case(case, factor: float):
    """The case on a mesh ``factor`` times coarser (element sizes scaled), under its own name and with
    the full model in the coarse search (no surrogate, no further level)."""
    mesh = case.mesh
    sizes = {"size_tumour": mesh.size_tumour * factor, "size_far": mesh.size_far * factor}
    if mesh.size_rim is not None:
        sizes["size_rim"] = mesh.size_rim * factor
    spec = case.calibration.model_copy(update={"surrogate": "off", "multilevel": None})
    return case.model_copy(update={"name": f"{case.name}_coarse{factor:g}", "mesh": mesh.model_copy(update=sizes),
                                   "calibration": spec})


def coarse_start(comm: MPI.Comm, subject, mesh_root: Path, calibrator_type, start: np.ndarray | None = None,
                 ranks_per_run: int | None = None) -> tuple[np.ndarray, dict]:
    """Calibrate ``subject`` on its coarse mesh; returns that MAP (log-parameters) and a record of it.

    Args:
        comm: communicator of the calibration.
        subject: the patient (:class:`~oncotwin.calibration.calibrate.Subject`; its case has a
            ``calibration.multilevel`` section).
        mesh_root: the mesh cache (the coarse mesh goes into its own folder there).
        calibrator_type: :class:`~oncotwin.calibration.calibrate.Calibrator` (passed in: that module
            imports this one).
        start: starting log-parameters (default: the case's).
        ranks_per_run: concurrent forward runs on groups of this many ranks (None: all ranks).
    """
    factor = subject.case.calibration.multilevel.coarse_factor
    started = time.perf_counter()
    case = coarse_case(subject.case, factor)
    folder, _ = ensure_mesh(comm, case, mesh_root, progress=log.info)
    tmesh = read_tagged_mesh(comm, folder)
    coarse = dataclasses.replace(subject, case=case, tmesh=tmesh, mesh_folder=folder, forward=None, misfits=[],
                                 scalars=[])
    calibrator = calibrator_type(comm, [coarse], start=start, ranks_per_run=ranks_per_run)
    result = calibrator.run()
    record = {"coarse_factor": factor, "cells": tmesh.mesh.topology.index_map(3).size_global,
              "forward_runs": result.runs, "converged": result.converged,
              "map": calibrator.values(result.x), "seconds": round(time.perf_counter() - started, 3)}
    log.info("calibrate: coarse level (sizes x %g, %d cells): MAP after %d forward runs; finishing on the case's "
             "mesh", factor, record["cells"], result.runs)
    return result.x, record
