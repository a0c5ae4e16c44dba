"""Checkpoints of a running simulation, for ``oncotwin run CASE --resume`` after a crash or a kill.

A checkpoint lives in the run's working folder (``.<name>.partial-*/checkpoint``): one ``.npz`` per rank
and ``meta.json`` (rank 0: time, tables so far, the field index, how each array is stored, the content
hash of every rank's file). Every save is a new generation; ``meta.json`` is replaced last and
atomically, so a kill at any moment leaves the previous complete checkpoint. A resumed run must use the
same case file (same hash).

The arrays are stored by partition-independent keys (:mod:`oncotwin.run.partition`): each rank writes
the values of the entries it owns, with their keys, and a resumed run on any number of ranks reads
every rank's file and picks the entries of its own partition (owned and ghost). Arrays that match no
layout and differ between ranks are stored as they are; a checkpoint holding such an array (and one
of the earlier format, which stored every rank's local arrays) resumes on the same rank count only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

from oncotwin.core.errors import RunDirectoryError
from oncotwin.core.parallel import collective, on_root
from oncotwin.run.partition import Layout, Lookup, classify, owned_part

FOLDER = "checkpoint"
META = "meta.json"
FORMAT = 2


def save(comm: MPI.Comm, work: Path, meta: dict, arrays: dict[str, np.ndarray],
         layouts: dict[str, Layout]) -> None:
    """Write a new checkpoint generation (collective).

    Args:
        comm: communicator of the run.
        work: the run's working folder.
        meta: small JSON data (rank 0's is written).
        arrays: this rank's state arrays (see :func:`oncotwin.run.partition.classify`).
        layouts: the layouts of the mesh, by name (:func:`oncotwin.run.partition.layouts`).
    """
    stored = classify(comm, arrays, layouts)
    content = _pieces_content(comm, arrays, stored, layouts)
    folder = Path(work) / FOLDER
    if comm.rank == 0:
        folder.mkdir(exist_ok=True)
    comm.barrier()
    previous = comm.bcast(_read_meta(folder).get("generation", -1) if comm.rank == 0 else None, root=0)
    generation = previous + 1
    target = folder / f"state_g{generation}_r{comm.rank}.npz"
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, **content)
    os.replace(tmp, target)
    hashes = comm.gather(_sha256(target), root=0)  # also: every rank's arrays are on disk before the metadata
    if comm.rank == 0:
        text = json.dumps({**meta, "generation": generation, "ranks": comm.size, "sha256": hashes,
                           "format": FORMAT, "stored": stored}, default=_plain)
        (folder / (META + ".tmp")).write_text(text)
        os.replace(folder / (META + ".tmp"), folder / META)
        for old in folder.glob(f"state_g{previous}_r*.npz"):
            old.unlink(missing_ok=True)
    comm.barrier()


def _pieces_content(comm: MPI.Comm, arrays: dict[str, np.ndarray], stored: dict[str, list[str]],
                    layouts: dict[str, Layout]) -> dict[str, np.ndarray]:
    """What this rank's file holds: the owned keys of each layout used, then every array by its kind."""
    content = {}
    for name, (kind, layout) in stored.items():
        if kind in ("field", "rows"):
            content.setdefault(f"keys:{layout}", layouts[layout].keys[:layouts[layout].owned])
            content[f"{kind}:{name}"] = owned_part(arrays[name], kind, layouts[layout])
        elif kind == "local" or comm.rank == 0:  # a global array once, in rank 0's file
            content[f"{kind}:{name}"] = arrays[name]
    return content


@dataclass
class Stored:
    """A checkpoint read back: its metadata and the arrays of the rank files it needs.

    Attributes:
        meta: the metadata (every rank).
        pieces: every rank's file (current format), or only this rank's (earlier format).
    """

    meta: dict
    pieces: list[dict[str, np.ndarray]]

    def arrays(self, comm: MPI.Comm, layouts: dict[str, Layout]) -> dict[str, np.ndarray]:
        """This rank's state arrays on the current partition (collective).

        Raises:
            RunDirectoryError: on every rank when the checkpoint's mesh differs from the run's.
        """
        return collective(comm, self._arrays, comm.rank, layouts)

    def _arrays(self, rank: int, layouts: dict[str, Layout]) -> dict[str, np.ndarray]:
        if "stored" not in self.meta:  # earlier format: this rank's local arrays as they were
            return dict(self.pieces[0])
        lookups: dict[str, Lookup] = {}
        out = {}
        for name, (kind, layout) in self.meta["stored"].items():
            if kind == "global":
                out[name] = self.pieces[0][f"global:{name}"]
            elif kind == "local":
                out[name] = self.pieces[rank][f"local:{name}"]
            else:
                if layout not in lookups:
                    lookups[layout] = self._lookup(layout, layouts)
                values = np.concatenate([p[f"{kind}:{name}"] for p in self.pieces], axis=0 if kind == "field" else 1)
                out[name] = lookups[layout].field(values) if kind == "field" else lookups[layout].rows(values)
        return out

    def _lookup(self, layout: str, layouts: dict[str, Layout]) -> Lookup:
        keys = np.concatenate([p[f"keys:{layout}"] for p in self.pieces])
        try:
            return Lookup(layouts[layout], keys)
        except KeyError:
            raise RunDirectoryError(
                f"the checkpoint's {layout} entries do not match this run's mesh (was the mesh rebuilt?); "
                "run without --resume") from None


def load(comm: MPI.Comm, work: Path) -> Stored:
    """The last complete checkpoint: its metadata and the rank files this rank needs.

    Raises:
        RunDirectoryError: on every rank (the same line) when any rank's file is missing, damaged or
            differs from the content hash recorded when it was written.
    """
    folder = Path(work) / FOLDER
    meta = on_root(comm, _read_meta, folder)
    hashes = meta.get("sha256") or [None] * meta["ranks"]
    ranks = range(meta["ranks"]) if "stored" in meta else [comm.rank]
    pieces = collective(comm, lambda: [_read_arrays(folder / f"state_g{meta['generation']}_r{r}.npz", hashes[r], work)
                                       for r in ranks])
    return Stored(meta, pieces)


def partition_bound(meta: dict) -> list[str]:
    """Names of the arrays that only the rank count that wrote them can read (all, in the earlier format)."""
    if "stored" not in meta:
        return ["every array (checkpoint of an earlier version)"]
    return [name for name, (kind, _) in meta["stored"].items() if kind == "local"]


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
    """Newest working folder of ``final`` with a checkpoint of this case (or None).

    Raises:
        RunDirectoryError: the checkpoint holds partition-bound state and was written on another rank count.
    """

    def find() -> Path | None:
        target = Path(final).resolve()
        candidates = []
        for work in target.parent.glob(f".{target.name}.partial-*"):
            meta = _read_meta(work / FOLDER)
            if not meta:
                continue
            if meta.get("case_sha256") != case_sha256:
                continue
            if meta.get("ranks") != comm.size and (bound := partition_bound(meta)):
                raise RunDirectoryError(
                    f"{work}: the checkpoint was written by {meta.get('ranks')} rank(s) and holds partition-bound "
                    f"state ({', '.join(bound)}); resume with mpirun -n {meta.get('ranks')} (this run has "
                    f"{comm.size})")
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
