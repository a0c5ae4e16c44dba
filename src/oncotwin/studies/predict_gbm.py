"""The PREDICT-GBM benchmark contract: per patient, tissue maps and a tumour segmentation in, the model's
tumour-cell concentration out, on the input grid.

Input layout (one folder per patient, or the files directly in the input folder)::

    IN_DIR/<folder>/<id>-gm.nii.gz  <id>-wm.nii.gz  <id>-csf.nii.gz  <id>-tumorseg.nii.gz  [<id>-pet.nii.gz]

``tumorseg`` follows the BraTS 2023 convention of the benchmark (1 necrotic core, 2 edema, 3 enhancing
tumour). Output: ``OUT_DIR/<id>.nii.gz``, float32 tumour-cell density (fraction of the carrying capacity) with
the input's shape and affine; 0 outside the brain.

From the single time point (no follow-up to fit), per patient:

* **Proliferation rate** ``rho``: the literature default (:data:`oncotwin.defaults.tissue.PROLIFERATION_RATE`,
  within the high-grade range of Rockne et al. 2010).
* **Invasion**: ``D/rho`` from the two visible edges (Harpold, Alvord & Swanson, J. Neuropathol. Exp. Neurol.
  66:1, 2007: the T1Gd and T2/FLAIR radii fix ``D/rho``). The gap between the sphere-equivalent radii of the
  core (labels 1, 3) and of the whole lesion is the distance between the 80 % (T1Gd) and 16 % (FLAIR) levels
  (Rockne et al. 2010) of the model's own front, the minimal-speed Fisher-KPP wave: 6.11 ``lambda``,
  ``lambda = sqrt(D / rho)`` (:func:`oncotwin.imaging.front_profile.front_level_gap`; the pure exponential
  tail's ``lambda ln 5`` would make ``D`` 14x too large). ``D_white = lambda^2 rho`` (bounded to
  0.005-5 mm^2/day), ``D_grey = D_white / 5`` (Swanson et al. 2000), none in CSF; lesion regions take the
  white/grey mix of the tissue maps inside the lesion. Without edema the defaults are used.
* **Initial condition**: the segmentation's regions at the defaults of the region kinds (enhancing tumour
  0.9, edema 0.3, necrotic core dead cells), with the visible edges at their thresholds.
* **Run**: two-clone growth only (no treatment, fluid, drug, oxygen or mechanics) over ``T = 1/(4 rho)``, the
  time in which diffusion spreads cells over the infiltration length ``lambda`` (``sqrt(4 D T) = lambda``):
  the piecewise-constant densities of the segmentation relax into the model's infiltrating profile, which
  reaches beyond the FLAIR edge (what the benchmark scores against the recurrence).
* **PET** (optional) is checked to lie on the grid; the model does not use it yet (documented).

The whole brain (the tissue maps' union) is meshed with the skull as the outer boundary (``extent
whole_brain``; ``crop`` keeps the 15 mm crop for speed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from oncotwin.core.errors import InputDataError
from oncotwin.core.units import to_internal
from oncotwin.defaults.tissue import PROLIFERATION_RATE
from oncotwin.imaging import images
from oncotwin.imaging.front_profile import equivalent_radius, front_length

REQUIRED = ("gm", "wm", "csf", "tumorseg")
LABELS = {"necrotic": 1, "edema": 2, "enhancing": 3}  # BraTS 2023, the benchmark's convention
CORE = ("necrotic", "enhancing")
WHITE_TO_GREY = 5.0  # Swanson et al. 2000
D_BOUNDS = (0.005, 5.0)  # mm^2/day, the calibration bounds of cases/brats2013_pat0001_calibration.yaml
DEFAULT_D_WHITE = 0.65  # mm^2/day: 5x the grey-matter default 0.13 (Swanson et al. 2000)
DAY = 86400.0


@dataclass(frozen=True)
class Patient:
    """One patient folder of the benchmark layout."""

    id: str
    files: dict[str, Path]
    pet: Path | None


@dataclass(frozen=True)
class Parameters:
    """Model parameters chosen from the single time point (rates per day, lengths in mm)."""

    proliferation_rate: float
    d_white: float
    d_grey: float
    d_lesion: float
    infiltration_length: float
    days: float
    how: str


def find_patients(in_dir: Path) -> list[Patient]:
    """Every patient of ``in_dir`` (sorted); a patient missing a required file is an error naming it.

    Raises:
        InputDataError: no patient, or a missing required file.
    """
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise InputDataError(f"{in_dir}: IN_DIR: not a folder")
    folders = [in_dir] + sorted(p for p in in_dir.iterdir() if p.is_dir())
    found = []
    for folder in folders:
        ids = sorted({f.name[: -len(f"-{kind}.nii.gz")] for f in folder.glob("*.nii.gz")
                      for kind in (*REQUIRED, "pet") if f.name.endswith(f"-{kind}.nii.gz")})
        for pid in ids:
            files = {kind: folder / f"{pid}-{kind}.nii.gz" for kind in REQUIRED}
            for kind, path in files.items():
                if not path.is_file():
                    raise InputDataError(f"{path}: missing required file {path.name} (PREDICT-GBM layout: "
                                         f"<id>-{'/-'.join(REQUIRED)}.nii.gz, optional <id>-pet.nii.gz)")
            pet = folder / f"{pid}-pet.nii.gz"
            found.append(Patient(pid, files, pet if pet.is_file() else None))
    if not found:
        raise InputDataError(f"{in_dir}: IN_DIR: no patient files (<id>-{'/-'.join(REQUIRED)}.nii.gz) in it or "
                             "its subfolders")
    ids = [p.id for p in found]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise InputDataError(f"{in_dir}: IN_DIR: patient id {twice[0]} appears in two folders; ids must be unique")
    return found


def read_patient(patient: Patient) -> dict[str, images.Image]:
    """The patient's images, each checked to lie on the segmentation's grid."""
    seg = images.read_label_map(patient.files["tumorseg"], "tumorseg")
    out = {"tumorseg": seg}
    for kind in ("gm", "wm", "csf"):
        out[kind] = images.read_probability_map(patient.files[kind], kind)
        images.check_same_grid(seg, out[kind], kind)
    if patient.pet is not None:
        images.check_same_grid(seg, images.read_image(patient.pet, "pet"), "pet")
    unknown = sorted(set(np.unique(seg.array).tolist()) - {0, *LABELS.values()})
    if unknown:
        raise InputDataError(f"{seg.path}: key 'tumorseg': label {unknown[0]} is not a BraTS 2023 label; "
                             "allowed 0, 1 (necrotic), 2 (edema), 3 (enhancing)")
    if not np.isin(seg.array, [LABELS[n] for n in CORE]).any():
        raise InputDataError(f"{seg.path}: key 'tumorseg': no tumour core (labels 1 or 3); the model needs one")
    return out


def choose_parameters(data: dict[str, images.Image]) -> Parameters:
    """Growth parameters of one patient from its single time point (see the module docstring)."""
    seg = data["tumorseg"].array
    voxel = data["tumorseg"].voxel_volume
    rho = to_internal(PROLIFERATION_RATE, "1/s") * DAY  # 1/day

    core_voxels = int(np.count_nonzero(np.isin(seg, [LABELS[n] for n in CORE])))
    lesion_voxels = int(np.count_nonzero(seg > 0))
    length = front_length(core_voxels, lesion_voxels, voxel)  # T1Gd 80 %, FLAIR 16 % (Rockne 2010)
    if length is not None:
        core, lesion = equivalent_radius(core_voxels, voxel), equivalent_radius(lesion_voxels, voxel)
        d_white = float(np.clip(length**2 * rho, *D_BOUNDS))
        how = (f"D/rho from the edges: core radius {core:.1f} mm, lesion radius {lesion:.1f} mm, "
               f"lambda {length:.2f} mm")
    else:
        d_white = DEFAULT_D_WHITE
        how = "no edema: default diffusivities"
    length = math.sqrt(d_white / rho)
    d_grey = d_white / WHITE_TO_GREY
    inside = seg > 0
    wm, gm = data["wm"].array[inside], data["gm"].array[inside]
    white_share = float(np.sum(wm) / max(float(np.sum(wm + gm)), 1e-12))
    d_lesion = d_grey + (d_white - d_grey) * white_share
    return Parameters(rho, d_white, d_grey, d_lesion, length, 1.0 / (4.0 * rho), how)


def write_case(patient: Patient, data: dict[str, images.Image], params: Parameters, work: Path,
               extent: str, index: int = 0) -> Path:
    """Write the brain mask and the case file of one patient into ``work``; returns the case file.

    The case is named by the patient's position (``index``), never by its id (identifiers stay out of the
    run's files)."""
    import nibabel as nib

    seg = data["tumorseg"]
    brain = (data["gm"].array + data["wm"].array + data["csf"].array > 0.5) | (seg.array > 0)
    work.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(brain.astype(np.uint8), seg.affine), str(work / "brain.nii.gz"))
    present = set(np.unique(seg.array).tolist())
    labelled = {name: [value] for name, value in LABELS.items() if value in present}
    lesion_growth = {"growth": {"diffusivity": f"{params.d_lesion!r} mm^2/day"}}
    regions = {"necrotic": {"kind": "necrotic"}, "edema": {"kind": "edema", **lesion_growth},
               "enhancing": {"kind": "tumour", **lesion_growth}}
    regions = {name: regions[name] for name in labelled}
    regions |= {"grey": {"kind": "normal", "tissue": "grey_matter",
                         "growth": {"diffusivity": f"{params.d_grey!r} mm^2/day"}},
                "white": {"kind": "normal", "tissue": "white_matter",
                          "growth": {"diffusivity": f"{params.d_white!r} mm^2/day"}},
                "csf": {"kind": "normal", "tissue": "csf"}}
    step_hours = min(12.0, params.days * 24.0 / 4.0)
    case = {
        "name": f"predict_gbm_{index}",
        "description": f"PREDICT-GBM patient {index}: {params.how}",
        "geometry": {"kind": "segmentation", "labels": str(patient.files["tumorseg"].resolve()),
                     "tissue_mask": str((work / "brain.nii.gz").resolve()), "regions": labelled,
                     "tissue_maps": {"grey": str(patient.files["gm"].resolve()),
                                     "white": str(patient.files["wm"].resolve()),
                                     "csf": str(patient.files["csf"].resolve())},
                     "extent": extent},
        "mesh": {"size_tumour": "2 mm", "size_rim": "1.5 mm", "grading_distance": "15 mm", "size_far": "6 mm",
                 "margin": "15 mm"},
        "regions": regions,
        "physics": {"fluid": {"enabled": False}, "drug": {"enabled": False}, "oxygen": {"enabled": False},
                    "mechanics": {"enabled": False},
                    "growth": {"step": f"{step_hours!r} h", "remodel_every": None,
                               "proliferation_rate": f"{params.proliferation_rate!r} 1/day"}},
        "time": {"end": f"{params.days!r} day", "max_step": f"{step_hours!r} h", "min_step": "10 min",
                 "output_every": f"{params.days!r} day"},
        "output": {"figures": False},
    }
    path = work / "case.yaml"
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    return path
