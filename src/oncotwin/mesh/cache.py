"""The mesh cache: ``<mesh dir>/<case name>/`` keyed by a hash of the inputs and meshing parameters.

Meshing happens on rank 0; every rank gets the folder path (or the error). Inputs are identified by the
content hash of their files, never by header text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mpi4py import MPI

from oncotwin.case.schema import Case
from oncotwin.core.errors import RunDirectoryError
from oncotwin.core.hashing import file_sha256
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import describe
from oncotwin.mesh.estimate import check_mesh_size
from oncotwin.mesh.generate import generate_mesh
from oncotwin.mesh.job import MeshJob, mesh_job

MESH_FORMAT_VERSION = 2
MSH_NAME = "mesh.msh"
MESH_HASH_NAME = "mesh.sha256"  # content hash of mesh.msh, checked before a cached mesh is reused


def mesher_fingerprint() -> str:
    """Hash of the meshing code itself: a new mesher invalidates cached meshes automatically."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def mesh_inputs(case: Case) -> dict:
    """Everything the mesh of ``case`` depends on, with input files replaced by their content hashes."""
    return _job_inputs(mesh_job(case))


def mesh_inputs_hash(case: Case) -> str:
    """SHA-256 of :func:`mesh_inputs` (stable JSON)."""
    return _job_inputs_hash(mesh_job(case))


_LATER_DEFAULTS = {"extent": "crop", "atlas": None}


def _job_inputs(job: MeshJob) -> dict:

    def hashed(value):
        if isinstance(value, dict):
            return {k: hashed(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [hashed(v) for v in value]
        if isinstance(value, Path) and value.is_dir():  # a DICOM series: every slice file by name
            return {"sha256": {p.name: file_sha256(p) for p in sorted(value.iterdir()) if p.is_file()}}
        if isinstance(value, Path):
            return {"sha256": file_sha256(value)}
        return value

    # the background image of the figures does not change the mesh (unless the atlas is registered to it);
    # keys added later are hashed only when they differ from their default, so older caches stay valid
    fields = job.geometry.__dict__
    skip = {"image"} if fields.get("atlas") is None else set()
    skip |= {k for k, default in _LATER_DEFAULTS.items() if k in fields and fields[k] == default}
    geometry = hashed({k: v for k, v in fields.items() if k not in skip})
    return {
        "format": MESH_FORMAT_VERSION,
        "mesher": mesher_fingerprint(),
        "geometry": geometry,
        "mesh": job.options.model_dump(),
        "region_tags": dict(job.regions.tags),
        "tumour_regions": list(job.regions.tumour),
        "boundaries": list(job.regions.boundaries),
    }


def _job_inputs_hash(job: MeshJob) -> str:
    text = json.dumps(_job_inputs(job), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _build(job: MeshJob, folder: Path, force: bool, progress: Callable[[str], None]) -> tuple[Path, bool]:
    digest = _job_inputs_hash(job)
    stamp = folder / "inputs.sha256"
    _check_cache_folder(folder)
    if not force and stamp.is_file() and stamp.read_text().strip() == digest and _mesh_intact(folder, progress):
        return folder, True
    check_mesh_size(job)  # before anything is written or gmsh starts
    created = [p for p in (folder.parent, *folder.parent.parents) if not p.exists()]  # deepest first
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        start = time.perf_counter()
        report = generate_mesh(job, tmp / MSH_NAME, progress)
        report["seconds"] = time.perf_counter() - start
        (tmp / "quality.json").write_text(json.dumps(report, indent=2) + "\n")
        regions = {"regions": dict(job.regions.tags), "boundaries": job.regions.boundary_tags(),
                   "tumour_regions": list(job.regions.tumour)}
        (tmp / "regions.json").write_text(json.dumps(regions, indent=2) + "\n")
        (tmp / MESH_HASH_NAME).write_text(file_sha256(tmp / MSH_NAME) + "\n")
        (tmp / "inputs.sha256").write_text(digest + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in created:  # a failed mesh leaves no empty cache folders behind
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    return folder, False


def _check_cache_folder(folder: Path) -> None:
    """Refuse a mesh folder that is not oncotwin's cache (it would be replaced) or a mesh root that is a file."""
    if folder.parent.exists() and not folder.parent.is_dir():
        raise RunDirectoryError(f"{folder.parent}: --mesh-dir is not a folder")
    if folder.exists() and not folder.is_dir():
        raise RunDirectoryError(f"{folder}: exists and is not a mesh folder; choose another --mesh-dir")
    if folder.is_dir() and not (folder / "inputs.sha256").is_file() and any(folder.iterdir()):
        raise RunDirectoryError(f"{folder}: not an oncotwin mesh folder ({describe(folder)}); "
                                "choose another --mesh-dir")


def _mesh_intact(folder: Path, progress: Callable[[str], None]) -> bool:
    """Whether the cached mesh file is the one written (content hash): a truncated file is meshed anew."""
    recorded = folder / MESH_HASH_NAME
    msh = folder / MSH_NAME
    if not msh.is_file() or not recorded.is_file() or recorded.read_text().strip() != file_sha256(msh):
        progress(f"cached mesh {msh} is missing or does not match its hash: meshing again")
        return False
    return True


def ensure_mesh(comm: MPI.Comm, case: Case, mesh_root: Path, *, force: bool = False,
                progress: Callable[[str], None] = lambda _: None) -> tuple[Path, bool]:
    """Return the mesh folder of ``case`` (meshing on rank 0 when the cache is stale).

    Returns:
        The folder and whether the cache was reused.
    """
    return on_root(comm, _build, mesh_job(case), Path(mesh_root) / case.name, force, progress)
