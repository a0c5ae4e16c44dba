"""Per-call cost of the run's metrics (fluid, mechanics, drug delivery) on small meshes.

``python benchmarks/metric_forms.py [--calls 20] [--json out.json]``: solves each problem once on a small
mesh (the two-region box of :mod:`benchmarks.common`, n = 8; the drug on a 2 mm sphere), then times
``calls`` repeated ``metrics()`` calls in process CPU seconds (the first call, which compiles the forms
when they are cached, is timed separately). The metric values are written to ``--json`` so that two
trees can be compared number by number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import box, fluid_params  # noqa: E402
from oncotwin.case.schema import Case  # noqa: E402
from oncotwin.core.fenics import MPI, dolfinx  # noqa: E402
from oncotwin.mesh.distribute import mesh_in_memory  # noqa: E402
from oncotwin.model.delivery import create_drug_problems  # noqa: E402
from oncotwin.problems.fluid import FluidProblem  # noqa: E402
from oncotwin.problems.mechanics import MechanicsProblem, MechanicsTissue  # noqa: E402

DRUG_CASE = {
    "name": "metric_forms_sphere",
    "geometry": {"kind": "sphere", "tumour_radius": "2 mm", "host_radius": "5 mm"},
    "mesh": {"size_tumour": "1 mm", "size_rim": "0.6 mm", "size_far": "1.5 mm", "grading_distance": "2 mm"},
    "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
    "physics": {"drug": {"enabled": True}},
    "time": {"end": "1 day", "max_step": "1 h", "min_step": "10 min", "output_every": "1 day"},
    "treatment": {"patient": {"height": "175 cm", "weight": "78 kg"},
                  "drugs": [{"drug": "temozolomide", "dose": "150 mg/m^2", "route": "oral", "schedule": "day 1"}]},
}


def timed(fn, calls: int) -> tuple[float, float, dict]:
    """CPU seconds of the first call and mean CPU seconds of the next ``calls`` calls; the last value."""
    t0 = time.process_time()
    value = fn()
    first = time.process_time() - t0
    t0 = time.process_time()
    for _ in range(calls):
        value = fn()
    return first, (time.process_time() - t0) / calls, value


def problems(comm):
    """The three metric producers, each solved or stepped once."""
    tm = box(comm, 8)
    fluid = FluidProblem(tm, fluid_params(), degree=1)
    fluid.solve()
    P1 = dolfinx.fem.functionspace(tm.mesh, ("Lagrange", 1))
    density = dolfinx.fem.Function(P1)
    density.interpolate(lambda x: (x[0] < 10.0).astype(float))
    tissue = {"tumour": MechanicsTissue(5.0, 0.45, 0.05), "host": MechanicsTissue(2.0, 0.45, 0.0)}
    mechanics = MechanicsProblem(tm, tissue, density, ["outer"], degree=1, host_regions=["host"])
    mechanics.solve()
    delivery = create_drug_problems(Case.model_validate(DRUG_CASE), mesh_in_memory(comm, Case.model_validate(
        DRUG_CASE)))["temozolomide"]
    for _ in range(8):
        delivery.step(1800.0)
    return {"fluid": fluid.metrics, "fluid_fields": lambda: {"source_sum": float(
        comm.allreduce(fluid.output_fields()[2].x.array[:fluid.Q0.dofmap.index_map.size_local].sum()))},
        "mechanics": mechanics.metrics, "drug": delivery.metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    out = {}
    for name, fn in problems(comm).items():
        first, per_call, value = timed(fn, args.calls)
        out[name] = {"first_call_cpu_s": first, "per_call_cpu_s": per_call, "values": value}
        if comm.rank == 0:
            print(f"{name:12s} first call {first * 1e3:8.1f} ms CPU, then {per_call * 1e3:8.2f} ms CPU per call")
    if comm.rank == 0 and args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
