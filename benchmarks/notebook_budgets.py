"""Notebook time budgets, checked on an idle machine (never by the test command).

The README promises that every notebook runs within its budget on an idle 2-core machine. The test command
only *reports* notebook times (the root ``conftest.py``): on a shared machine wall time grows with the load
and a timed test would fail notebooks with nothing wrong. This program is the check:

    python benchmarks/notebook_budgets.py                     # run every notebook under nbval, then judge
    python benchmarks/notebook_budgets.py 00_quickstart 03_sri_signal
    python benchmarks/notebook_budgets.py --from-json T.json  # judge times the test command wrote
                                                              # (SRI_KIT_NB_TIMES=T.json python -m pytest)
    python benchmarks/notebook_budgets.py --json out.json     # also write the verdicts

Each notebook gets ``wall / budget`` (kernel start included) and the kernel's CPU seconds. The verdict counts
only on an idle machine: when the 1-minute load average before the run exceeds ``--max-load`` (default 0.5),
the table is printed but no verdict is given (exit 2) unless ``--judge-anyway``. Exit 1: a notebook over budget
(or failing) on an idle machine; 0: all within.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# seconds on an idle 2-core machine, kernel start included (the README's notebook table copies these)
BUDGETS_S: dict[str, float] = {
    "00_quickstart.ipynb": 60,
    "01_samplers.ipynb": 90,
    "02_text_level_recovery.ipynb": 75,
    "03_sri_signal.ipynb": 75,
    "04_sweeps.ipynb": 60,
    "05_sri_guard.ipynb": 60,
    "06_real_models.ipynb": 40,
    "07_fast_decoding.ipynb": 60,
    "08_interventions.ipynb": 60,
}
DEFAULT_BUDGET_S = 90.0   # a notebook not in the table gets the README's general promise


def judge(times: dict, budgets: dict[str, float] = BUDGETS_S, *, idle: bool = True) -> tuple[list[dict], int]:
    """Rows (notebook, wall_s, cpu_s, budget_s, ratio, verdict) and the exit code for a times record
    (``{"notebooks": {name: {"wall_s", "cpu_s", "failed"}}}``, what the root conftest.py writes).

    >>> rows, code = judge({"notebooks": {"00_quickstart.ipynb": {"wall_s": 30.0, "cpu_s": 50.0}}})
    >>> rows[0]["ratio"], rows[0]["verdict"], code
    (0.5, 'within', 0)
    >>> judge({"notebooks": {"00_quickstart.ipynb": {"wall_s": 90.0, "cpu_s": 50.0}}}, idle=False)[1]
    2
    """
    rows, over = [], False
    for name, t in sorted(times["notebooks"].items()):
        budget = float(budgets.get(name, DEFAULT_BUDGET_S))
        ratio = round(t["wall_s"] / budget, 3)
        if t.get("failed"):
            verdict = "failed (a cell errored: no time verdict)"
        else:
            verdict = "within" if ratio <= 1 else "OVER BUDGET"
        over |= verdict != "within"
        rows.append({"notebook": name, "wall_s": round(t["wall_s"], 1), "cpu_s": round(t.get("cpu_s", 0.0), 1),
                     "budget_s": budget, "ratio": ratio, "verdict": verdict})
    if not idle:
        return rows, 2
    return rows, 1 if over else 0


def run_notebooks(names: list[str], times_path: Path) -> int:
    """Run the named notebooks (all when empty) under nbval as the test command does; times go to ``times_path``."""
    nbs = [f"notebooks/{n if n.endswith('.ipynb') else n + '.ipynb'}" for n in names] or ["notebooks"]
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=-q", "--nbval-lax",
           "--nbval-sanitize-with", "notebooks/sanitize.cfg", "--nbval-cell-timeout=300", *nbs]
    env = {**os.environ, "SRI_KIT_NB_TIMES": str(times_path)}
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    ap.add_argument("--from-json", type=Path, default=None, help="judge this times file instead of running")
    ap.add_argument("--json", type=Path, default=None, help="write the rows and the machine's state here")
    ap.add_argument("--max-load", type=float, default=0.5, help="1-minute load average above which the machine "
                                                                "is not idle (default 0.5)")
    ap.add_argument("--judge-anyway", action="store_true", help="give a verdict on a busy machine too")
    a = ap.parse_args(argv)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if a.from_json is not None:
        times = json.loads(a.from_json.read_text())
        load_before = (times.get("load_average") or [load_before])[0]
    else:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "times.json"
            run_notebooks(a.notebooks, p)
            if not p.exists():
                print("no notebook ran (see the pytest output above)", file=sys.stderr)
                return 1
            times = json.loads(p.read_text())
    idle = load_before <= a.max_load or a.judge_anyway
    rows, code = judge(times, idle=idle)
    print(f"{'notebook':32s} {'wall':>8s} {'CPU':>8s} {'budget':>7s} {'ratio':>6s}  verdict")
    for r in rows:
        print(f"{r['notebook']:32s} {r['wall_s']:6.1f} s {r['cpu_s']:6.1f} s {r['budget_s']:5.0f} s "
              f"{r['ratio']:6.2f}  {r['verdict']}")
    state = (f"load average {load_before:.2f} before the run on {times.get('cores', '?')} cores "
             f"({'idle' if load_before <= a.max_load else 'busy'})")
    print(state if idle else state + ": no verdict on a busy machine; rerun when idle (or --judge-anyway)")
    if a.json is not None:
        from sri_kit.io import atomic_write_text
        atomic_write_text(a.json, json.dumps({"rows": rows, "load_before": load_before, "cores": times.get("cores"),
                                      "exit": code}, indent=1) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
