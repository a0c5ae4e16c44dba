"""Fuzz the command line with seeded mutations of the shipped case files (issue 22, reliability).

Usage (from the repository root)::

    PYTHONPATH=src .venv/bin/python benchmarks/fuzz_cases.py                   # 250 mutants, seed 1
    PYTHONPATH=src .venv/bin/python benchmarks/fuzz_cases.py --count 20 --only validate
    PYTHONPATH=src .venv/bin/python benchmarks/fuzz_cases.py --ids 17,42 --keep  # reproduce two mutants

Mutant ``i`` of seed ``S`` is always the same one change to one base: a wrong type, a wrong or unknown
unit, a negative sign, an absurd magnitude (1e308, 1e-300, 0, nan, inf, huge integers), a deleted,
duplicated (a repeated YAML line) or unknown key, a bad enum value, an empty string, deep nesting, or a
word where a number belongs. Bases: ``sphere`` (``cases/sphere_baxter_jain.yaml``, coarser mesh) and
``sphere_coupled`` (that sphere with every physics, a drug, radiotherapy and two days on a coarse mesh):
validate, then run (seconds); ``mni152_demo``, ``lung1`` and ``brats_calibration``: validate only (their
runs take minutes); ``regimens`` (``cases/brats2013_regimens.yaml``): ``oncotwin compare`` on
``sphere_coupled`` (compare validates every regimen before it simulates).

Each command runs in its own session under a timeout, an address-space limit and a cap on the size of the
mutant's folder (a runaway output counts as a hang). Outcomes: ``one_line_error`` (exit 2, one stderr
line ``oncotwin: error: ...`` besides oncotwin's ``[oncotwin]`` log lines, no traceback), ``ran`` (exit 0),
``traceback``, ``crash`` (signal, or exit 134/136/137/139), ``hang`` (timeout, runaway output), ``other``;
``.partial-`` folders left by a command that ended are listed too. The JSON
(``benchmarks/results/fuzz_<date>.json``) holds the counts and every other outcome with its mutation,
commands and first stderr lines.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "cases"
RESULTS = Path(__file__).resolve().parent / "results"
ONCOTWIN = "/work/main/.venv/bin/oncotwin"
GOOD = ("one_line_error", "ran")
SEVERITY = ("crash", "hang", "traceback", "other", "one_line_error", "ran")
CRASH_CODES = (134, 136, 137, 139)
DEEP = "__fuzz_deep__"
ENUM_KEYS = {"kind", "type", "route", "sex", "supg", "bsa_formula", "label_preset", "minimise", "metric",
             "boundary", "drug", "host_region", "volume", "tumour_region"}
QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*)?$")
NUMBER_IN_TEXT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
KEY_LINE = re.compile(r"^\s*[A-Za-z_][\w-]*\s*:")

COUPLED = {  # the sphere with every physics and a short treatment: a run takes a few seconds
    "name": "sphere_coupled",
    "geometry": {"kind": "sphere", "tumour_radius": "3 mm", "host_radius": "6 mm"},
    "mesh": {"size_tumour": "1.5 mm", "size_rim": "1 mm", "rim_band": "0.5 mm", "grading_distance": "2 mm",
             "size_far": "2 mm"},
    "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
    "physics": {
        "fluid": {"degree": 1, "ifp_threshold": "5 mmHg",
                  "boundary_conditions": [{"boundary": "outer", "type": "pressure", "pressure": "0.935 mmHg"}]},
        "drug": {"enabled": True}, "oxygen": {"enabled": True},
        "growth": {"proliferation_rate": "0.05 1/day",
                   "drug_effect": {"temozolomide": {"max_kill_rate": "0.1 1/day", "ec50": "1 mg/L"}}},
        "mechanics": {"enabled": True, "degree": 1, "fixed_boundaries": ["outer"]}},
    "time": {"end": "2 day", "max_step": "12 h", "min_step": "10 min", "output_every": "1 day"},
    "treatment": {
        "patient": {"height": "170 cm", "weight": "70 kg", "age": 55, "sex": "female"},
        "drugs": [{"drug": "temozolomide", "dose": "75 mg/m^2", "route": "oral", "schedule": "daily x 2"}],
        "radiotherapy": {"dose_per_fraction": "2 Gy", "schedule": "days 1-5 every 7 days x 1",
                         "alpha": "0.03 1/Gy"}},
    "output": {"figures": False},
}


@dataclass
class Base:
    """A case (or regimen) tree to mutate, and what to do with its mutants."""

    name: str
    tree: dict
    action: str  # "run", "validate" or "compare"
    weight: float


@dataclass
class Mutant:
    """One mutation of one base: ``text`` is the mutant file."""

    id: int
    base: str
    kind: str
    path: str
    value: str
    text: str = field(repr=False)


# ------------------------------------------------------------------------------------------ bases
def _load(name: str) -> dict:
    return yaml.safe_load((CASES / name).read_text())


def bases() -> list[Base]:
    """The trees the mutants derive from (see the module docstring)."""
    sphere = _load("sphere_baxter_jain.yaml")
    sphere["mesh"].update({"size_tumour": "1.5 mm", "size_rim": "0.6 mm", "rim_band": "0.6 mm",
                           "size_far": "3 mm"})
    calibration = _load("brats2013_pat0001_calibration.yaml")
    calibration["base"] = str(CASES / calibration["base"])
    lung = _load("lung1_001_platinum_doublet.yaml")
    for key in ("labels", "image", "tissue_mask"):  # absolute, so a mutant finds its data from any folder
        lung["geometry"][key] = str((CASES / lung["geometry"][key]).resolve())
    return [Base("sphere", sphere, "run", 0.25), Base("sphere_coupled", copy.deepcopy(COUPLED), "run", 0.33),
            Base("mni152_demo", _load("mni152_demo.yaml"), "validate", 0.15), Base("lung1", lung, "validate", 0.07),
            Base("brats_calibration", calibration, "validate", 0.08),
            Base("regimens", _load("brats2013_regimens.yaml"), "compare", 0.12)]


# ------------------------------------------------------------------------------------------ trees
def _walk(node, path=()):
    """Every (path, value) of a tree, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def leaves(tree) -> list[tuple[tuple, object]]:
    return [(p, v) for p, v in _walk(tree) if p and not isinstance(v, dict | list)]


def mappings(tree) -> list[tuple[tuple, dict]]:
    return [(p, v) for p, v in _walk(tree) if isinstance(v, dict)]


def _dotted(path: tuple) -> str:
    return ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in path).replace(".[", "[")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_quantity(value) -> bool:
    return isinstance(value, str) and QUANTITY.match(value) is not None


def _has_number(value) -> bool:
    return _is_number(value) or (isinstance(value, str) and NUMBER_IN_TEXT.search(value) is not None)


def _dump(tree) -> str:
    return yaml.safe_dump(tree, sort_keys=False, default_flow_style=False, width=1000)


# ------------------------------------------------------------------------------------------ mutations
MAGNITUDES = ["1e308", "1e-300", "0", "nan", "inf", "-inf", "1e30", "99999999999999999999", "1" + "0" * 400]
UNITS = ["kg", "furlong", "1/Gy", "mmHg", "s", "m", "um", "mm^2/day", "", "mm mm", "degC", "%"]
WORDS = ["three", "3 mm mm", "1,5 mm", "0x1F", "1e", "--3 mm", "mm 3", "½ mm", "3 mm; rm -rf /"]
WRONG_TYPES = [[1, 2], {"x": 1}, True, False, None]


def _magnitude(value, rng: random.Random):
    text = rng.choice(MAGNITUDES)
    if _is_number(value):
        return float(text) if any(c in text for c in "ein.") else int(text)
    return NUMBER_IN_TEXT.sub(text, value, count=1)


def _negative(value, rng: random.Random):
    if _is_number(value):
        return -abs(value) if value else -1
    return NUMBER_IN_TEXT.sub(lambda m: "-" + m.group(0).lstrip("+-"), value, count=1)


def _wrong_unit(value, rng: random.Random):
    number = QUANTITY.match(value).group(1)
    return f"{number} {rng.choice(UNITS)}".strip()


LEAF_KINDS = {  # kind: (which leaves it applies to, new value)
    "wrong_type": (lambda v: True, lambda v, rng: copy.deepcopy(rng.choice(WRONG_TYPES))),
    "wrong_unit": (_is_quantity, _wrong_unit),
    "negative": (_has_number, _negative),
    "magnitude": (_has_number, _magnitude),
    "bad_enum": (lambda v: isinstance(v, str), lambda v, rng: rng.choice(["nonsense", "Tumour", "tumor", "NULL"])),
    "empty_string": (lambda v: True, lambda v, rng: ""),
    "deep_nesting": (lambda v: True, lambda v, rng: DEEP),
    "string_for_number": (lambda v: _is_number(v) or _is_quantity(v), lambda v, rng: rng.choice(WORDS)),
}
KINDS = [*LEAF_KINDS, "deleted_key", "unknown_key", "duplicated_key"]


def _leaf_mutation(tree: dict, kind: str, rng: random.Random) -> tuple[str, str, str] | None:
    applies, new = LEAF_KINDS[kind]
    candidates = [(p, v) for p, v in leaves(tree) if applies(v)]
    if kind == "bad_enum":
        candidates = [(p, v) for p, v in candidates if p[-1] in ENUM_KEYS] or candidates
    if not candidates:
        return None
    path, value = rng.choice(candidates)
    mutated = new(value, rng)
    functools.reduce(lambda node, key: node[key], path[:-1], tree)[path[-1]] = mutated
    text = _dump(tree)
    shown = repr(mutated)
    if kind == "deep_nesting":
        depth = rng.choice([64, 1000, 100000])
        text = text.replace(f"'{DEEP}'", "[" * depth + "]" * depth).replace(DEEP, "[" * depth + "]" * depth)
        shown = f"[[[...]]] depth {depth}"
    return _dotted(path), shown if len(shown) < 120 else shown[:117] + "...", text


def _key_mutation(tree: dict, kind: str, rng: random.Random) -> tuple[str, str, str] | None:
    if kind == "duplicated_key":
        lines = _dump(tree).splitlines(keepends=True)
        index = rng.choice([i for i, line in enumerate(lines) if KEY_LINE.match(line)])
        lines.insert(index + 1, lines[index])
        return f"line {index + 1}", lines[index].strip()[:120], "".join(lines)
    path, node = rng.choice([(p, m) for p, m in mappings(tree) if kind == "unknown_key" or m])
    if kind == "deleted_key":
        key = rng.choice(list(node))
        del node[key]
        return _dotted((*path, key)), "<deleted>", _dump(tree)
    node["fuzz_unknown_key"] = 1
    return _dotted((*path, "fuzz_unknown_key")), "1", _dump(tree)


def mutants(count: int, seed: int) -> list[Mutant]:
    """``count`` mutants: kinds in turn, the base drawn by weight, everything from ``(seed, i)``."""
    all_bases = bases()
    out = []
    for i in range(count):
        rng = random.Random(seed * 1_000_003 + i)
        base = rng.choices(all_bases, weights=[b.weight for b in all_bases])[0]
        kind = KINDS[i % len(KINDS)]
        while True:
            tree = copy.deepcopy(base.tree)
            change = (_leaf_mutation if kind in LEAF_KINDS else _key_mutation)(tree, kind, rng)
            if change is not None:
                break
            kind = rng.choice(KINDS)
        out.append(Mutant(i, base.name, kind, *change))
    return out


# ------------------------------------------------------------------------------------------ running
def _folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def execute(argv: list[str], cwd: Path, timeout: float, memory_gb: float, disk_mb: float) -> dict:
    """Run ``argv`` in its own session; kill its process group on a timeout or a runaway folder."""
    argv = ["prlimit", f"--as={int(memory_gb * 2**30)}", "--", *argv]  # not preexec_fn: unsafe with threads
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    start = time.perf_counter()
    killed = None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        while proc.poll() is None:
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                if time.perf_counter() - start > timeout:
                    killed = f"timeout {timeout:g} s"
                elif _folder_bytes(cwd) > disk_mb * 2**20:
                    killed = f"folder over {disk_mb:g} MB"
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)  # the session this call started
                    proc.wait()
    read = lambda p: p.read_bytes()[:200_000].decode("utf-8", "replace")
    return {"argv": argv[3:], "rc": proc.returncode, "seconds": round(time.perf_counter() - start, 2),
            "killed": killed, "stdout": read(out_path), "stderr": read(err_path)}


def classify(result: dict) -> str:
    """The outcome class of one command (see the module docstring)."""
    rc, stdout, stderr = result["rc"], result["stdout"], result["stderr"]
    if result["killed"]:
        return "hang"
    if rc < 0 or rc in CRASH_CODES:
        return "crash"
    if "Traceback" in stderr or "Traceback" in stdout:
        return "traceback"
    if rc == 0:
        return "ran"
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("[oncotwin]")]
    if rc == 2 and len(lines) == 1 and lines[0].startswith("oncotwin: error:"):
        return "one_line_error"
    return "other"


def leftovers(folder: Path) -> list[str]:
    """``.partial-`` folders under the mutant's folder (outputs and mesh cache), relative paths."""
    return sorted(str(Path(d, n).relative_to(folder)) for d, dirs, _ in os.walk(folder)
                  for n in dirs if ".partial-" in n)


def commands(mutant: Mutant, base: Base, folder: Path, support: Path, only: str) -> list[tuple[str, list]]:
    """The (stage, argv) list of a mutant; later stages run only after a clean exit of the earlier."""
    case = str(folder / "case.yaml")
    out, meshes = str(folder / "out"), str(folder / "meshes")
    if base.action == "compare":
        return [] if only == "validate" else [
            ("compare", [ONCOTWIN, "compare", str(support / "sphere_coupled.yaml"), "--regimens", case,
                         "--out", out, "--mesh-dir", meshes])]
    stages = [("validate", [ONCOTWIN, "validate", case])]
    if base.action == "run" and only != "validate":
        stages.append(("run", [ONCOTWIN, "run", case, "--out", out, "--mesh-dir", meshes]))
    return stages


def fuzz_one(mutant: Mutant, base: Base, work: Path, support: Path, args) -> dict:
    """Write the mutant, run its stages, classify; its folder is removed unless ``--keep``."""
    folder = work / f"m{mutant.id:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case.yaml").write_text(mutant.text)
    if base.action != "validate" and (support / "meshes").exists():
        shutil.copytree(support / "meshes", folder / "meshes")
    stages = []
    for stage, argv in commands(mutant, base, folder, support, args.only):
        timeout = args.validate_timeout if stage == "validate" else args.run_timeout
        result = execute(argv, folder, timeout, args.memory_gb, args.disk_mb)
        # a command this harness killed cannot clean up: only leftovers of commands that ended count
        result.update(stage=stage, outcome=classify(result), leftovers=[] if result["killed"] else leftovers(folder))
        stages.append(result)
        if result["outcome"] != "ran":
            break
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    outcome = min((s["outcome"] for s in stages), key=SEVERITY.index, default="skipped")
    if stages and outcome == "ran" and stages[-1]["outcome"] != "ran":
        outcome = stages[-1]["outcome"]
    return {"mutant": mutant, "stages": stages, "outcome": outcome,
            "validated": bool(stages) and stages[0]["stage"] == "validate" and stages[0]["outcome"] == "ran",
            "leftovers": sorted({p for s in stages for p in s["leftovers"]})}


def prepare(work: Path, all_bases: list[Base], args) -> Path:
    """Support files: the compare case and a mesh cache of the run bases (copied into every mutant)."""
    support = work / "support"
    support.mkdir(parents=True, exist_ok=True)
    (support / "sphere_coupled.yaml").write_text(_dump(COUPLED))
    if args.only == "validate":
        return support
    for base in all_bases:
        if base.action == "run":
            path = support / f"{base.name}.yaml"
            path.write_text(_dump(base.tree))
            result = execute([ONCOTWIN, "mesh", str(path), "--mesh-dir", str(support / "meshes")], support,
                             600, args.memory_gb, args.disk_mb)
            if result["rc"] != 0:
                sys.exit(f"fuzz_cases: meshing the base {base.name} failed:\n{result['stderr']}")
    return support


# ------------------------------------------------------------------------------------------ report
def _head(text: str, lines: int = 8) -> list[str]:
    kept = [line[:300] for line in text.splitlines() if line.strip() and not line.startswith("[oncotwin]")]
    return kept[-lines:] if any("Traceback" in line for line in kept) else kept[:lines]


def _failure(record: dict) -> dict:
    m = record["mutant"]
    return {"id": m.id, "base": m.base, "kind": m.kind, "path": m.path, "value": m.value,
            "outcome": record["outcome"], "leftovers": record["leftovers"],
            "case_text": m.text if len(m.text) < 8000 else m.text[:8000] + "\n... (truncated; regenerate with --ids)",
            "stages": [{"stage": s["stage"], "argv": s["argv"], "rc": s["rc"], "seconds": s["seconds"],
                        "killed": s["killed"], "outcome": s["outcome"], "stderr": _head(s["stderr"]),
                        "stdout": _head(s["stdout"], 3) if s["outcome"] != "ran" else []}
                       for s in record["stages"]]}


def _tally(records: list[dict], key) -> dict[str, dict]:
    counts: dict[str, Counter] = {}
    for r in records:
        for name, outcome in key(r):
            counts.setdefault(name, Counter())[outcome] += 1
    return {k: dict(v) for k, v in sorted(counts.items())}


def summarise(records: list[dict], args, seconds: float) -> dict:
    """Counts by outcome, stage, kind and base; the failures in full."""
    bad = [r for r in records if r["outcome"] not in GOOD or r["leftovers"]]
    accepted = [r for r in records if r["outcome"] == "ran" and r["mutant"].kind == "duplicated_key"]
    late = [r for r in records if r["validated"] and r["outcome"] == "one_line_error"]
    return {
        "benchmark": "fuzz_cases", "machine": machine_note(), "tree": tree_note(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "seed": args.seed, "count": len(records),
        "seconds": round(seconds, 1),
        "limits": {"validate_timeout_s": args.validate_timeout, "run_timeout_s": args.run_timeout,
                   "address_space_GB": args.memory_gb, "folder_MB": args.disk_mb},
        "counts": dict(Counter(r["outcome"] for r in records)),
        "stages": _tally(records, lambda r: [(s["stage"], s["outcome"]) for s in r["stages"]]),
        "by_kind": _tally(records, lambda r: [(r["mutant"].kind, r["outcome"])]),
        "by_base": _tally(records, lambda r: [(r["mutant"].base, r["outcome"])]),
        "with_leftovers": [r["mutant"].id for r in records if r["leftovers"]],
        "validated_then_rejected": [{"id": r["mutant"].id, "path": r["mutant"].path, "value": r["mutant"].value,
                                     "error": _head(r["stages"][-1]["stderr"], 1)} for r in late],
        "duplicated_keys_accepted": [{"id": r["mutant"].id, "line": r["mutant"].value} for r in accepted],
        "failures": [_failure(r) for r in bad],
    }


def machine_note() -> dict:
    """As ``common.machine_note``, without importing ``common`` (which starts DOLFINx and MPI here)."""
    return {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_1min_at_start": os.getloadavg()[0], "date": time.strftime("%Y-%m-%dT%H:%M:%S")}


def tree_note() -> dict:
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"), "dirty_files": len(git("status", "--porcelain").splitlines())}


def print_summary(summary: dict) -> None:
    print(f"\n{summary['count']} mutants in {summary['seconds']:.0f} s: " +
          ", ".join(f"{k} {summary['counts'].get(k, 0)}" for k in (*SEVERITY, "skipped")))
    print("| kind | " + " | ".join(SEVERITY) + " |\n|---|" + "---|" * len(SEVERITY))
    for kind, counts in summary["by_kind"].items():
        print(f"| {kind} | " + " | ".join(str(counts.get(k, 0)) for k in SEVERITY) + " |")
    for f in summary["failures"]:
        last = f["stages"][-1] if f["stages"] else {}
        print(f"  #{f['id']} {f['base']} {f['path']} {f['kind']} {f['value']}: {f['outcome']} "
              f"rc {last.get('rc')} {last.get('killed') or ''} {(last.get('stderr') or [''])[-1][:160]}")


# ------------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=250, help="number of mutants (default 250)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ids", help="only these mutant ids (comma separated) of the seed's sequence")
    parser.add_argument("--only", choices=("validate", "run"), help="validate only, or validate + run (default)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants at a time (default 1)")
    parser.add_argument("--validate-timeout", type=float, default=60.0)
    parser.add_argument("--run-timeout", type=float, default=60.0, help="run and compare (default 60 s)")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per command")
    parser.add_argument("--disk-mb", type=float, default=500.0, help="cap on a mutant's folder")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep every mutant's folder")
    parser.add_argument("--json", help="output (default: benchmarks/results/fuzz_<date>.json)")
    args = parser.parse_args()

    ids = [int(i) for i in args.ids.split(",")] if args.ids else None
    todo = mutants(max(ids) + 1 if ids else args.count, args.seed)
    todo = [m for m in todo if ids is None or m.id in ids]
    work = args.work or Path(tempfile.mkdtemp(prefix="oncotwin-fuzz-"))
    all_bases = {b.name: b for b in bases()}
    support = prepare(work, list(all_bases.values()), args)
    start = time.perf_counter()

    def one(mutant: Mutant) -> dict:
        record = fuzz_one(mutant, all_bases[mutant.base], work, support, args)
        print(f"#{mutant.id:4d} {mutant.base:17s} {mutant.kind:17s} {record['outcome']:14s} "
              f"{mutant.path} = {mutant.value[:60]}", flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        records = list(pool.map(one, todo))
    summary = summarise(records, args, time.perf_counter() - start)
    path = Path(args.json) if args.json else RESULTS / f"fuzz_{time.strftime('%Y-%m-%d')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1, default=lambda o: asdict(o) if isinstance(o, Mutant) else str(o)))
    print_summary(summary)
    print(f"\nwrote {path}; work folder {work}")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
