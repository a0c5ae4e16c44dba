"""Checkpoints of a running simulation, for ``oncotwin run CASE --resume`` after a crash or a kill.

A checkpoint lives in the run's working folder (``.<name>.partial-*/checkpoint``): one ``.npz`` of
arrays per rank (the local degrees of freedom, including ghosts) and ``meta.json`` (rank 0: time,
tables so far, the field index). Every save is a new generation; ``meta.json`` is replaced last and
atomically, so a kill at any moment leaves the previous complete checkpoint. A resumed run must use the
same case file (same hash) and the same number of ranks (same partition of the same cached mesh).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin.core.errors import RunDirectoryError
from oncotwin.core.parallel import collective, on_root

FOLDER = "checkpoint"
META = "meta.json"


def save(comm: MPI.Comm, work: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write a new checkpoint generation (collective)."""
    folder = Path(work) / FOLDER
    if comm.rank == 0:
        folder.mkdir(exist_ok=True)
    comm.barrier()
    previous = comm.bcast(_read_meta(folder).get("generation", -1) if comm.rank == 0 else None, root=0)
    generation = previous + 1
    target = folder / f"state_g{generation}_r{comm.rank}.npz"
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, target)
    hashes = comm.gather(_sha256(target), root=0)  # also: every rank's arrays are on disk before the metadata
    if comm.rank == 0:
        text = json.dumps({**meta, "generation": generation, "ranks": comm.size, "sha256": hashes},
                          default=_plain)
        (folder / (META + ".tmp")).write_text(text)
        os.replace(folder / (META + ".tmp"), folder / META)
        for old in folder.glob(f"state_g{previous}_r*.npz"):
            old.unlink(missing_ok=True)
    comm.barrier()


def load(comm: MPI.Comm, work: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The last complete checkpoint: metadata (every rank) and this rank's arrays.

    Raises:
        RunDirectoryError: on every rank (the same line) when any rank's file is missing, damaged or
            differs from the content hash recorded when it was written.
    """
    folder = Path(work) / FOLDER
    meta = on_root(comm, _read_meta, folder)
    return meta, collective(comm, _read_arrays, folder / f"state_g{meta['generation']}_r{comm.rank}.npz",
                            (meta.get("sha256") or [None] * comm.size)[comm.rank], work)


def _read_arrays(path: Path, sha256: str | None, work: Path) -> dict[str, np.ndarray]:
    damaged = (f"{path}: the checkpoint is damaged ({{}}); remove {work} to start again at t = 0, or run "
               "without --resume")
    try:
        if sha256 is not None and _sha256(path) != sha256:
            raise RunDirectoryError(damaged.format("its content hash differs from the one recorded"))
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except OSError as exc:
        raise RunDirectoryError(damaged.format(exc.strerror or "unreadable")) from None
    except (ValueError, KeyError, EOFError) as exc:  # np.load of a truncated or foreign file
        raise RunDirectoryError(damaged.format(" ".join(str(exc).split())[:80] or "unreadable")) from None


def find_resumable(comm: MPI.Comm, final: Path, case_sha256: str) -> Path | None:
    """Newest working folder of ``final`` with a checkpoint of this case and rank count (or None)."""

    def find() -> Path | None:
        target = Path(final).resolve()
        candidates = []
        for work in target.parent.glob(f".{target.name}.partial-*"):
            meta = _read_meta(work / FOLDER)
            if not meta:
                continue
            if meta.get("case_sha256") != case_sha256:
                continue
            if meta.get("ranks") != comm.size:
                raise RunDirectoryError(
                    f"{work}: the checkpoint was written by {meta.get('ranks')} rank(s); resume with "
                    f"mpirun -n {meta.get('ranks')} (this run has {comm.size})")
            candidates.append(((work / FOLDER / META).stat().st_mtime, work))
        return max(candidates)[1] if candidates else None

    return on_root(comm, find)


def discard_stale(comm: MPI.Comm, final: Path, case_sha256: str) -> list[Path]:
    """Remove the working folders of ``final`` whose checkpoint is of another case file (rank 0).

    Call with the lock of ``final`` held, so that no live run's folder is touched. Returns the removed
    folders (on every rank).
    """

    def remove() -> list[Path]:
        target = Path(final).resolve()
        stale = [work for work in sorted(target.parent.glob(f".{target.name}.partial-*"))
                 if _read_meta(work / FOLDER).get("case_sha256") not in (None, case_sha256)]
        for work in stale:
            shutil.rmtree(work, ignore_errors=True)
        return stale

    return on_root(comm, remove)


def saved_time(comm: MPI.Comm, work: Path) -> float | None:
    """Time [s] of the last complete checkpoint in ``work`` (None when there is none)."""
    meta = on_root(comm, _read_meta, Path(work) / FOLDER)
    return float(meta["time"]) if meta else None


def discard(comm: MPI.Comm, work: Path) -> None:
    """Remove the checkpoints of a finished run (they do not belong to the result)."""
    if comm.rank == 0:
        shutil.rmtree(Path(work) / FOLDER, ignore_errors=True)
    comm.barrier()


def _read_meta(folder: Path) -> dict:
    path = folder / META
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
