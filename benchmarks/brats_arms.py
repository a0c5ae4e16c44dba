"""Benchmark: BraTS pat0001 readouts under a strong regimen and untreated (issue 17).

Run (from the repository root; needs ``../shared/data``)::

    .venv/bin/python benchmarks/brats_arms.py [--out results/issue17] [--mesh-dir DIR] [--ranks 2]
        [--days 60] [--physics reduced|full] [--plot-only]

Two arms of ``cases/brats2013_pat0001.yaml`` (readouts enhancing and FLAIR), each run by
``mpirun -n RANKS oncotwin run``: ``untreated`` (no treatment) and ``radiotherapy`` (the case's 30 x 2 Gy
with alpha 0.03 /Gy; ``full`` adds the case's daily temozolomide with drug transport and mechanics).
``reduced`` physics is growth and oxygen only (no fluid, drug or mechanics), about 3x cheaper. The figure
``brats_arms.png`` shows the enhancing (T1c) and FLAIR volumes of both arms against the RANO partial-response
line (-65 % of the baseline enhancing volume) and the +40 % progression line; ``brats_arms.json`` has the
series and the response category of each arm by the response rules of :mod:`oncotwin.studies.outcome`.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

from common import machine_note  # noqa: E402
from oncotwin.case.regimens import ResponseThresholds  # noqa: E402
from oncotwin.studies.outcome import regimen_metrics  # noqa: E402

CASE = REPO / "cases" / "brats2013_pat0001.yaml"
ARMS = ("untreated", "radiotherapy")


def arm_case(arm: str, physics: str, days: int) -> str:
    """A case file deriving from the BraTS case: the arm's treatment and the physics level."""
    lines = [f"base: {CASE}", f"name: brats_{arm}", f'time: {{end: "{days} day", output_every: "2 day"}}']
    if physics == "reduced":
        lines.append("physics: {fluid: {enabled: false}, drug: {enabled: false}, mechanics: {enabled: false}}")
    if arm == "untreated":
        lines.append("treatment: {drugs: [], radiotherapy: null}")
    elif physics == "reduced":
        lines.append("treatment: {drugs: []}")
    return "\n".join(lines) + "\n"


def read_rows(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def run_arm(arm: str, args) -> float:
    case = args.out / f"{arm}.yaml"
    case.write_text(arm_case(arm, args.physics, args.days))
    command = [str(REPO / ".venv" / "bin" / "mpirun"), "-n", str(args.ranks), str(REPO / ".venv" / "bin" / "oncotwin"),
               "run", str(case), "--out", str(args.out / arm), "--force"]
    if args.mesh_dir:
        command += ["--mesh-dir", str(args.mesh_dir)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def plot(series: dict[str, list[dict]], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colours = {"untreated": "tab:red", "radiotherapy": "tab:blue"}
    for ax, key, title in ((axes[0], "enhancing_volume_mm3", "enhancing (T1c, 80 %)"),
                           (axes[1], "flair_volume_mm3", "FLAIR (16 %)")):
        for arm, rows in series.items():
            ax.plot([r["time_day"] for r in rows], [r[key] / 1000 for r in rows], color=colours[arm], label=arm)
        base = series[ARMS[0]][0][key] / 1000
        if key.startswith("enhancing"):
            ax.axhline(0.35 * base, color="grey", ls="--", lw=1, label="partial response (-65 %)")
            ax.axhline(1.40 * base, color="grey", ls=":", lw=1, label="progression (+40 %)")
        ax.set_title(title)
        ax.set_xlabel("day")
        ax.set_ylabel("volume [cm$^3$]")
        ax.legend(fontsize=8)
    fig.suptitle("BraTS pat0001: readouts of the untreated and the radiotherapy arm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "issue17")
    parser.add_argument("--mesh-dir", type=Path, default=None)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--physics", choices=("reduced", "full"), default="reduced")
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = {} if args.plot_only else {arm: run_arm(arm, args) for arm in ARMS}
    series = {arm: read_rows(args.out / arm / "metrics.csv") for arm in ARMS}
    response = ResponseThresholds(volume="enhancing_volume_mm3")
    summary = {"machine": machine_note(), "physics": args.physics, "days": args.days, "wall_s": seconds,
               "arms": {arm: {"category": regimen_metrics(rows, [], response)["response"],
                              "enhancing_cm3": [round(r["enhancing_volume_mm3"] / 1000, 3) for r in rows],
                              "flair_cm3": [round(r["flair_volume_mm3"] / 1000, 3) for r in rows],
                              "days": [r["time_day"] for r in rows]} for arm, rows in series.items()}}
    (args.out / "brats_arms.json").write_text(json.dumps(summary, indent=1))
    plot(series, args.out / "brats_arms.png")
    for arm, entry in summary["arms"].items():
        print(arm, entry["category"], "enhancing", entry["enhancing_cm3"][0], "->", min(entry["enhancing_cm3"]),
              "->", entry["enhancing_cm3"][-1], "FLAIR", entry["flair_cm3"][0], "->", entry["flair_cm3"][-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
