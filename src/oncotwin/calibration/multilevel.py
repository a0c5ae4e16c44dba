"""Multilevel start of a calibration: the MAP on a coarser mesh of the same patient starts the full fit.

The case's element sizes (``size_tumour``, ``size_far`` and ``size_rim``) are multiplied by the case's
``calibration.multilevel.coarse_factor`` ``f``. A segmentation geometry's images are coarsened too, by
blocks of ``k = floor(f)`` voxels (none for ``f < 2``): its surfaces keep the voxel size (see
:mod:`oncotwin.mesh.segmentation`), so larger element sizes alone hardly coarsen such a mesh (measured on
the twin lesion of the tests: 15,206 cells at the case's sizes, 14,259 at twice them). A label map or
tissue mask takes the label that covers most of each block, a probability map or scan the block mean.
Everything else (margins, physics, observations, prior) is the case's. The calibration runs to
convergence on that mesh, with the full model, and its MAP becomes the starting point on the case's mesh,
where Levenberg-Marquardt (or the surrogate) then needs fewer iterations of the expensive runs than from
the prior. The coarse mesh and images have their own folders in the mesh cache
(``<case name>_coarse<f>``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from mpi4py import MPI

from oncotwin.case.calibratable import PARAMETERS
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import on_root
from oncotwin.mesh.cache import ensure_mesh
from oncotwin.mesh.distribute import read_tagged_mesh

log = get_logger("calibrate")


def block_coarsened(data: np.ndarray, affine: np.ndarray, k: int, labels: bool) -> tuple[np.ndarray, np.ndarray]:
    """An image on blocks of ``k`` voxels per axis (edge-padded): the majority label or the mean value."""
    pad = [(0, -n % k) for n in data.shape[:3]]
    shape = [(n + p[1]) // k for n, p in zip(data.shape[:3], pad, strict=True)]

    def means(values: np.ndarray) -> np.ndarray:
        blocks = np.pad(values, pad, mode="edge").reshape(shape[0], k, shape[1], k, shape[2], k)
        return blocks.mean(axis=(1, 3, 5))

    if labels:
        values = np.unique(data)
        out = values[np.argmax([means((data == v).astype(np.float32)) for v in values], axis=0)]
    else:
        out = means(np.asarray(data, dtype=np.float32))
    coarse = affine.copy()
    coarse[:3, :3] = affine[:3, :3] * k
    coarse[:3, 3] = affine[:3, :3] @ np.full(3, 0.5 * (k - 1)) + affine[:3, 3]
    return out.astype(data.dtype), coarse


def _coarse_images(geometry, k: int, folder: Path) -> dict:
    """Write the block-coarsened images of a segmentation geometry into ``folder`` (rank 0); the updates
    of the geometry's paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"labels": (geometry.labels, True), "tissue_mask": (geometry.tissue_mask, True),
             "image": (geometry.image, False)}
    paths.update({f"tissue_maps.{n}": (p, False) for n, p in (geometry.tissue_maps or {}).items()})
    written = {}
    for key, (path, labels) in paths.items():
        if path is None:
            continue
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
        if key == "tissue_mask":  # inside as images.read_mask reads it: a vote of two labels, whatever the values
            data = (data > 0.5 * min(float(data.max()), 1.0)).astype(np.uint8)
        data, affine = block_coarsened(data, image.affine, k, labels)
        written[key] = folder / f"{key}.nii"  # uncompressed: the same bytes every time (the mesh cache's hash)
        nib.save(nib.Nifti1Image(data, affine), written[key])
    update = {key: path for key, path in written.items() if "." not in key}
    maps = {key.split(".", 1)[1]: path for key, path in written.items() if key.startswith("tissue_maps.")}
    return update | ({"tissue_maps": maps} if maps else {})


def coarse_case(case, factor: float, image_folder: Path | None = None, comm: MPI.Comm = MPI.COMM_SELF):
    """The case on a mesh ``factor`` times coarser, under its own name and with the full model in the
    coarse search (no surrogate, no further level).

    Args:
        case: the case.
        factor: the coarse factor (> 1).
        image_folder: where the coarsened images of a segmentation geometry go (None: the images are kept).
        comm: rank 0 writes them.
    """
    mesh = case.mesh
    sizes = {"size_tumour": mesh.size_tumour * factor, "size_far": mesh.size_far * factor}
    if mesh.size_rim is not None:
        sizes["size_rim"] = mesh.size_rim * factor
    spec = case.calibration.model_copy(update={"surrogate": "off", "multilevel": None})
    update = {"name": f"{case.name}_coarse{factor:g}", "mesh": mesh.model_copy(update=sizes), "calibration": spec}
    k = int(np.floor(factor))
    if image_folder is not None and k >= 2 and getattr(case.geometry, "kind", None) == "segmentation":
        paths = on_root(comm, _coarse_images, case.geometry, k, Path(image_folder))
        update["geometry"] = case.geometry.model_copy(update=paths)
    return case.model_copy(update=update)


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
    case = coarse_case(subject.case, factor, Path(mesh_root) / f"{subject.case.name}_coarse{factor:g}_images", comm)
    folder, _ = ensure_mesh(comm, case, mesh_root, progress=log.info)
    tmesh = read_tagged_mesh(comm, folder)
    coarse = dataclasses.replace(subject, case=case, tmesh=tmesh, mesh_folder=folder, forward=None, misfits=[],
                                 scalars=[])
    calibrator = calibrator_type(comm, [coarse], start=start, ranks_per_run=ranks_per_run)
    result = calibrator.run()
    values = calibrator.values(result.x)
    record = {"coarse_factor": factor, "cells": tmesh.mesh.topology.index_map(3).size_global,
              "forward_runs": result.runs, "converged": result.converged,
              "map": {n: PARAMETERS[n].user_value(v) for n, v in values.items()},
              "seconds": round(time.perf_counter() - started, 3)}
    log.info("calibrate: coarse level (sizes x %g, %d cells): MAP after %d forward runs; finishing on the case's "
             "mesh", factor, record["cells"], result.runs)
    return result.x, record
