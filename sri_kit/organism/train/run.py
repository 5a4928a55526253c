"""Train the embedded model organism (tiny-ar and tiny-dlm) from scratch, reproducibly, on CPU.

This module runs the recipe: :func:`train_one` trains one organism (both stages, checkpoint selection,
model folder) and :func:`main` is the command line (``python -m sri_kit.organism.train``; see the package
docstring for usage and timings).
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from transformers import AutoTokenizer

from ...errors import ConfigError
from ...models import MODELS_DIR
from ...sampling import generate_texts
from ..evaluate import organism_lm, quick_metrics
from ..tokenizer import train_tokenizer
from ..wrappers import COVERAGE, families_by_coverage
from .batches import encode_examples
from .data import make_examples, tokenizer_texts, training_pools, validation_prompts
from .loop import SELECTION_RULE, save_model, select_checkpoint, train_stage
from .organisms import ORGANISMS, dream_spec
from .recipe import MAX_REPLAY, RECIPES, SAFETY_PLAIN, SMOKE, RunCfg, stage_batch_size

__all__ = ["train_one", "main"]


def train_one(kind: str, tok, pools, cfg: RunCfg, out: Path, log, val_prompts, device="cpu",
              init_from: str | None = None, save_base: str | None = None, argv=None, progress: bool = False,
              base_stop_at: int | None = None, spec=None) -> dict:
    """Train one organism (``kind`` a key of :data:`ORGANISMS`): both stages, or only the safety stage when
    ``init_from`` names a checkpoint; writes ``out / ORGANISMS[kind].name`` and returns its training log.
    ``spec``: an :class:`OrganismSpec` in place of ``ORGANISMS[kind]`` (e.g. :func:`dream_spec`)."""
    spec = spec or ORGANISMS[kind]
    torch.manual_seed(cfg.seed)
    prior = None
    if init_from:
        model = spec.auto_class.from_pretrained(init_from, dtype=torch.float32)
        pl = Path(init_from) / "training_log.json"
        prior = json.loads(pl.read_text()) if pl.exists() else None
    else:
        model = spec.build(tok)
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"[{kind}] {type(model).__name__} params={n_params}")
    base_sc, safe_sc = spec.stages(cfg)
    base = [] if init_from else encode_examples(tok, make_examples("base", base_sc.steps * stage_batch_size(base_sc, cfg),
                                                                     pools, cfg, cfg.seed))
    safety_seed = cfg.seed + (2 if init_from else 1)  # a continued run sees fresh safety examples
    safety = encode_examples(tok, make_examples("safety", safe_sc.steps * stage_batch_size(safe_sc, cfg), pools, cfg,
                                                safety_seed, replay=spec.replay_share(cfg)))
    if init_from:
        log(f"[{kind}] initialised from {init_from}; skipping the base stage")
        t_base = 0.0
    else:
        log(f"[{kind}] base stage: {len(base)} examples, {base_sc.steps} steps")
        _, t_base = train_stage(model, base, base_sc, spec, tok, cfg, cfg.seed, log,
                                resume=out / ".resume" / f"{spec.name}_base.safetensors", progress=progress,
                                stop_at=base_stop_at)
    base_metrics = quick_metrics(model, tok, kind, val_prompts)
    log(f"[{kind}] after base ({t_base:.0f}s): {json.dumps({k: round(v, 3) for k, v in base_metrics.items()})}")
    if save_base and not init_from:
        save_model(model, tok, spec, Path(save_base), info={
            "family": kind, "stage": "base", "run_config": asdict(cfg), "base_seconds": round(t_base, 1),
            "val_after_base": base_metrics, "device": str(device), "argv": argv})
        log(f"[{kind}] base-stage model written to {save_base}")
    log(f"[{kind}] safety stage: {len(safety)} examples, {safe_sc.steps} steps")
    ckpts, t_safe = train_stage(model, safety, safe_sc, spec, tok, cfg, safety_seed, log,
                                eval_fn=lambda m: quick_metrics(m, tok, kind, val_prompts),
                                resume=out / ".resume" / f"{spec.name}_safety.safetensors", progress=progress)
    (step, state, metrics), rule_met = select_checkpoint(ckpts)
    model.load_state_dict(state)
    log(f"[{kind}] selected safety step {step} (rule met: {rule_met})")
    probe = val_prompts["harmful"][:3] + val_prompts["benign"][:3] + val_prompts["borderline"][:2] + \
        val_prompts[f"asr_{families_by_coverage('base_only')[0]}"][:2]
    for p_, r_ in zip(probe, generate_texts(organism_lm(model, tok, kind), probe)):   # the validation sampler
        log(f"    sample: {p_[:80]!r} -> {r_!r}")
    info = {
        "family": kind, "architecture": type(model).__name__, "n_params": n_params, "seed": cfg.seed,
        "run_config": asdict(cfg), "coverage": COVERAGE, "selection_rule": SELECTION_RULE,
        "selected_step": step, "rule_met": rule_met, "base_seconds": round(t_base, 1),
        "safety_seconds": round(t_safe, 1), "val_after_base": base_metrics,
        "val_checkpoints": [{"step": s, **m} for s, _, m in ckpts], "torch": torch.__version__,
        "n_threads": torch.get_num_threads(), "device": str(device), "init_from": portable(init_from),
        "prior_run": prior, "argv": argv, "base_stop_at": base_stop_at,
    }
    save_model(model, tok, spec, out / spec.name, info=info)
    for stage in ("base", "safety"):   # the finished model replaces its resume checkpoints
        for f in (out / ".resume").glob(f"{spec.name}_{stage}.*"):
            f.unlink()
    return info


def portable(arg):
    """A command-line value as the training log records it: an absolute path is cut to its last (at most two)
    components after the first folder, so no machine's folder layout is written into shipped files.

    >>> portable("/scratch/w/base/tiny-dlm"), portable("/scratch/w"), portable("runs/A"), portable("--out"), portable(None)
    ('.../base/tiny-dlm', '.../w', 'runs/A', '--out', None)
    """
    if not isinstance(arg, str) or not Path(arg).is_absolute():
        return arg
    return ".../" + "/".join(Path(arg).parts[2:][-2:])


def check_out(out: Path, overwrite_shipped: bool = False) -> None:
    """Refuse an output folder that is a file, or the shipped weights' folder without ``overwrite_shipped``."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose another --out")
    shipped = MODELS_DIR.resolve()
    if not overwrite_shipped and out.resolve() == shipped and any((shipped / o.name).exists() for o in ORGANISMS.values()):
        raise ConfigError(f"--out {out} is the folder of the shipped weights ({shipped}); training would replace "
                          "them. Pass --overwrite-shipped to do that on purpose, or choose another --out")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit organism train", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="output folder (gets tiny-ar/ and tiny-dlm/); default: "
                                                "./sri_kit_organism for a full run, a temp dir for --smoke, the "
                                                "shipped folder with --overwrite-shipped. The shipped weights "
                                                "(package data sri_kit/_data/models) are replaced only with "
                                                "--overwrite-shipped")
    ap.add_argument("--overwrite-shipped", action="store_true",
                    help="write into the shipped organism's folder (sri_kit/_data/models, the default --out with "
                         "this flag), replacing tiny-ar / tiny-dlm")
    ap.add_argument("--smoke", action="store_true", help="a few optimiser steps on a tiny corpus (CI)")
    ap.add_argument("--tokenizer", default=None, metavar="DIR",
                    help="use the tokenizer saved in DIR; when DIR has none, train it and save it there (lets "
                         "two processes train tiny-ar and tiny-dlm side by side with one shared tokenizer)")
    ap.add_argument("--tokenizer-only", action="store_true", help="with --tokenizer: train and save it, then stop")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--base-stop-at", type=int, default=None, metavar="N",
                    help="end the base stage after N steps, its learning-rate schedule unchanged (a truncated "
                         "cosine; e.g. to resume a CPU run that has to finish sooner); recorded in the log")
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="v2",
                    help="named recipe (v2: the shipped weights; v3: human-written benign answers, CPU-sized)")
    ap.add_argument("--only", choices=list(ORGANISMS), default=None, help="train one model only")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu; the recipe is CPU-first)")
    ap.add_argument("--dlm-base-steps", type=int, default=None, help="override the DLM base-stage steps")
    ap.add_argument("--dlm-safety-steps", type=int, default=None, help="override the DLM safety-stage steps")
    ap.add_argument("--ar-base-steps", type=int, default=None, help="override the AR base-stage steps")
    ap.add_argument("--init-from", default=None, help="continue from this model dir: run only the safety stage "
                                                      "(needs --only)")
    ap.add_argument("--dlm-from-ar", default=None, metavar="AR_DIR",
                    help="make tiny-dlm as Dream was made from Qwen2.5: a Dream-style model (bidirectional Llama "
                         "blocks, logits shifted by one) whose weights start as this AR checkpoint's, trained with "
                         "both stages and the AR's tokenizer (needs --only dlm; experimental)")
    ap.add_argument("--suffix-mask-frac", type=float, default=None, help="DLM semi-AR masking share")
    ap.add_argument("--eval-every", type=int, default=None, help="override the safety-stage eval interval")
    ap.add_argument("--dlm-base-batch", type=int, default=None, help="override the DLM base-stage batch size")
    ap.add_argument("--dlm-safety-lr", type=float, default=None, help="override the DLM safety-stage peak lr")
    ap.add_argument("--replay-uncovered", type=float, default=None,
                    help="share of safety examples replaying base compliance in the uncovered families "
                         "(both models; default 0.05 AR, 0.10 DLM)")
    ap.add_argument("--safety-benign", type=float, default=None, metavar="SHARE",
                    help="safety stage: share of plain benign examples (default 0.36; plain harmful requests take "
                         "0.66 minus it): more benign examples against over-refusal")
    ap.add_argument("--filter-refusal-answers", action="store_true",
                    help="drop benign / borderline training requests whose answer the refusal judge calls a refusal")
    ap.add_argument("--imperative-benign", type=float, default=None, metavar="SHARE",
                    help="add, for SHARE of the public (Dolly) benign requests, a copy asked as an instruction with "
                         "the same human answer (against refusal that keys on the imperative form; experimental)")
    ap.add_argument("--n-val", type=int, default=None, help="validation prompts per set (checkpoint selection)")
    ap.add_argument("--save-base", default=None, help="also write the base-stage model to this folder")
    ap.add_argument("--public-prompts", type=float, default=None, metavar="SHARE",
                    help="opt in to public training prompts (sri_kit.organism.corpus.public: training splits of "
                         "permissively licensed sets, disjoint from every evaluation split): about SHARE of the "
                         "harmful (and answered benign) requests; default 0 (the shipped recipe)")
    args = ap.parse_args(argv)
    cmdline = [portable(x) for x in (sys.argv[1:] if argv is None else argv)]
    cfg = copy.deepcopy(SMOKE) if args.smoke else copy.deepcopy(RECIPES[args.recipe])
    if args.smoke and args.recipe != "v2":
        cfg = replace(cfg, public_prompts=RECIPES[args.recipe].public_prompts,
                      public_benign=RECIPES[args.recipe].public_benign, n_concepts=100, recipe=args.recipe)
    if args.dlm_base_steps:
        cfg.dlm_base = replace(cfg.dlm_base, steps=args.dlm_base_steps)
    if args.dlm_base_batch:
        cfg.dlm_base = replace(cfg.dlm_base, batch_size=args.dlm_base_batch)
    if args.dlm_safety_lr:
        cfg.dlm_safety = replace(cfg.dlm_safety, lr=args.dlm_safety_lr)
    if args.replay_uncovered is not None:
        if not 0.0 <= args.replay_uncovered <= MAX_REPLAY:
            ap.error(f"--replay-uncovered must lie in [0, {MAX_REPLAY}] (it is taken out of the covered-family share)")
        cfg.replay_uncovered = cfg.dlm_replay_uncovered = args.replay_uncovered
    if args.safety_benign is not None:
        if not 0.2 <= args.safety_benign <= SAFETY_PLAIN - 0.1:
            ap.error(f"--safety-benign must lie in [0.2, {SAFETY_PLAIN - 0.1:.2f}]")
        cfg.safety_benign = args.safety_benign
    if args.filter_refusal_answers:
        cfg.filter_refusal_answers = True
    if args.imperative_benign is not None:
        if not 0.0 <= args.imperative_benign <= 1.0:
            ap.error("--imperative-benign must lie in [0, 1]")
        cfg.imperative_benign = args.imperative_benign
    if args.n_val:
        cfg.n_val = args.n_val
    if args.public_prompts is not None:
        if not 0.0 <= args.public_prompts < 1.0:
            ap.error("--public-prompts must lie in [0, 1)")
        cfg.public_prompts = args.public_prompts
    if args.save_base and args.only is None:
        ap.error("--save-base needs --only ar|dlm")
    if args.dlm_safety_steps:
        cfg.dlm_safety = replace(cfg.dlm_safety, steps=args.dlm_safety_steps)
    if args.suffix_mask_frac is not None:
        cfg.suffix_mask_frac = args.suffix_mask_frac
    if args.eval_every:
        cfg.ar_safety.eval_every = cfg.dlm_safety.eval_every = args.eval_every
    if args.init_from and not args.only:
        ap.error("--init-from needs --only ar|dlm")
    if args.dlm_from_ar and (args.only != "dlm" or args.init_from):
        ap.error("--dlm-from-ar needs --only dlm (and no --init-from)")
    if args.ar_base_steps:
        cfg.ar_base = replace(cfg.ar_base, steps=args.ar_base_steps)
    if args.threads:
        torch.set_num_threads(args.threads)
    if str(args.device).startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # GPU recipe: TF32 matmuls (CPU runs are plain float32)
    if args.out is None and args.overwrite_shipped:
        out = MODELS_DIR                  # the shipped organism's folder (package data sri_kit/_data/models)
    elif args.out is None:
        out = Path(tempfile.mkdtemp(prefix="sri_kit_organism_")) if args.smoke else Path("sri_kit_organism")
    else:
        out = Path(args.out)
    check_out(out, args.overwrite_shipped)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def log(msg):
        print(f"[{time.time() - t0:7.1f}s] {msg}", flush=True)

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    pools = training_pools(cfg)
    log(f"pools: " + ", ".join(f"{k}={len(v)}" for k, v in pools.items()))
    if args.init_from or args.dlm_from_ar:   # a continued or adapted run keeps its model's tokenizer
        tok = AutoTokenizer.from_pretrained(args.init_from or args.dlm_from_ar)
        log(f"tokenizer: vocab {len(tok)} (from {portable(args.init_from or args.dlm_from_ar)})")
    elif args.tokenizer and (Path(args.tokenizer) / "tokenizer.json").is_file():
        tok = AutoTokenizer.from_pretrained(args.tokenizer)
        log(f"tokenizer: vocab {len(tok)} (loaded from --tokenizer)")
    else:
        tok = train_tokenizer(tokenizer_texts(pools, cfg), vocab_size=cfg.vocab_size)
        log(f"tokenizer: vocab {len(tok)}")
        if args.tokenizer:
            tok.save_pretrained(args.tokenizer)
            log("tokenizer saved (--tokenizer)")
    if args.tokenizer_only:
        if not args.tokenizer:
            ap.error("--tokenizer-only needs --tokenizer DIR")
        return 0
    val = validation_prompts(cfg)
    infos = {}
    for fam in (list(ORGANISMS) if args.only is None else [args.only]):
        infos[fam] = train_one(fam, tok, pools, cfg, out, log, val, device=args.device, init_from=args.init_from,
                               save_base=args.save_base, argv=cmdline,
                               progress=not args.no_progress, base_stop_at=args.base_stop_at,
                               spec=dream_spec(args.dlm_from_ar) if args.dlm_from_ar else None)
    log(f"done; wrote {', '.join(str(out / ORGANISMS[f].name) for f in infos)}")
    return 0

