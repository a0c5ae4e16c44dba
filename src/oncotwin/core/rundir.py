"""The run-directory contract: result folders that never lose a user's files.

A run writes into a temporary sibling ``.<name>.partial-XXXX`` of its final folder and is renamed into
place only on success, so a failed run never leaves a half-written result. Every committed result
carries the marker file ``.oncotwin-result`` (results of earlier versions are recognised by their
oncotwin ``manifest.json``). The rules:

* ``--out`` may be a new folder, an empty folder, or (only with ``--force``) an oncotwin result; any
  other folder, a file, the current folder or one holding an input of the run is refused, and nothing
  in it is touched;
* ``--out`` may not lie inside another result or inside the working folder of an unfinished run;
* one writer per ``--out``: a lock file ``.<name>.lock`` beside it (created with ``O_CREAT|O_EXCL``,
  holding pid and host) makes a second run fail at once; the lock of a dead local process is broken;
* the final rename is atomic and re-checks that the target did not appear or change meanwhile; an old
  result is replaced only then.

All file-system work happens on rank 0; the other ranks get the paths (or the error).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mpi4py import MPI

from oncotwin import __version__
from oncotwin.core.errors import OutputExistsError, OutputLockedError, RunDirectoryError
from oncotwin.core.parallel import on_root

MARKER = ".oncotwin-result"
MARKER_VERSION = 1
LEGACY_MANIFEST = "manifest.json"
_MAX_MARKER_BYTES = 16 * 1024 * 1024
_WORKING_NAME = re.compile(r"^\..+\.(partial|old)-[^/]+$")
_CHOOSE = "choose an empty or new --out folder"

# Working folders this process has open: the nested runs of a comparison or a forecast are written into
# their parent's working folder, which is otherwise off limits. Kept on every rank (see RunDirectory.open).
_OPEN_WORK: set[Path] = set()


@dataclass(frozen=True)
class RunDirectory:
    """Final and working folders of one run, with its lock and the state of the target when opened.

    Attributes:
        final: the resolved final folder.
        work: the hidden working folder beside it.
        kind: what the result is (``run``, ``comparison``, ``calibration``, ``forecast``); in the marker.
        lock: the lock file beside ``final`` (held from open until commit or abandon).
        seen: the state of ``final`` when the run started (see :func:`target_state`).
        created: parent folders this run created (removed again by :meth:`abandon` when left empty).
    """

    final: Path
    work: Path
    kind: str = "run"
    lock: Path | None = None
    seen: tuple = ("absent",)
    created: tuple[Path, ...] = ()

    @staticmethod
    def open(comm: MPI.Comm, final: Path, force: bool, *, kind: str = "run",
             inputs: Iterable[Path] = ()) -> RunDirectory:
        """Check ``final`` may be written, lock it and create the working folder beside it.

        Args:
            comm: the communicator of the run (rank 0 does the file-system work).
            final: the ``--out`` folder.
            force: replace an existing oncotwin result (only once the new run has succeeded).
            kind: what the result is, recorded in its marker.
            inputs: input files of the run; a folder holding one of them is never replaced.

        Raises:
            RunDirectoryError: on every rank, with a one-line message, when ``final`` may not be used.
        """

        def create() -> RunDirectory:
            target, lock, seen, created = _claim(final, force, tuple(inputs))
            try:
                work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
            except OSError as exc:
                _unlock(lock)
                _remove_empty(created)
                raise RunDirectoryError(f"{target.parent}: cannot create the output folder ({exc.strerror})") from None
            return RunDirectory(target, work, kind, lock, seen, tuple(created))

        rundir = on_root(comm, create)
        _OPEN_WORK.add(rundir.work)
        return rundir

    @staticmethod
    def reuse(comm: MPI.Comm, final: Path, work: Path, force: bool, *, kind: str = "run",
              inputs: Iterable[Path] = ()) -> RunDirectory:
        """Continue in an existing working folder (a resumed run), with the same rules as :meth:`open`."""

        def claim() -> RunDirectory:
            target, lock, seen, _ = _claim(final, force, tuple(inputs))
            return RunDirectory(target, Path(work).resolve(), kind, lock, seen)

        rundir = on_root(comm, claim)
        _OPEN_WORK.add(rundir.work)
        return rundir

    def commit(self, comm: MPI.Comm) -> Path:
        """Move the finished run into place (replacing an old result only now) and release the lock.

        Raises:
            RunDirectoryError: when the target appeared or changed while the run was writing.
        """
        comm.barrier()  # every rank has finished writing
        final = on_root(comm, self._move)
        _OPEN_WORK.discard(self.work)
        return final

    def release(self, comm: MPI.Comm) -> None:
        """Keep the working folder (an interrupted run, to resume) and release the lock (rank 0)."""
        _OPEN_WORK.discard(self.work)
        if comm.rank == 0:
            _unlock(self.lock)

    def abandon(self, comm: MPI.Comm) -> None:
        """Remove the working folder after a failure and release the lock (best effort, rank 0)."""
        _OPEN_WORK.discard(self.work)
        if comm.rank == 0:
            shutil.rmtree(self.work, ignore_errors=True)
            _unlock(self.lock)
            _remove_empty(list(self.created))

    def _move(self) -> Path:
        if target_state(self.final) != self.seen:
            raise RunDirectoryError(f"{self.final}: changed while this run was writing (another program wrote "
                                    f"it); this run's output was discarded; {_CHOOSE}")
        write_marker(self.work, self.kind)
        try:
            if self.seen[0] == "result":
                _replace_result(self.work, self.final)
            elif self.seen[0] == "empty":
                os.rename(self.work, self.final)  # the kernel refuses a folder that is no longer empty
            else:
                rename_noreplace(self.work, self.final)
        except OSError as exc:
            raise RunDirectoryError(f"{self.final}: cannot move the finished run into place ({exc.strerror}); "
                                    f"this run's output was discarded; {_CHOOSE}") from None
        _unlock(self.lock)
        return self.final


# ---------------------------------------------------------------------------------------- result marker
def write_marker(folder: Path, kind: str) -> None:
    """Write the result marker into ``folder``."""
    marker = {"kind": kind, "version": MARKER_VERSION, "oncotwin": __version__}
    (Path(folder) / MARKER).write_text(json.dumps(marker) + "\n")


def is_result(folder: Path) -> bool:
    """Whether ``folder`` is an oncotwin result: it carries the marker, or an oncotwin ``manifest.json``."""
    marker = _read_json(Path(folder) / MARKER)
    if isinstance(marker, dict) and "kind" in marker:
        return True
    manifest = _read_json(Path(folder) / LEGACY_MANIFEST)
    return isinstance(manifest, dict) and "oncotwin" in manifest


def _read_json(path: Path) -> object:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_MARKER_BYTES:
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def describe(folder: Path, shown: int = 2) -> str:
    """What a folder holds, for a refusal: ``holds c.yaml, notes.txt and 3 more``."""
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir())
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    if not names:
        return "is empty"
    if len(names) <= shown + 1:
        return "holds " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    return "holds " + ", ".join(names[:shown]) + f" and {len(names) - shown} more"


def target_state(target: Path) -> tuple:
    """A comparable snapshot of ``target``: absent, an empty folder, a result (and its marker), or other."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return ("absent",)
    if not os.path.isdir(target):
        return ("other", info.st_ino)
    if not any(Path(target).iterdir()):
        return ("empty", info.st_ino)
    if is_result(target):
        marker = Path(target) / MARKER
        stamp = marker.stat().st_mtime_ns if marker.is_file() else None
        return ("result", info.st_ino, stamp)
    return ("other", info.st_ino)


# ---------------------------------------------------------------------------------------------- rules
def _claim(final: Path, force: bool, inputs: tuple[Path, ...]) -> tuple[Path, Path, tuple, list[Path]]:
    """Check the rules, create the parent folder, take the lock and record the target's state."""
    target = Path(final).resolve()
    _check_place(target)
    _check_target(target, force)  # before touching anything; again under the lock below
    _check_precious(target, inputs)
    created = _make_parents(target.parent)
    try:
        lock = _lock(target)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        seen = _check_target(target, force)
    except BaseException:
        _unlock(lock)
        _remove_empty(created)
        raise
    return target, lock, seen, created


def _check_place(target: Path) -> None:
    """Refuse a place inside another result or inside the working folder of an unfinished run."""
    for parent in target.parents:
        if is_result(parent):
            raise RunDirectoryError(f"{target}: lies inside the oncotwin result {parent}; {_CHOOSE} outside it")
        if _WORKING_NAME.match(parent.name) and parent not in _OPEN_WORK:
            raise RunDirectoryError(f"{target}: lies inside {parent}, the working folder of an unfinished run; "
                                    f"{_CHOOSE} outside it")


def _check_precious(target: Path, inputs: tuple[Path, ...]) -> None:
    """Refuse to replace the current folder (or one holding it) and a folder holding an input of the run."""
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise RunDirectoryError(f"{target}: is the current folder or holds it; {_CHOOSE}")
    for path in inputs:
        path = Path(path).resolve()
        if target in path.parents:
            raise RunDirectoryError(f"{target}: holds the input {path}; {_CHOOSE}")


def _check_target(target: Path, force: bool) -> tuple:
    """The target's state, when it may be written (new, empty, or a result with ``force``)."""
    if target.exists() and not target.is_dir():
        raise RunDirectoryError(f"{target}: is a file, not a folder; {_CHOOSE}")
    state = target_state(target)
    if state[0] == "other":
        raise RunDirectoryError(f"{target}: not an oncotwin result ({describe(target)}); {_CHOOSE}")
    if state[0] == "result" and not force:
        raise OutputExistsError(f"{target}: a result already exists; use --force to replace it or --out DIR to "
                                "write elsewhere")
    return state


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns the ones created (deepest first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(f"{folder}: cannot create the output folder ({exc.strerror})") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _replace_result(work: Path, final: Path) -> None:
    """Swap ``work`` in for the old result ``final``; the old one is deleted only after the swap."""
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
    os.rename(final, old / final.name)
    try:
        rename_noreplace(work, final)
    except OSError:
        with contextlib.suppress(OSError):  # put the old result back; if that fails it stays in ``old``
            rename_noreplace(old / final.name, final)
            old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ lock
def lock_path(target: Path) -> Path:
    """The lock file of the output folder ``target``."""
    return target.parent / f".{target.name}.lock"


def _lock(target: Path) -> Path:
    """Take the lock of ``target``, breaking it once if its owner is a dead process on this host."""
    path = lock_path(target)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_json(path)
            if attempt == 0 and _stale(holder) and _break(path, holder):
                continue
            raise OutputLockedError(f"{target}: another oncotwin run ({_who(holder)}) is writing it; wait for it "
                                    f"to finish or choose another --out folder (remove {path} if no run is "
                                    "going)") from None
        except OSError as exc:
            raise RunDirectoryError(f"{path}: cannot create the lock file ({exc.strerror})") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(owner) + "\n")
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def _unlock(path: Path | None) -> None:
    """Release a lock taken by this process (never somebody else's)."""
    if path is None:
        return
    holder = _read_json(path)
    if isinstance(holder, dict) and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        with contextlib.suppress(OSError):
            path.unlink()


def _who(holder: object) -> str:
    if isinstance(holder, dict):
        return f"pid {holder.get('pid')} on {holder.get('host')}"
    return "unknown owner"


def _stale(holder: object) -> bool:
    """Whether a lock belongs to a process of this host that no longer runs."""
    if not isinstance(holder, dict) or holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    return isinstance(pid, int) and pid > 0 and not pid_alive(pid)


def _break(path: Path, holder: dict) -> bool:
    """Remove a stale lock, unless another process replaced it meanwhile (then keep theirs)."""
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:
        return True  # somebody else broke it first: try to take it
    if _read_json(aside) != holder:  # a live lock taken after ours was read: give it back
        with contextlib.suppress(OSError):
            os.link(aside, path)
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def pid_alive(pid: int) -> bool:
    """Whether a local process runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


# ------------------------------------------------------------------------------------ atomic renames
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` atomically, failing with FileExistsError when ``dst`` exists.

    Uses Linux ``renameat2(RENAME_NOREPLACE)``; on systems or file systems without it, checks and renames
    (then a target created in between by another program could be replaced when it is an empty folder).
    """
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(code, os.strerror(code), str(src), None, str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


# ---------------------------------------------------------------------------------- single-file output
@contextlib.contextmanager
def new_file(path: Path, force: bool = False) -> Iterator[Path]:
    """A single output file (``probe --out``, ``report --out``) written atomically.

    Yields a temporary sibling to write; on success it is renamed onto ``path``. An existing file is
    replaced only with ``force``; a folder or a special file (a device, a pipe) never.

    Raises:
        RunDirectoryError: a one-line refusal, before anything is written.
    """
    target = Path(path).absolute()
    if target.is_dir():
        raise RunDirectoryError(f"{target}: is a folder; --out expects a file name")
    if target.exists() and not target.is_file():
        raise RunDirectoryError(f"{target}: is not a regular file; choose another --out file")
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: exists; use --force to replace it or choose another --out file")
    if not target.parent.is_dir():
        raise RunDirectoryError(f"{target.parent}: no such folder")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.partial-", suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise RunDirectoryError(f"{target.parent}: cannot write there ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions of a file opened the ordinary way
        yield tmp
        if force:
            os.replace(tmp, target)
        else:
            try:
                rename_noreplace(tmp, target)
            except FileExistsError:
                raise OutputExistsError(f"{target}: appeared while it was being written; use --force to "
                                        "replace it or choose another --out file") from None
    finally:
        tmp.unlink(missing_ok=True)
