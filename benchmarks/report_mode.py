#!/usr/bin/env python
"""Wall time of the full report mode: every table of the results store regenerated for both organisms
(``sri-kit results regenerate``), from a cold or a warm generation cache.

    python benchmarks/report_mode.py --cache ../sri-cold --jobs 2    # an empty folder: the cold run
    python benchmarks/report_mode.py --cache ../sri-cold --jobs 2    # again, same folder: the warm run

Then ``python benchmarks/report_mode.py --import-table`` writes both into the store (``tiny-ar+tiny-dlm/report_mode``,
rendered in the README). Writes ``benchmarks/results/report_mode_cold.json`` or ``report_mode_warm.json`` (which one is decided by
whether the cache held any file at the start; a run of some jobs, ``--only``, adds ``_partial_<names>``): each
job's wall time, the total, the machine (CPU, cores,
torch threads, load average at the start) and the commit. Targets (issue 27): cold ≤ 60 min, warm ≤ 5 min on
2 CPU cores (``--jobs 2``: two jobs side by side, one torch thread each). It regenerates the store of the checkout it runs in, so run it from a clean, committed tree
(a worktree), as ``regenerate`` demands.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None, help="the generation cache folder ($SRI_KIT_CACHE)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder of the JSON (default: results/)")
    ap.add_argument("--only", action="append", default=None, help="only jobs whose name starts with this (a trial)")
    ap.add_argument("--jobs", type=int, default=1, help="jobs side by side (regenerate --jobs; default 1)")
    ap.add_argument("--import-table", action="store_true",
                    help="run nothing: write the store table tiny-ar+tiny-dlm/report_mode from the cold and warm JSONs "
                         "in --out (both complete, from one clean commit)")
    a = ap.parse_args(argv)
    if a.import_table:
        from sri_kit.results import ResultsStore
        from sri_kit.results.imported import import_report_mode
        print(ResultsStore().write(import_report_mode(a.out / "report_mode_cold.json", a.out / "report_mode_warm.json")))
        return 0
    if a.cache is None:
        ap.error("--cache DIR is required (the generation cache of the run; an empty folder for the cold run)")
    os.environ["SRI_KIT_CACHE"] = str(a.cache.resolve())      # before the kit reads it
    from sri_kit.results.cli import cache_state, main as results_main
    state = "cold" if cache_state()["cold"] else "warm"
    part = "_".join(re.sub(r"[^a-z0-9]+", "-", o.lower()).strip("-") for o in a.only) if a.only else ""
    out = a.out / f"report_mode_{state}{'_partial_' + part if part else ''}.json"
    args = ["regenerate", "--jobs", str(a.jobs), "--timings", str(out)] + [x for o in (a.only or []) for x in ("--only", o)]
    print(f"report mode, {state} cache {a.cache}: -> {out}", flush=True)
    return results_main(args)


if __name__ == "__main__":
    sys.exit(main())
