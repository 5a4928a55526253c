"""The ``sri-kit`` command line.

    sri-kit demo [--out DIR]         the main job on the embedded organism (figures + table)
    sri-kit lab [DIR] [--force] [--no-browser]   copy the notebooks into DIR (default ./sri_kit_notebooks;
                                     changed copies kept unless --force) and open JupyterLab there
    sri-kit organism train [...]     retrain tiny-ar and tiny-dlm from scratch (``--smoke`` for a quick check)
    sri-kit generate MODEL PROMPTS.txt OUT [--steps N ...]   traces for one prompt per line
    sri-kit presets                  list the model presets
    sri-kit parity record --upstream DIR [--out DIR]   golden fixtures from the upstream LLaDA/Dream/Fast-dLLM code
    sri-kit parity check [--fixtures DIR]              the kit against those fixtures
    sri-kit results check|compute|render|regenerate ...   the results store (python -m sri_kit.results)
    sri-kit analysis-report | guard-eval | guard-diagnosis | attack-success ...   the measurements behind the docs
    sri-kit browser-check [--standin] [--notebooks ...] [--executed DIR] ...
                                     the real-browser check of the notebooks and widgets (a clone; CI runs it)
    sri-kit organism benign-answers [--gguf ...]   answers for the benign public training prompts (corpus build)
    sri-kit strip-notebooks [PATHS]  strip the notebooks' outputs except the cells marked # NBVAL_CHECK_OUTPUT
    sri-kit guard evaluate --model M [--scale quick|report|full] [--seed 0]
                                     the guard on prompt sources and attacks it never saw (cross-source
                                     evaluation, the default detector's choice) -> results store
    sri-kit intervene [--models tiny-ar tiny-dlm] [--n-eval N ...]
                                     the step-window refusal-direction experiment -> results store

Headless runs (one TOML/YAML config describes the run; see examples/run_tiny.toml, docs/SCALE_OUT.md):

    sri-kit collect CONFIG           prompts -> trace shards (resumable; under torchrun: data parallel)
    sri-kit merge CONFIG             join complete shards into per-set trace files (collect does it)
    sri-kit centers CONFIG           per-step SRI centers from the anchor sets
    sri-kit signal CONFIG            σ for every set
    sri-kit guard fit CONFIG         SRI Guard on the benign signals
    sri-kit guard eval CONFIG        detection metrics and the blocking table
    sri-kit report CONFIG            report.md
    sri-kit run CONFIG               all of the above in order

    torchrun --nproc-per-node N -m sri_kit.cli collect CONFIG

Errors: a user mistake (a bad config value, a missing or damaged file, an unknown name: every
``sri_kit.errors.SriKitError``) prints one line ``sri-kit <command>: error: ...`` and exits with code 2;
``--debug`` (anywhere on the command line) shows the traceback instead. Anything else is a real
failure: its traceback is printed and the exit code is 1. Configs are validated in full before a
model is loaded or anything is written.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import demo, distributed, lab, pipeline
from .errors import ConfigError, SriKitError
from .models import PRESETS, load_model
from .runconfig import check_generation
from .sampling import generate, save_traces


def _read_prompt_lines(path: str) -> list[str]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"prompts file {p} does not exist; give a text file with one prompt per line")
    if not p.is_file():
        raise ConfigError(f"prompts file {p} is a folder, not a file; give a text file with one prompt per line")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"prompts file {p} is not UTF-8 text ({e.reason} at byte {e.start}); give a text "
                          "file with one prompt per line") from None
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise ConfigError(f"prompts file {p} has no prompts (it is empty or blank); write one prompt per line")
    return prompts


def _generate(a) -> int:
    # everything the user gave is checked before the model is loaded or anything is written
    over = {k: v for k, v in (("steps", a.steps), ("gen_length", a.gen_length), ("remasking", a.remasking),
                              ("temperature", a.temperature), ("order", a.order), ("seed", a.seed)) if v is not None}
    if a.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {a.batch_size}")
    prompts = _read_prompt_lines(a.prompts)
    out = Path(a.out)
    if out.is_dir():
        raise ConfigError(f"output {out} is a folder; give a file path such as {out / 'traces.safetensors'}")
    for q in out.parents:
        if q.exists():
            if not q.is_dir():
                raise ConfigError(f"output {out}: {q} is a file, not a folder")
            break
    check_generation(over, a.model, where="generation options")
    lm = load_model(a.model, device=a.device)
    cfg = lm.default_config.replace(**over)
    traces = generate(lm, prompts, cfg, batch_size=a.batch_size)
    path = save_traces(traces, out)
    print(f"{len(traces)} traces ({lm.name}, config {cfg.key()}) -> {path}")
    return 0


_STEPS = ("collect", "merge", "centers", "signal", "report", "run")


def _pipeline(a) -> int:
    cmd = a.cmd if a.cmd != "guard" else f"guard {a.gcmd}"
    try:
        if cmd in ("collect", "run"):
            stop = a.stop_after if a.stop_after is not None else (
                int(os.environ["SRI_KIT_STOP_AFTER_SHARDS"]) if os.environ.get("SRI_KIT_STOP_AFTER_SHARDS") else None)
            d = distributed.init(a.rank, a.world_size, use_group=False if a.no_group else None)
            try:
                if a.update_config:
                    pipeline.prepare(a.config, dist=d, allow_update=True)
                s = pipeline.collect(a.config, dist=d, stop_after=stop, do_merge=not a.no_merge,
                                     progress=not a.quiet)
            finally:
                distributed.shutdown(d)
            if not d.is_main:
                return 0
            print(f"collect: {s['written']} shard(s) written, {s['skipped']} already complete (rank 0)")
            if cmd == "collect":
                return 0
        if a.update_config and cmd not in ("collect", "run"):
            pipeline.prepare(a.config, allow_update=True)
        if cmd == "merge":
            out = pipeline.merge(a.config, progress=not a.quiet)
            print(f"merged {len(out)} set(s) into {next(iter(out.values())).parent}")
        if cmd in ("centers", "run"):
            c = pipeline.fit_centers(a.config)
            print(f"centers: T={c.shape[0]}, D={c.shape[1]}, {c.n_harmless} harmless / {c.n_harmful} harmful anchors")
        if cmd in ("signal", "run"):
            sig = pipeline.compute_signals(a.config)
            print("signal: " + ", ".join(f"{k} {v.shape[0]}x{v.shape[1]}" for k, v in sig.items()))
        if cmd in ("guard fit", "run"):
            g = pipeline.fit_guard(a.config)
            print(f"guard: {g.n_params_} parameters, threshold {g.threshold_:.4g} "
                  f"({g.n_train_} train / {g.n_calib_} calibration signals)")
        if cmd in ("guard eval", "run"):
            r = pipeline.eval_guard(a.config)
            for k, v in r["detection"].items():
                print(f"guard eval: {k:28s} AUROC {v['auroc']:.3f}  TPR@5%FPR {v['tpr_at_5fpr']:.3f}")
            print(r["blocking"].round(1).to_string())
        if cmd in ("report", "run"):
            print(f"report: {pipeline.write_report(a.config)}")
    except pipeline.StopAfterShards as e:
        print(f"sri-kit {cmd}: {e}", file=sys.stderr)
        return 75
    return 0


def _add_run_args(p, collect: bool = False) -> None:
    p.add_argument("config", help="run config (.toml or .yaml)")
    p.add_argument("--update-config", action="store_true",
                   help="accept a config whose [guard]/[report] sections changed since the run started")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    if collect:
        p.add_argument("--rank", type=int, default=None, help="this process's rank (default: $RANK / $SLURM_PROCID)")
        p.add_argument("--world-size", type=int, default=None, help="number of ranks (default: $WORLD_SIZE)")
        p.add_argument("--no-group", action="store_true",
                       help="do not join a process group (independent array jobs; run `sri-kit merge` after)")
        p.add_argument("--no-merge", action="store_true", help="leave the shards unmerged")
        p.add_argument("--stop-after", type=int, default=None,
                       help="stop this rank after K new shards (exit 75; for resume tests; "
                            "also $SRI_KIT_STOP_AFTER_SHARDS)")


def _intervene(a, argv) -> int:
    from .analysis.interventions import step_window_experiment, store_tables
    from .results import ResultsStore

    for name in ("n_fit", "n_eval"):
        if getattr(a, name) < 2:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 2, got {getattr(a, name)}")
    store = None if a.no_store else ResultsStore(a.store)
    command = "sri-kit " + " ".join(argv)
    for model in a.models:
        lm = load_model(model)
        rows, info = step_window_experiment(lm, n_fit=a.n_fit, n_eval=a.n_eval, seed=a.seed, layer=a.layer,
                                            samplers=a.samplers, diffusion_steps=a.diffusion_steps)
        for r in rows:
            d = r["delta_refused"]
            print(f"{lm.name:9s} {r['sampler']:13s} {r['intervention']:6s} {r['window']:6s} {r['prompts']:7s} "
                  f"refused {sum(r['refused_bits']):3d}/{r['n']:<3d} Δ {100 * d['value']:+5.0f} pp "
                  f"[{100 * d['lo']:+.0f}, {100 * d['hi']:+.0f}]  complied {sum(r['complied_bits'])}/{r['n']}")
        if store is not None:
            for t in store_tables(lm, rows, info, command=command, store=store):
                print(f"wrote {store.path(t.model, t.name)}")
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user mistake, 1 real failure, 75 stopped)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv = [x for x in argv if x != "--debug"]
    words = [x for x in argv if not x.startswith("-")]
    cmd = " ".join(words[:2] if words[:1] in (["guard"], ["organism"], ["parity"]) else words[:1])
    try:
        return _main(argv)
    except (SriKitError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
        if debug:
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"sri-kit {cmd}: error: {msg} (--debug shows the traceback)", file=sys.stderr)
        return 2


#: Jobs with their own option parsers (``sri-kit JOB --help``): module, help.
_JOBS = {
    "results": ("sri_kit.results.cli", "the results store: compute, public, render, check, regenerate"),
    "analysis-report": ("sri_kit.report.build", "the analysis report on the organism (docs/RESULTS.md sections 3-9)"),
    "guard-eval": ("sri_kit.guard.evaluate", "SRI Guard and baselines on an organism (docs/GUARD_<model>.md)"),
    "guard-diagnosis": ("sri_kit.guard.diagnosis", "the guard diagnosis: generate the trace cache, analyse"),
    "fast-decoding": ("sri_kit.results.fast_decoding", "threshold / KV-cached DLM decoding against exact decoding "
                      "(tables tiny-dlm/fast_decoding, native-tiny/fast_decoding_cached; docs/FAST_DECODING.md)"),
    "attack-success": ("sri_kit.results.attack_success", "random search and controls (the random_search table)"),
    "browser-check": ("sri_kit.browser_check.check", "the notebooks and widgets in JupyterLab + headless Chromium "
                      "(a clone; the [browser] extra; docs/BROWSER_CHECK.md)"),
    "strip-notebooks": ("sri_kit.strip_notebooks", "strip the notebooks' outputs except the cells nbval checks "
                        "(after executing them)"),
}


def _main(argv) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit", description="Step-wise refusal dynamics in AR and diffusion LMs. "
                                 "--debug (anywhere) shows tracebacks instead of one-line errors.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the main job on the embedded organism", add_help=False)
    d.add_argument("rest", nargs=argparse.REMAINDER)
    lb = sub.add_parser("lab", help="copy the notebooks into a working folder and open JupyterLab there",
                        add_help=False)
    lb.add_argument("rest", nargs=argparse.REMAINDER)
    o = sub.add_parser("organism", help="the embedded model organism")
    osub = o.add_subparsers(dest="ocmd", required=True)
    t = osub.add_parser("train", help="retrain tiny-ar and tiny-dlm from scratch", add_help=False)
    t.add_argument("rest", nargs=argparse.REMAINDER)
    e = osub.add_parser("evaluate", help="measure the organism's rates", add_help=False)
    e.add_argument("rest", nargs=argparse.REMAINDER)
    ba = osub.add_parser("benign-answers", help="answers for the benign public training prompts from a small "
                         "GGUF model (corpus build; the gguf package)", add_help=False)
    ba.add_argument("rest", nargs=argparse.REMAINDER)
    g = sub.add_parser("generate", help="generate traces for prompts (one per line)")
    g.add_argument("model")
    g.add_argument("prompts", help="a text file, one prompt per line")
    g.add_argument("out", help="output .safetensors path (a .json sidecar is written beside it)")
    for name, typ in (("--steps", int), ("--gen-length", int), ("--remasking", str), ("--temperature", float),
                      ("--order", str), ("--seed", int), ("--device", str)):
        g.add_argument(name, type=typ, default=None)
    g.add_argument("--batch-size", type=int, default=32)
    sub.add_parser("presets", help="list model presets")
    pa = sub.add_parser("parity", help="golden parity fixtures: record (upstream code) / check (the kit)",
                        add_help=False)
    pa.add_argument("rest", nargs=argparse.REMAINDER)
    iv = sub.add_parser("intervene", help="refusal-direction ablation / addition by step window (results store)")
    iv.add_argument("--models", nargs="+", default=["tiny-ar", "tiny-dlm"])
    iv.add_argument("--samplers", nargs="+", default=None,
                    help="only these sampler labels ('AR greedy', 'diffusion', 'left-to-right')")
    iv.add_argument("--n-fit", type=int, default=40, help="requests per pool that fit the direction")
    iv.add_argument("--n-eval", type=int, default=40, help="requests per pool and cell")
    iv.add_argument("--seed", type=int, default=0)
    iv.add_argument("--layer", type=int, default=None, help="direction layer (default: the middle one)")
    iv.add_argument("--diffusion-steps", type=int, default=None, help="override the DLM's diffusion steps")
    iv.add_argument("--store", default=None, help="results store root (default: the kit's)")
    iv.add_argument("--no-store", action="store_true", help="print the rows, write nothing")
    helps = {"collect": "prompts -> trace shards (resumable, data parallel under torchrun)",
             "merge": "join complete shards into per-set trace files", "centers": "fit per-step SRI centers",
             "signal": "σ for every prompt set", "report": "write report.md",
             "run": "collect, centers, signal, guard fit, guard eval and report in order"}
    for name in _STEPS:
        _add_run_args(sub.add_parser(name, help=helps[name]), collect=name in ("collect", "run"))
    gd = sub.add_parser("guard", help="SRI Guard: fit / eval (a run config) / evaluate (cross-source, store)")
    gsub = gd.add_subparsers(dest="gcmd", required=True)
    _add_run_args(gsub.add_parser("fit", help="train the guard on benign signals"))
    _add_run_args(gsub.add_parser("eval", help="detection metrics and the blocking table"))
    gsub.add_parser("evaluate", help="in-source vs cross-source evaluation of every detector; the default "
                    "detector's choice (sri_kit.guard.cross_source)", add_help=False
                    ).add_argument("rest", nargs=argparse.REMAINDER)
    for name, (_, help_) in _JOBS.items():
        sub.add_parser(name, help=help_, add_help=False).add_argument("rest", nargs=argparse.REMAINDER)
    # demo / organism train|evaluate|benign-answers / the jobs pass their own options through to their own parsers
    a, extra = ap.parse_known_args(argv)
    passthrough = a.cmd in ("demo", "lab", "organism", "parity", *_JOBS) or (a.cmd == "guard" and a.gcmd == "evaluate")
    if extra and not passthrough:
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    if passthrough:
        a.rest = extra + list(a.rest)
    if a.cmd == "guard" and a.gcmd == "evaluate":
        from .guard.cross_source import main as guard_evaluate
        return guard_evaluate(a.rest) or 0
    if a.cmd in _STEPS or a.cmd == "guard":
        return _pipeline(a)
    if a.cmd == "demo":
        return demo.main(a.rest)
    if a.cmd == "lab":
        return lab.main(a.rest)
    if a.cmd in _JOBS:
        import importlib
        return importlib.import_module(_JOBS[a.cmd][0]).main(a.rest) or 0
    if a.cmd == "organism":          # the application may name the organism; the library only loads it as a plug-in
        if a.ocmd == "train":
            from .organism.train import main as train_main
            return train_main(a.rest) or 0
        if a.ocmd == "benign-answers":
            from .organism.benign_answers import main as answers_main
            return answers_main(a.rest) or 0
        from .organism.evaluate import main as eval_main
        return eval_main(a.rest) or 0
    if a.cmd == "parity":
        from .parity.cli import main as parity_main

        return parity_main(a.rest)
    if a.cmd == "generate":
        return _generate(a)
    if a.cmd == "intervene":
        return _intervene(a, argv)
    if a.cmd == "presets":
        # the embedded presets first (a plug-in adds them to the table after the real models' presets)
        for k, p in sorted(PRESETS.items(), key=lambda kp: not kp[1].local):
            if "/" not in k:
                print(f"{k:28s} {p.family:15s} {p.hub_id:42s} {p.note}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
