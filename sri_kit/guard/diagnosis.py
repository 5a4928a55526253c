"""Why SRI Guard fails on tiny-dlm, measured (issue 15: experiments E1-E3) — generation and analysis.

    sri-kit guard-diagnosis generate [--budget-s 3600]   # fills the trace cache; run several at once
    sri-kit guard-diagnosis analyse [--out benchmarks/results/guard_diagnosis]  # tables from the cache

``generate`` runs a prioritised queue of 32-prompt chunks on tiny-dlm (``sri_kit.generate``, batch 32)
and caches each chunk under ``--cache`` (default: the user cache folder, sri_kit/guard/tiny-dlm): the traces (``save_traces``)
and φ_t pooled four ways at two layers from the same forward passes (a forward hook on the final norm and
on decoder layer ``n_layers // 2``), so every pooling/layer variant of E2 comes from one generation run:

* ``reference``   — mean over all 64 response positions, masks and end padding included (the official code);
* ``generated``   — mean over the positions committed after step t (the paper's §3.1 wording);
* ``ref_noend``   — mean over all response positions except those whose final token is an end/pad token
  (the answer's span, masked or not);
* ``gen_noend``   — committed positions that are not end/pad tokens.

The hook's ``reference`` pooling at the last layer is checked against ``trace.activations`` (the kit's own
pooler) on every chunk. Sets (disjoint, ``sri_kit.data.make_splits`` on the organism's held-out pools,
seed 0): anchors, benign train/calibration/test, the organism's wrapper families applied with their
**held-out phrasings** (``split="heldout"``; ``organism_flip`` has no held-out phrasings, so all four are
used) to 100 held-out harmful requests (``atk_*``) and to 100 other held-out benign requests (``benw_*``,
the matched negatives), the paper's attack templates (FlipAttack, refusal suppression) on the same
harmful requests, and disjoint requests wrapped with the **training phrasings** (``split="train"``) for
the supervised probe. Traces of harmful prompts stay in the local cache; only aggregate numbers are written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import sri_kit as sk
from sri_kit.cache import cache_root, generation_code_digest, model_fingerprint
from sri_kit import attacks
from sri_kit.data import load_prompts, make_splits
from sri_kit.hooks import resolve_module
from sri_kit.models import find_layers

MODEL = "tiny-dlm"
CACHE_ROOT = Path(os.environ.get("GUARD_CACHE") or cache_root() / "guard")
CACHE = CACHE_ROOT / MODEL
CHUNK = 32
POOLINGS = ("reference", "generated", "ref_noend", "gen_noend")
#: the organism's wrapper families under their registered attack names (sri_kit.attacks)
ORG_FAMILIES = ("organism_refusal_suppression", "roleplay", "fiction", "prefix_injection", "random_suffix",
                "organism_flip")
#: the paper's attack templates (sri_kit.attacks), measured apart (never averaged into ASR)
PAPER_ATTACKS = ("flip", "refusal_suppression")
#: generation configs compared: the model's recommended one (two blocks of 32) and one block of 64
CONFIGS = {"b32": {}, "b64": {"block_length": 64}}
#: set sizes at paper scale (PAPER.md §5: 400 anchors per class, 1,200 train + 200 calibration;
#: 100 prompts per attack; 200 held-out benign for FP)
PAPER = dict(harmless_anchor=400, harmful_anchor=400, benign_train=1200, benign_calib=200, benign_test=200,
             wrapped=100, harmful_test=100, probe=120)


def sets() -> dict[str, list[str]]:
    """Every prompt set of the diagnosis, by name (deterministic; :func:`sri_kit.experiments.guard_diagnosis_experiment`)."""
    from sri_kit.experiments import build_sets, guard_diagnosis_experiment
    return {k: v.prompts for k, v in build_sets(guard_diagnosis_experiment()).items()}


def chunk_step(name: str) -> int:
    """Chunk size of a set: 16 for the per-family and test sets (they grow evenly), else 32."""
    return 16 if name.startswith(("atk_", "benw_", "benign_test", "paper_", "probe_")) else CHUNK


def chunks(name: str, n: int) -> list[tuple[int, int]]:
    """(start, size) of the cached chunks that hold the first ``n`` prompts of a set (``n`` a multiple
    of :func:`chunk_step` or the whole set, so every caller shares the same files)."""
    step = chunk_step(name)
    return [(s, min(step, n - s)) for s in range(0, n, step)]


def parse_only(specs: list[str], config: str = "b32") -> list[tuple[str, dict[str, int]]]:
    """``--only`` stages: each ``NAME=N[,NAME=N...]`` is one stage (of ``config``, a :data:`CONFIGS` key), in
    the order given; ``atk=N`` / ``benw=N`` stand for every wrapper family of that kind."""
    if config not in CONFIGS:
        raise SystemExit(f"--config {config!r}: choose one of {sorted(CONFIGS)}")
    stages = []
    for spec in specs:
        sizes: dict[str, int] = {}
        for item in spec.split(","):
            name, n = item.split("=")
            names = [f"{name}_{f}" for f in ORG_FAMILIES] if name in ("atk", "benw") else [name]
            sizes.update({k: int(n) for k in names})
        stages.append((config, sizes))
    return stages


def queue(stages: list[tuple[str, dict[str, int]]] | None = None) -> list[tuple[str, str, int, int]]:
    """(config, set, start, n) jobs in priority order: a usable small analysis first, then paper scale
    (1,200 train / 200 calibration), then the paper templates, then the one-block config at a smaller
    scale. Chunks hold 32 prompts (16 for the per-family test sets, so that every family grows evenly).
    ``stages`` (from ``--only``) replaces the built-in order."""
    S = {k: len(v) for k, v in sets().items()}
    atk = [f"atk_{f}" for f in ORG_FAMILIES] + [f"benw_{f}" for f in ORG_FAMILIES]
    stages = stages if stages is not None else [   # sized for a shared 2-core machine: each stage is usable on its own
        ("b32", {"harmless_anchor": 64, "harmful_anchor": 64, "benign_train": 128,
                 **{f"atk_{f}": 16 for f in ORG_FAMILIES}, "benign_test": 64,
                 **{f"benw_{f}": 16 for f in ORG_FAMILIES}, "benign_calib": 96, "benign_test": 96}),
        ("b32", {"probe_harm": 32, "probe_ben": 32, **{f"paper_{f}": 16 for f in PAPER_ATTACKS}}),
        ("b32", {**{a: 32 for a in atk}, "benign_calib": 200, "benign_train": 320, "benign_test": 128,
                 "harmless_anchor": 96, "harmful_anchor": 96}),
        ("b32", {"benign_train": 640, **{a: 64 for a in atk}, "benign_test": 200, "probe_harm": 64, "probe_ben": 64}),
        ("b32", {"benign_train": 1200, "harmless_anchor": 192, "harmful_anchor": 192, "probe_harm": 120,
                 "probe_ben": 120, "plain_harmful": 100, **{a: 100 for a in atk}}),
        ("b32", {"harmless_anchor": 400, "harmful_anchor": 400, **{f"paper_{f}": 100 for f in PAPER_ATTACKS}}),
        ("b64", {"harmless_anchor": 64, "harmful_anchor": 64, "benign_train": 192, "benign_calib": 96,
                 "benign_test": 96, **{a: 32 for a in atk}}),
    ]
    jobs, seen = [], set()
    for cfg, sizes in stages:
        for name, n in sizes.items():
            for start, k in chunks(name, min(n, S[name])):
                if (cfg, name, start) not in seen:
                    seen.add((cfg, name, start))
                    jobs.append((cfg, name, start, k))
    return jobs


def chunk_path(lm, cfg: str, name: str, start: int, n: int) -> Path:
    """Stem of a cached chunk: ``<cache>/<model>/<weights+code>/<cfg>/<set>/<start>+<n>`` (+ .safetensors/.json/
    .npz); the weights' fingerprint and the generation code's digest are in the path, so new weights or a changed
    sampler never read old chunks."""
    version = f"{model_fingerprint(lm)[:12]}-{generation_code_digest()[:8]}"
    return CACHE_ROOT / lm.name / version / cfg / name / f"{start:04d}+{n}"


def cached(lm, cfg_name: str, name: str, prompts: list[str], n: int):
    """The first ``n`` traces of a set and their φ variants, generating (and caching) missing chunks."""
    traces, var = [], []
    for start, k in chunks(name, n):
        p = chunk_path(lm, cfg_name, name, start, k)
        if not (p.parent / f"{p.name}.npz").exists():
            cfg = lm.default_config.replace(**CONFIGS.get(cfg_name, {}))
            tr, v = generate_chunk(lm, cfg, prompts[start:start + k])
            p.parent.mkdir(parents=True, exist_ok=True)
            sk.save_traces(tr, p.parent / f"{p.name}.safetensors")
            np.savez(p.parent / f"{p.name}.tmp.npz", **v)
            os.replace(p.parent / f"{p.name}.tmp.npz", p.parent / f"{p.name}.npz")
        tr = sk.load_traces(p.parent / f"{p.name}.safetensors")
        if [t.prompt.strip() for t in tr] != [q.strip() for q in prompts[start:start + k]]:
            raise RuntimeError(f"{p}: cached prompts differ from the set's (delete the cache folder)")
        traces += tr
        var.append(p.parent / f"{p.name}.npz")
    return traces, var


def _hidden(out) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out[0]


def generate_chunk(lm, cfg, prompts: list[str]):
    """Traces of ``prompts`` (one batch) and φ under every pooling × layer, [n, T, D] float32 each.
    For an incremental (causal) sampler only the kit's own φ is kept (``reference@last``)."""
    if lm.causal:
        traces = sk.generate(lm, prompts, cfg, batch_size=CHUNK, progress=False)
        return traces, {"reference@last": np.stack([t.activations for t in traces]).astype(np.float32)}
    L = cfg.gen_length
    mid = len(find_layers(lm.model)) // 2
    layers = {"last": -1, "middle": mid}
    caps: dict[str, list[torch.Tensor]] = {k: [] for k in layers}
    handles = []
    for k, lay in layers.items():
        _, mod = resolve_module(lm.model, lm.hook_site, lay)
        handles.append(mod.register_forward_hook(
            lambda m, a, out, k=k: caps[k].append(_hidden(out)[:, -L:].detach().float().clone())))
    try:
        traces = sk.generate(lm, prompts, cfg, batch_size=CHUNK, progress=False)
    finally:
        for h in handles:
            h.remove()
    H = {k: torch.stack(v) for k, v in caps.items()}                       # [T, B, L, D]
    ref = H["last"].mean(2)                                                 # [T, B, D]
    end_ids = {int(i) for i in lm.end_token_ids} | {int(lm.pad_token_id)}
    out = {f"{p}@{k}": [] for p in POOLINGS for k in layers}
    worst = 0.0
    for tr in traces:
        act = torch.as_tensor(tr.activations)
        d = (ref - act[:, None]).abs().amax(dim=(0, 2))
        b = int(d.argmin())                                                 # this trace's row in the batch
        worst = max(worst, float(d[b]) / max(1e-6, float(act.abs().max())))
        com = torch.as_tensor(tr.committed, dtype=torch.float32)           # [T, L]
        keep = torch.as_tensor(~np.isin(tr.predicted[-1], list(end_ids)), dtype=torch.float32)   # [L]
        w = {"reference": torch.ones_like(com), "generated": com, "ref_noend": keep[None].expand_as(com),
             "gen_noend": com * keep[None]}
        for k in layers:
            h = H[k][:, b]                                                  # [T, L, D]
            for p, wt in w.items():
                out[f"{p}@{k}"].append(((h * wt[..., None]).sum(1) / wt.sum(1, keepdim=True).clamp_min(1.0)).numpy())
    if worst > 1e-4:
        raise RuntimeError(f"hooked reference pooling differs from trace.activations (rel {worst:.2e})")
    return traces, {k: np.stack(v).astype(np.float32) for k, v in out.items()}


def cmd_generate(a) -> int:
    torch.set_num_threads(1)
    lm = sk.load_model(MODEL)
    S = sets()
    t0 = time.time()
    while time.time() - t0 < a.budget_s:
        job = None
        for cfg_name, name, start, n in queue(parse_only(a.only, a.config) if a.only else None):   # the first chunk nobody has done or claimed
            p = chunk_path(lm, cfg_name, name, start, n)
            if (p.parent / f"{p.name}.npz").exists():
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            try:     # any number of workers share the queue: a chunk is claimed by creating its .claim file
                os.close(os.open(p.parent / f"{p.name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            job = (cfg_name, name, start, n)
            break
        if job is None:
            print("queue done", flush=True)
            break
        cfg_name, name, start, n = job
        prompts = S[name][start:start + n]
        cfg = lm.default_config.replace(**CONFIGS[cfg_name])
        t1 = time.time()
        traces, var = generate_chunk(lm, cfg, prompts)
        p.parent.mkdir(parents=True, exist_ok=True)
        sk.save_traces(traces, p.parent / f"{p.name}.safetensors")
        np.savez(p.parent / f"{p.name}.tmp.npz", **var)
        os.replace(p.parent / f"{p.name}.tmp.npz", p.parent / f"{p.name}.npz")   # the .npz marks a finished chunk
        print(f"{cfg_name} {name} [{start}:{start + n}]: {len(prompts)} prompts {time.time() - t1:.0f} s", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--budget-s", type=float, default=1e9)
    g.add_argument("--only", nargs="+", metavar="NAME=N,...",
                   help="generate only these sets up to these sizes, one stage per argument, in order "
                        "(atk / benw: every wrapper family), e.g. --only benign_test=200 atk=48 benign_train=1200")
    g.add_argument("--config", default="b32", help=f"the config of the --only stages: one of {sorted(CONFIGS)} "
                                                   "(b64: one block of 64 instead of two of 32)")
    an = sub.add_parser("analyse")
    an.add_argument("--out", type=Path, default=Path("benchmarks/results/guard_diagnosis"))
    an.add_argument("--seed", type=int, default=0)
    an.add_argument("--blocks-only", action="store_true",
                    help="only E2's one block vs two, on equal prompt sets (writes E2_blocks.csv)")
    a = ap.parse_args(argv)
    if a.cmd == "generate":
        return cmd_generate(a)
    from .analysis import analyse      # the analysis half
    return analyse(a)


if __name__ == "__main__":
    raise SystemExit(main())
