"""The run-directory contract.

A run writes into a temporary sibling ``.<name>.partial-XXXX`` of its final folder and is renamed into
place only on success, so a failed run never leaves a half-written result. An existing result is
replaced only with ``--force`` (and only once the new run has succeeded). All file-system work happens
on rank 0; the other ranks get the paths (or the error).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mpi4py import MPI

from oncotwin.core.errors import RunDirectoryError
from oncotwin.core.parallel import on_root


@dataclass(frozen=True)
class RunDirectory:
    """Final and working folders of one run."""

    final: Path
    work: Path

    @staticmethod
    def open(comm: MPI.Comm, final: Path, force: bool) -> RunDirectory:
        """Check ``final`` may be (over)written and create the working folder beside it."""

        def create() -> RunDirectory:
            target = _replaceable(final, force)
            if target.exists() and not target.is_dir():
                raise RunDirectoryError(f"{target}: exists and is not a folder")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
            except OSError as exc:
                raise RunDirectoryError(f"{target.parent}: cannot create the output folder ({exc.strerror})") from None
            return RunDirectory(target, work)

        return on_root(comm, create)

    @staticmethod
    def reuse(comm: MPI.Comm, final: Path, work: Path, force: bool) -> RunDirectory:
        """Continue in an existing working folder (a resumed run), with the same rules as :meth:`open`."""

        return on_root(comm, lambda: RunDirectory(_replaceable(final, force), Path(work)))

    def commit(self, comm: MPI.Comm) -> Path:
        """Move the finished run into place (replacing an old result only now)."""

        def move() -> Path:
            if self.final.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.old-", dir=self.final.parent))
                os.replace(self.final, old / self.final.name)
                os.replace(self.work, self.final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.work, self.final)
            return self.final

        comm.barrier()  # every rank has finished writing
        return on_root(comm, move)

    def abandon(self, comm: MPI.Comm) -> None:
        """Remove the working folder after a failure (best effort, rank 0)."""
        if comm.rank == 0:
            shutil.rmtree(self.work, ignore_errors=True)


def _replaceable(final: Path, force: bool) -> Path:
    """The resolved final folder; an existing result may only be replaced with ``force``."""
    target = Path(final).resolve()
    if target.exists() and not force:
        raise RunDirectoryError(f"{target}: a result already exists; use --force to replace it or --out DIR to "
                                "write elsewhere")
    return target
