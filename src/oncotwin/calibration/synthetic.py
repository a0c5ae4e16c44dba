"""Synthetic follow-up segmentations from a model run with known parameters (twin experiments).

The simulated visible-tumour density is rasterised onto the baseline labels' grid and segmented at the
detection threshold. Segmentation noise is modelled as an observer who draws the boundary at another
iso-level: the level is chosen so that the segmented volume is the true one times ``exp(sd * xi)``,
``xi`` standard normal (log-normal volume noise, as the misfit's ``volume_sd`` assumes).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import yaml
from mpi4py import MPI

from oncotwin.calibration.forward import ForwardModel
from oncotwin.core.fenics import dolfinx
from oncotwin.imaging.images import read_label_map
from oncotwin.io.raster import rasterise_density

DAY = 86400.0


def segment(values: np.ndarray, threshold: float, log_volume_noise: float = 0.0) -> np.ndarray:
    """Binary mask of ``values`` at ``threshold``, or at the level giving the noisy volume."""
    mask = values >= threshold
    if log_volume_noise == 0.0 or not mask.any():
        return mask
    target = int(round(mask.sum() * np.exp(log_volume_noise)))
    ordered = np.sort(values[values > 0].ravel())[::-1]
    target = min(max(target, 1), len(ordered))
    return values >= ordered[target - 1]


def write_synthetic_observations(comm: MPI.Comm, case, tmesh, values: dict[str, float], times_day: list[float],
                                 folder: Path, labels: tuple[int, ...] = (1,), volume_sd: float = 0.0,
                                 seed: int = 0) -> Path:
    """Run ``case`` with ``values`` and write one segmentation per time plus an observation file.

    Args:
        comm: communicator of the mesh.
        case: a segmentation case (its labels image gives the grid).
        tmesh: its distributed mesh.
        values: parameter values (internal units) of the truth.
        times_day: observation times [day].
        folder: where the NIfTI files and ``observations.yaml`` go (rank 0 writes).
        labels: label value of the tumour in the written segmentations.
        volume_sd: log-normal segmentation volume noise (0: noise-free).
        seed: random seed of the noise.

    Returns:
        The observation file.
    """
    reference = read_label_map(case.geometry.labels, "geometry.labels")
    times = [t * DAY for t in times_day]
    forward = ForwardModel(case, tmesh, times)
    trajectory = forward.run(values)
    V = dolfinx.fem.functionspace(tmesh.mesh, ("Lagrange", 1))
    u = dolfinx.fem.Function(V)
    threshold = case.physics.growth.detection_threshold
    rng = np.random.default_rng(seed)
    entries = []
    folder = Path(folder)
    if comm.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
    for t, day in zip(times, times_day, strict=True):
        u.x.array[:] = trajectory.density[t]
        grid = rasterise_density(u, reference.shape, reference.affine)
        noise = float(rng.standard_normal()) * volume_sd
        if comm.rank == 0:
            mask = segment(grid, threshold, noise).astype(np.uint8) * np.uint8(labels[0])
            name = f"followup_day{day:g}.nii.gz"
            nib.save(nib.Nifti1Image(mask, reference.affine), folder / name)
            entries.append({"segmentation": name, "labels": list(labels), "time": f"{day:g} day"})
    path = folder / "observations.yaml"
    if comm.rank == 0:
        path.write_text("# synthetic follow-ups (twin experiment)\n" + yaml.safe_dump({"observations": entries},
                                                                                       sort_keys=False))
    comm.barrier()
    return path
