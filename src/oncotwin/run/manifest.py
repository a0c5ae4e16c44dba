"""Provenance: the manifest every run writes (case hash, resolved case, versions, ranks, timings)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import platform
import time
from collections.abc import Iterator

from oncotwin.core.fenics import PETSc

PACKAGES = ("oncotwin", "dolfinx-solver-real", "fenics-basix", "fenics-ffcx", "fenics-ufl", "petsc4py",
            "mpi4py", "mpich", "gmsh", "numpy", "scipy", "pydantic", "pint", "nibabel", "pynrrd", "pyvista",
            "vtk", "meshio")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on (plus PETSc's own version)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    with contextlib.suppress(Exception):  # provenance is best effort
        versions["PETSc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
    versions["python"] = platform.python_version()
    return versions


def now() -> str:
    """Current UTC time, ISO 8601."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class StageTimer:
    """Wall time of named stages (``with timer.stage("mesh"): ...``)."""

    def __init__(self):
        self.stages: dict[str, dict] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block."""
        start_wall, start = now(), time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = {"start": start_wall, "end": now(), "seconds": round(time.perf_counter() - start, 4)}
