"""The forward model of a calibration: one in-memory run of a case to the observation times.

The mesh is distributed once; every evaluation builds the physics for a parameter set (forms are
compiled once and cached) and marches without writing files. At each requested time it keeps the
visible-tumour density (viable plus dead cells) at the local nodes and the metrics row.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from oncotwin.calibration.parameters import replace, set_parameter
from oncotwin.la.petsc import release_garbage
from oncotwin.mesh.distribute import TaggedMesh
from oncotwin.run.simulation import Simulation


@dataclass
class Trajectory:
    """What one forward run gives at the requested times.

    Attributes:
        density: time [s] -> visible-tumour density (viable + dead) at the local nodes (with ghosts).
        enhancing: time [s] -> what the T1c readout sees (viable and doomed cells, necrosis excluded).
        rows: metrics rows (t = 0 first, then each requested time).
    """

    density: dict[float, np.ndarray] = field(default_factory=dict)
    enhancing: dict[float, np.ndarray] = field(default_factory=dict)
    rows: list[dict[str, float]] = field(default_factory=list)

    def seen(self, readout: str) -> dict[float, np.ndarray]:
        """The density a readout thresholds (``total`` and ``flair``: every cell; ``enhancing``: no necrosis)."""
        return self.enhancing if readout == "enhancing" else self.density

    def metric(self, name: str, t: float) -> float:
        """A metric at the row nearest to ``t``."""
        row = min(self.rows, key=lambda r: abs(r["time_s"] - t))
        return float(row[name])


class ForwardModel:
    """Runs a case with given parameter values on a distributed mesh.

    Args:
        case: the case (its ``calibration`` section names the parameters).
        tmesh: the distributed tagged mesh.
        times: times [s] at which to sample the model (observation times).
        case_file: path of the case file (provenance of the inner simulation only).
    """

    def __init__(self, case, tmesh: TaggedMesh, times: list[float], case_file: Path | str = "<calibration>"):
        self.tmesh, self.comm = tmesh, tmesh.comm
        self.times = sorted(set(times))
        end = self.times[-1]
        time = case.time.model_copy(update={"end": end, "max_step": min(case.time.max_step, end),
                                            "output_every": end})
        self.case = replace(case, ("time",), time)
        self.case = replace(self.case, ("output",), case.output.model_copy(update={"fields": False,
                                                                                      "figures": False}))
        self.case_file = case_file
        self.names = list(case.calibration.parameters) if case.calibration else []
        self.runs = 0
        self.seconds = 0.0

    def case_for(self, values: dict[str, float]):
        """The case with the calibrated parameters set to ``values`` (internal units)."""
        case = self.case
        for name, value in values.items():
            case = set_parameter(case, name, value)
        return case

    def run(self, values: dict[str, float]) -> Trajectory:
        """One forward run with the parameters ``values`` (internal units)."""
        started = clock.perf_counter()
        trajectory = Trajectory()
        wanted = set(self.times)

        def observe(t: float, tumour, drugs) -> None:
            if t in wanted or any(abs(t - w) <= 1e-6 * max(w, 1.0) for w in wanted):
                g, key = tumour.growth, _nearest(self.times, t)
                trajectory.density[key] = g.occupied()
                trajectory.enhancing[key] = g.seen("enhancing")

        simulation = Simulation(self.comm, self.case_for(values), Path(self.case_file), "", Path("."), Path("."),
                                label="calibration", show_progress=False)
        trajectory.rows = simulation.evolve(self.tmesh, self.times, observe)
        del simulation
        release_garbage(self.comm)
        release_garbage(self.tmesh.mesh.comm)  # where the run's problems parked their PETSc objects
        self.runs += 1
        self.seconds += clock.perf_counter() - started
        return trajectory


def _nearest(times: list[float], t: float) -> float:
    return min(times, key=lambda w: abs(w - t))
