"""Strong scaling, 1 vs R ranks, of every solver on its largest benchmark size (``solvers.py``).

Usage (from the repository root)::

    .venv/bin/python benchmarks/scaling.py                              # all solvers, 1 vs 2 ranks
    .venv/bin/python benchmarks/scaling.py --solvers fluid,growth --repeat 2 --json scaling.json

Runs ``solvers.py --largest-only`` serially and then under ``mpirun -n R`` back to back (same machine
state; ``--serial-json FILE`` reuses the largest rows of an earlier serial ``solvers.py --json`` run instead),
and prints the speed-up ``T1 / TR`` of the total (constructor + solve) and of each stage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine_note, print_table, write_json  # noqa: E402


def run(ranks: int, solvers: str, repeat: int) -> list[dict]:
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [python, str(HERE / "solvers.py"), "--largest-only", "--solvers", solvers, "--repeat", str(repeat),
               "--json", str(out)]
        if ranks > 1:
            cmd = [str(Path(python).parent / "mpirun"), "-n", str(ranks)] + cmd
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())["rows"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solvers", default="fluid,drug,oxygen,growth,elasticity_p1,elasticity_p2")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--serial-json", default=None,
                        help="reuse the serial rows of a solvers.py --json file (its largest size per solver) "
                             "instead of running the serial case again")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.serial_json:
        path = Path(args.serial_json)
        path = path if path.exists() else HERE / "results" / path
        rows = json.loads(path.read_text())["rows"]
        wanted = args.solvers.split(",")
        serial = [max((r for r in rows if r["solver"] == s), key=lambda r: r["dofs"]) for s in wanted]
    else:
        serial = run(1, args.solvers, args.repeat)
    parallel = run(args.ranks, args.solvers, args.repeat)
    rows = []
    for a, b in zip(serial, parallel):
        row = {"solver": a["solver"], "dofs": a["dofs"], "its_1": a["iterations"], f"its_{args.ranks}": b["iterations"],
               "total_1": a["total_s"], f"total_{args.ranks}": b["total_s"], "speedup": a["total_s"] / b["total_s"]}
        for stage in ("assembly_s", "pc_setup_s", "solve_s"):
            row[f"speedup_{stage[:-2]}"] = a[stage] / b[stage] if b[stage] > 1e-4 else float("nan")
        if "cpu_s" in a and "cpu_s" in b:
            row["cpu_speedup"] = a["cpu_s"] / b["cpu_s"]
        rows.append(row)
    R = args.ranks
    print()
    print_table(rows, [("solver", "solver", ""), ("dofs", "dofs", ","), ("its_1", "its 1 rank", ""),
                       (f"its_{R}", f"its {R} ranks", ""), ("total_1", "total s, 1 rank", ".2f"),
                       (f"total_{R}", f"total s, {R} ranks", ".2f"), ("speedup", "speed-up", ".2f"),
                       ("speedup_assembly", "assembly", ".2f"), ("speedup_pc_setup", "PC set-up", ".2f"),
                       ("speedup_solve", "solve", ".2f"), ("cpu_speedup", "CPU-time speed-up", ".2f")])
    if args.json:
        print("wrote", write_json(args.json, {"machine": machine_note(), "ranks": R, "rows": rows,
                                              "serial": serial, "parallel": parallel}))


if __name__ == "__main__":
    main()
