"""The store's commands.

``python -m sri_kit.results compute --model tiny-dlm [--mode quick|report] [--seed 0]``: (re)compute the
model's rate tables into the store, ``sri_kit/_data/results/<model>/`` (resumes from the per-cell cache).

``python -m sri_kit.results public --model tiny-dlm [--n 200]``: the ``public_sets`` table (public evaluation
splits; :mod:`sri_kit.results.public_sets`); ``--model DIR --store DIR`` measures an experimental model apart.

``python -m sri_kit.results render``: regenerate every marked block (``<!-- results:MODEL/TABLE -->`` …
``<!-- /results -->``) in docs/*.md, sri_kit/_data/models/*/README.md and README.md (run from the checkout's root) from the store; nothing else in
those files changes.

``python -m sri_kit.results regenerate [--dry-run] [--allow-dirty]``: the experiment tables of the store from the
committed tree and the current weights, in one command (:data:`REGENERATE`): the rate tables, the public
sets, the organism targets, the analysis report, random search, the guard evaluations; then the blocks are rendered and the
ledger entries of tables that are now clean are dropped, and the tables no job writes that are now stale are
listed with their own commands. Generations go through the generation cache
(:mod:`sri_kit.cache`), so a rerun after an analysis-only change regenerates nothing.

``python -m sri_kit.results diff --rev REV [MODEL/NAME ...]``: the rendered cells that changed since ``REV``
(:mod:`sri_kit.results.diff`), for a closing note or a review.

``python -m sri_kit.results check``: exit 1 and list each problem: a block that disagrees with the store, a
table produced from a dirty tree (unless the store's LEGACY_DIRTY.json ledger lists it: then a warning), a
table whose producing code or weights changed since, a measured number typed by hand outside a block
(:mod:`sri_kit.results.checks`). ``check PATHS``: only the blocks and numbers of those documents.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..errors import SriKitError
from .render import doc_paths, render_docs
from .store import ResultsStore

__all__ = ["main", "REGENERATE"]

#: Every job that writes the store: (name, ``sri-kit`` arguments). Jobs write tables of their own only (none reads
#: another's), so they may run in any order or side by side (``regenerate --jobs 2``); they are listed longest first
#: (the cold times in ``benchmarks/results/report_mode_cold*.json``), which is the order ``--jobs`` starts them in.
REGENERATE = [
    ("rates tiny-dlm", ["results", "compute", "--model", "tiny-dlm", "--mode", "report"]),
    ("analysis report", ["analysis-report", "--out", "out/report/RESULTS.md", "--figures", "docs/figures",
                         "--store", "{store}", "--seed", "0"]),
    ("guard evaluation tiny-dlm", ["guard-eval", "--model", "tiny-dlm", "--scale", "paper-calib", "--seed", "0",
                                   "--pooling", "generated", "--no-baselines"]),
    ("public sets tiny-dlm", ["results", "public", "--model", "tiny-dlm"]),
    ("guard cross-source tiny-dlm", ["guard", "evaluate", "--model", "tiny-dlm", "--scale", "report", "--seed", "0"]),
    ("rates tiny-ar", ["results", "compute", "--model", "tiny-ar", "--mode", "report"]),
    ("public sets tiny-ar", ["results", "public", "--model", "tiny-ar"]),
    ("organism targets tiny-ar", ["results", "targets", "--model", "tiny-ar"]),
    ("random search tiny-ar", ["attack-success", "--models", "tiny-ar", "--random-search", "100", "--rs-iters", "20",
                               "--random-search-only"]),
    ("guard evaluation tiny-ar", ["guard-eval", "--model", "tiny-ar", "--scale", "paper-calib", "--seed", "0",
                                  "--pooling", "reference"]),
    ("guard cross-source tiny-ar", ["guard", "evaluate", "--model", "tiny-ar", "--scale", "report", "--seed", "0"]),
]


def _store_arg(root: Path) -> str:
    """The store folder as a job's argument: relative to the working directory when inside it, so that the
    command a table records holds no machine's path (``sri_kit/_data/results``, not an absolute path of one machine)."""
    try:
        return Path(root).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(root)


def _job_argv(args, store) -> list[str]:
    return [_store_arg(store.root) if x == "{store}" else x for x in args]


def _run_in_process(args, store) -> int:
    from ..cli import main as cli_main
    try:
        return cli_main(_job_argv(args, store))
    except SystemExit as e:             # argparse's exit: recorded like any failed job
        return e.code if isinstance(e.code, int) else 2


def _echo(name: str, stream) -> None:
    """Print a child's output line by line as it comes, each line prefixed with its job's name; progress-bar
    redraws (text ended by a carriage return) are dropped, so two jobs' bars do not garble each other."""
    import codecs
    decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
    buf = ""
    for chunk in iter(lambda: stream.read1(1 << 16), b""):     # whatever the pipe holds, without waiting for more
        *done, buf = (buf + decode(chunk)).split("\n")
        for line in done:
            line = line.rsplit("\r", 1)[-1].rstrip()
            if line:
                print(f"[{name}] {line}", flush=True)
    buf = (buf + decode(b"", final=True)).rsplit("\r", 1)[-1].rstrip()
    if buf:
        print(f"[{name}] {buf}", flush=True)


def _threads_per_job(workers: int) -> int:
    """``$OMP_NUM_THREADS`` when set, else the cores this process gets split among ``workers`` jobs (at least 1)."""
    from ..threads import available_cores
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else max(1, available_cores() // workers)


def _run_jobs(jobs, store, workers: int, on_done) -> None:
    """Run ``jobs`` in order, at most ``workers`` at once: one job in this process, several as child processes
    (``python -m sri_kit.cli``), each with ``cores // workers`` torch threads unless ``$OMP_NUM_THREADS`` says.
    ``on_done(name, args, exit, seconds, started)`` after each job; after a failure no new job starts (the
    running ones finish: their tables are whole)."""
    import subprocess
    import threading

    t_start = time.perf_counter()
    if workers <= 1:
        for name, args in jobs:
            t0 = time.perf_counter()
            rc = _run_in_process(args, store)
            on_done(name, args, rc, time.perf_counter() - t0, t0 - t_start)
            if rc:
                return
        return
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(_threads_per_job(workers))
    env["PYTHONUNBUFFERED"] = "1"
    pending, running, failed = list(jobs), [], False
    while pending or running:
        while pending and not failed and len(running) < workers:
            name, args = pending.pop(0)
            proc = subprocess.Popen([sys.executable, "-m", "sri_kit.cli", *_job_argv(args, store)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            echo = threading.Thread(target=_echo, args=(name, proc.stdout), daemon=True)
            echo.start()
            print(f"{name}: started", flush=True)
            running.append((name, args, proc, echo, time.perf_counter()))
        if failed and not running:
            break
        time.sleep(0.5)
        for job in [j for j in running if j[2].poll() is not None]:
            name, args, proc, echo, t0 = job
            echo.join()
            running.remove(job)
            on_done(name, args, proc.returncode, time.perf_counter() - t0, t0 - t_start)
            failed = failed or proc.returncode != 0


def _regenerate(a, store) -> int:
    """Run :data:`REGENERATE` (refusing a dirty tree), render every block, drop ledger entries now clean."""
    import json

    from ..io import atomic_write_text
    from .checks import read_ledger
    from .store import LEDGER_NAME, machine_info, provenance
    if a.jobs < 1:
        print(f"error: --jobs must be at least 1, got {a.jobs}", file=sys.stderr)
        return 2
    jobs = [j for j in REGENERATE if not a.only or any(j[0].startswith(o) for o in a.only)]
    if not jobs:
        print(f"error: no job's name starts with {' or '.join(map(repr, a.only))}; the jobs are: "
              + "; ".join(j[0] for j in REGENERATE), file=sys.stderr)
        return 2
    for name, args in jobs:
        print(f"{name}: sri-kit {' '.join(args)}")
    if a.dry_run:
        return 0
    if provenance()["dirty"] and not a.allow_dirty:
        print("error: the working tree has uncommitted changes; commit first (tables record the commit that made "
              "them), or pass --allow-dirty to try the pipeline", file=sys.stderr)
        return 2
    timings = {"provenance": provenance(), "machine": machine_info(), "cache": cache_state(), "workers": a.jobs,
               "torch_threads_per_job": _threads_per_job(a.jobs),
               "jobs": [], "total_seconds": 0.0, "complete": False}
    start = time.perf_counter()

    def done(name, args, rc, secs, started):
        print(f"{name}: exit {rc} ({secs:.0f} s)", flush=True)
        timings["jobs"].append({"job": name, "command": "sri-kit " + " ".join(args), "exit": rc,
                                "seconds": round(secs, 1), "started_at_s": round(started, 1)})
        timings["total_seconds"] = round(time.perf_counter() - start, 1)
        timings["complete"] = len(timings["jobs"]) == len(jobs) and all(j["exit"] == 0 for j in timings["jobs"])
        if a.timings:               # after every job: a run stopped part-way still leaves what it measured
            atomic_write_text(a.timings, json.dumps(timings, indent=1, ensure_ascii=False) + "\n")

    _run_jobs(jobs, store, a.jobs, done)
    if a.timings:
        print(f"timings: {a.timings}")
    if not timings["complete"]:
        return next((j["exit"] for j in timings["jobs"] if j["exit"]), 1)
    for p in render_docs(doc_paths(), store):
        print(f"rendered {p}")
    ledger = read_ledger(store)
    keep = {}
    for ref, e in ledger.items():
        m, n = ref.split("/")
        t = store.read(m, n) if store.exists(m, n) else None
        if t is not None and t.commit == e["commit"]:
            keep[ref] = e
    if keep != ledger:
        path = store.root / LEDGER_NAME
        d = json.loads(path.read_text(encoding="utf-8"))
        d["tables"] = keep
        atomic_write_text(path, json.dumps(d, indent=1, ensure_ascii=False) + "\n")
        print(f"{LEDGER_NAME}: {len(ledger) - len(keep)} entries dropped (recomputed)")
    _report_left(store)
    return 0


def _report_left(store) -> None:
    """Print the tables that are still stale after the run (tables no ``REGENERATE`` job writes: the speed and fast
    decoding benchmarks, intervention experiments, candidate models), each with the command it records."""
    from .checks import table_problems
    left = table_problems(store)[0]
    if left:
        print(f"{len(left)} table(s) that no regenerate job writes are stale; rerun each with its own command "
              "(`results check` lists them too):")
        for p in left:
            print(f"  {p}")


def cache_state() -> dict:
    """The generation cache the run reads and writes, and how many files it held at the start (0: a cold run)."""
    from ..cache import cache_root
    root = cache_root()
    files = sum(1 for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0
    return {"files_at_start": files, "cold": files == 0}


def main(argv=None) -> int:
    try:
        return _main(argv)
    except SriKitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sri_kit.results", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=None, help="store root (default: the package's sri_kit/_data/results)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compute", help="compute a model's rate tables into the store")
    c.add_argument("--model", required=True, action="append", help="model name or folder (repeatable)")
    c.add_argument("--mode", choices=["quick", "report"], default="quick")
    c.add_argument("--quick", dest="mode", action="store_const", const="quick", help="same as --mode quick")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--n", type=int, default=None, help="prompts per set (default: the mode's)")
    c.add_argument("--device", default="cpu")
    c.add_argument("--only-sampler", action="append", default=None,
                   help="compute only this sampler's cells (e.g. to split a DLM over two processes)")
    c.add_argument("--cached-only", action="store_true",
                   help="generate nothing: write the tables from the cells computed so far")
    pu = sub.add_parser("public", help="compute the public_sets table (issue 17: public evaluation splits)")
    pu.add_argument("--model", required=True, help="model name or folder (an experiment: a folder and --store)")
    pu.add_argument("--n", type=int, default=200, help="prompts per set (default 200; smaller splits: all)")
    pu.add_argument("--seed", type=int, default=0)
    pu.add_argument("--device", default="cpu")
    pu.add_argument("--only-sampler", action="append", default=None, help="compute only this sampler's cells")
    pu.add_argument("--no-sigma", action="store_true", help="skip the σ_T rows (DLM)")
    tg = sub.add_parser("targets", help="compute the organism_targets table (issue 28: organism v3 targets)")
    tg.add_argument("--model", required=True, help="model name or folder (a candidate: a folder and --store)")
    tg.add_argument("--n", type=int, default=100, help="prompts per public set (default 100)")
    tg.add_argument("--n-wrapped", type=int, default=50, help="requests per wrapper family and side (default 50)")
    tg.add_argument("--seed", type=int, default=0)
    tg.add_argument("--device", default="cpu")
    tg.add_argument("--only-sampler", action="append", default=None, help="compute only this sampler's cells")
    tg.add_argument("--no-sigma", action="store_true", help="skip the σ_T rows")
    tg.add_argument("--label", default=None, help="the model's name in the store (default: the model's name; give a "
                                                  "candidate its own, e.g. tiny-ar-v3)")
    tl = sub.add_parser("training", help="store the organism_training table from models' training_log.json")
    tl.add_argument("--model", required=True, action="append", metavar="LABEL=DIR",
                    help="a store label and the model folder holding training_log.json (repeatable)")
    tl.add_argument("--label", required=True, help="the store folder of the table (e.g. tiny-v3)")
    tl.add_argument("--notes", default="", help="one line of caveats under the table")
    rg = sub.add_parser("regenerate", help="every table from the committed tree, then render the blocks")
    rg.add_argument("--dry-run", action="store_true", help="print the jobs, run nothing")
    rg.add_argument("--allow-dirty", action="store_true",
                    help="run from a dirty tree (the tables will fail `check`; for trying the pipeline only)")
    rg.add_argument("--only", action="append", default=None, help="run only jobs whose name starts with this")
    rg.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="run up to N jobs side by side, each in its own process with cores/N torch threads "
                         "(default 1: one after another, in this process); the tables do not depend on N")
    rg.add_argument("--timings", type=Path, default=None,
                    help="write each job's wall time, the machine and the cache state (cold or warm) to this JSON "
                         "(benchmarks/report_mode.py)")
    df = sub.add_parser("diff", help="the rendered cells that changed since a git revision of the store")
    df.add_argument("--rev", required=True, help="git revision to compare with (e.g. HEAD~3 or a commit)")
    df.add_argument("tables", nargs="*", help="model/name (default: every table)")
    for name in ("render", "check"):
        p = sub.add_parser(name, help=f"{name} the generated blocks of the docs")
        p.add_argument("paths", nargs="*", type=Path, help="documents (default: every doc with numbers)")
    a = ap.parse_args(argv)
    store = ResultsStore(a.store)
    if a.cmd == "diff":
        from .diff import diff_store
        d = diff_store(a.rev, store, a.tables or None)
        for ref, lines in d.items():
            print(f"## {ref}")
            for ln in lines:
                print(f"- {ln}")
        print(f"{len(d)} tables changed since {a.rev}")
        return 0
    if a.cmd == "compute":
        import torch                              # heavy: only the compute command needs models
        from ..models import load_model
        from .compute import compute_model
        cmd = "python -m sri_kit.results " + " ".join(sys.argv[1:] if argv is None else argv)
        for m in a.model:
            torch.manual_seed(a.seed)
            t0 = time.perf_counter()
            lm = load_model(m, device=a.device, dtype=torch.float32)
            tables = compute_model(lm, a.mode, store=store, seed=a.seed, n=a.n, command=cmd.strip(),
                                   only_samplers=a.only_sampler,
                                   cached_only=a.cached_only)
            print(f"{lm.name}: {len(tables)} tables in {store.root / lm.name} "
                  f"({time.perf_counter() - t0:.0f} s wall)")
        return 0
    if a.cmd == "public":
        import torch
        from ..models import load_model
        from .public_sets import compute_public_sets
        cmd = "python -m sri_kit.results " + " ".join(sys.argv[1:] if argv is None else argv)
        torch.manual_seed(a.seed)
        t0 = time.perf_counter()
        lm = load_model(a.model, device=a.device, dtype=torch.float32)
        t = compute_public_sets(lm, store=store, n=a.n, seed=a.seed, command=cmd.strip(),
                                only_samplers=a.only_sampler, sigma=not a.no_sigma)
        print(f"{lm.name}: public_sets in {store.root / lm.name} ({'complete' if t.complete else 'incomplete'}; "
              f"{time.perf_counter() - t0:.0f} s wall, {torch.get_num_threads()} torch threads)")
        return 0
    if a.cmd == "targets":
        import torch
        from ..models import load_model
        from .organism_targets import compute_organism_targets
        cmd = "python -m sri_kit.results " + " ".join(sys.argv[1:] if argv is None else argv)
        torch.manual_seed(a.seed)
        t0 = time.perf_counter()
        lm = load_model(a.model, device=a.device, dtype=torch.float32)
        t = compute_organism_targets(lm, store=store, n=a.n, n_wrapped=a.n_wrapped, seed=a.seed, command=cmd.strip(),
                                     only_samplers=a.only_sampler, sigma=not a.no_sigma, model_label=a.label,
                                     weights=a.model)
        print(f"{a.label or lm.name}: organism_targets in {store.root / (a.label or lm.name)} ({'complete' if t.complete else 'incomplete'}; "
              f"{time.perf_counter() - t0:.0f} s wall, {torch.get_num_threads()} torch threads)")
        return 0
    if a.cmd == "training":
        import json as _json
        from .organism_targets import training_table
        logs = {}
        for spec in a.model:
            label, sep, d = spec.partition("=")
            if not sep:
                ap.error(f"--model {spec!r}: use LABEL=DIR")
            f = Path(d) / "training_log.json"
            if not f.is_file():
                ap.error(f"{f} does not exist: pass a folder written by `sri-kit organism train`")
            logs[label] = _json.loads(f.read_text())
        cmd = "python -m sri_kit.results " + " ".join(sys.argv[1:] if argv is None else argv)
        t = training_table(logs, model_label=a.label, command=cmd.strip(), notes=a.notes,
                           folders=[spec.partition("=")[2] for spec in a.model])
        store.write(t)
        print(f"organism_training in {store.root / a.label}")
        return 0
    if a.cmd == "regenerate":
        return _regenerate(a, store)
    paths = a.paths or doc_paths()
    if a.cmd == "render":
        for p in render_docs(paths, store):
            print(f"rendered {p}")
        return 0
    from .checks import check_all
    bad, warn = check_all(store, a.paths or None)
    for line in warn:
        print(f"warning: {line}")
    for line in bad:
        print(line)
    print(f"results check: {len(bad)} problems, {len(warn)} warnings", file=sys.stderr)
    return 1 if bad else 0
