#!/usr/bin/env python
"""Fast DLM decoding against exact decoding, in one process: speed ratios and refusal deltas.

Usage::

    python benchmarks/fast_decoding.py                 # results/fast_decoding.json
    python benchmarks/fast_decoding.py --quick         # results/fast_decoding_quick.json (small, minutes)
    python benchmarks/fast_decoding.py --n 300 --threads 1 --json out.json

Organism (``data/models/tiny-dlm``, its default config: 32 steps, gen_length 64, two blocks of 32):
each fast sampler (``threshold`` at several thresholds, ``threshold_factor`` at several factors) and
the exact ``diffusion`` sampler decode the same held-out prompts (the first ``--n`` of the organism's
harmful and benign pools, as ``sri_kit.organism.evaluate``). ``texts_per_s_ratio``: texts/s without
recording over exact texts/s (the whole prompt set, batch 32). ``traces_per_s_ratio``: ``sk.generate``
traces/s over exact, on the first ``--traces`` prompts, interleaved repeats, median. Refusal: the kit's
keyword judge (``sri_kit.judges.is_refusal``) per prompt; the delta to exact decoding is a paired
difference on the same prompts with a 95 % normal-approximation interval (and the counts that flip
either way). Token agreement: the share of response positions equal to exact decoding.

Real architectures (random-initialised kit-native LLaDA and Dream of the organism's size, its
tokenizer): ``prefix_cache`` and ``dual_cache`` (threshold 1.0: the schedule, only the cache
approximates; and 0.9) against exact ``diffusion``; texts/s and traces/s ratios and token agreement.
Random weights give flat predictions, so the threshold rarely fires there: those rows measure the cache.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sri_kit as sk  # noqa: E402
from sri_kit.io import atomic_write_text  # noqa: E402
from sri_kit.judges import is_refusal  # noqa: E402
from sri_kit.organism.evaluate import load_pool  # noqa: E402
from sri_kit.sampling import decoder, get_sampler, register, sampler_names  # noqa: E402
from sri_kit.sampling.cached import DualCacheSampler, PrefixCacheSampler  # noqa: E402
from sri_kit.sampling.threshold import FactorSampler, ThresholdSampler  # noqa: E402

RESULTS = HERE / "results"
ORGANISM_SETTINGS = [("threshold", {"threshold": t}) for t in (0.9, 0.7, 0.5, 0.3)] + \
    [("threshold_factor", {"factor": f}) for f in (1.0, 2.0, 4.0)]
CACHE_SETTINGS = [("prefix_cache", {}), ("dual_cache", {}), ("prefix_cache", {"threshold": 0.9}),
                  ("dual_cache", {"threshold": 0.9}), ("threshold", {"threshold": 0.9})]


def ensure_registered() -> None:
    """The fast samplers, when the package's registry does not hold them yet."""
    for s in (ThresholdSampler(), FactorSampler(), PrefixCacheSampler(), DualCacheSampler()):
        if s.name not in sampler_names():
            register(s)


def decode_all(lm, prompts, cfg, batch=32):
    """(texts, token ids [N, L], steps per row, forward passes, seconds): text-only decoding, prompts batched
    by length as ``generate_texts`` does."""
    sampler = get_sampler(cfg.sampler or "diffusion")
    rows = lm.encode_chat(prompts)
    dec = decoder(lm.tokenizer, lm.end_token_ids)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    ids = [None] * len(rows)
    steps = np.zeros(len(rows), dtype=np.int64)
    n_fwd = 0
    t0 = time.perf_counter()
    for s in range(0, len(rows), batch):
        idx = order[s:s + batch]
        out = sampler.run(lm, [rows[i] for i in idx], cfg, record=False)
        n_fwd += out.n_forward
        for j, i in enumerate(idx):
            ids[i] = out.response_ids[j]
            steps[i] = cfg.steps if out.n_steps is None else int(out.n_steps[j])
    dt = time.perf_counter() - t0
    return [dec(r, lstrip=True) for r in ids], torch.stack(ids), steps, n_fwd, dt


def paired_delta(fast: np.ndarray, exact: np.ndarray) -> dict:
    """Paired difference of two 0/1 vectors on the same prompts: mean, 95 % CI, flips each way."""
    d = fast.astype(float) - exact.astype(float)
    n = len(d)
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    m = float(d.mean())
    return {"delta": m, "ci95": [m - 1.96 * se, m + 1.96 * se], "n": n,
            "exact_rate": float(exact.mean()), "fast_rate": float(fast.mean()),
            "flips_to_refusal": int(((d > 0)).sum()), "flips_to_answer": int((d < 0).sum())}


def traces_per_s(lm, prompts, cfgs: dict, repeats: int) -> dict:
    """Median traces/s of ``sk.generate`` per named config, repeats interleaved."""
    times = {k: [] for k in cfgs}
    for k, c in cfgs.items():                       # warm-up
        sk.generate(lm, prompts[:2], c, progress=False)
    for _ in range(repeats):
        for k, c in cfgs.items():
            t0 = time.perf_counter()
            sk.generate(lm, prompts, c, batch_size=32, progress=False)
            times[k].append(time.perf_counter() - t0)
    return {k: len(prompts) / statistics.median(v) for k, v in times.items()}


def compare(lm, prompts, base, settings, n_harmful, traces, repeats, log) -> dict:
    exact_cfg = base.replace(sampler="diffusion")
    texts0, ids0, _, fwd0, dt0 = decode_all(lm, prompts, exact_cfg)
    ref0 = np.array([is_refusal(t) for t in texts0])
    log(f"  exact: {len(prompts) / dt0:.2f} texts/s, {fwd0} forwards")
    rows, cfgs = [], {"exact": exact_cfg}
    for name, opts in settings:
        cfg = base.replace(sampler=name, options=opts)
        texts, ids, steps, fwd, dt = decode_all(lm, prompts, cfg)
        ref = np.array([is_refusal(t) for t in texts])
        label = f"{name} {json.dumps(opts, sort_keys=True)}"
        cfgs[label] = cfg
        row = {"sampler": name, "options": opts, "texts_per_s_ratio": dt0 / dt, "forwards": fwd,
               "exact_forwards": fwd0, "mean_steps": float(steps.mean()), "max_steps": int(steps.max()),
               "token_agreement": float((ids == ids0).float().mean()),
               "text_agreement": float(np.mean([a == b for a, b in zip(texts, texts0)])),
               "refusal_harmful": paired_delta(ref[:n_harmful], ref0[:n_harmful]),
               "refusal_benign": paired_delta(ref[n_harmful:], ref0[n_harmful:]) if len(prompts) > n_harmful else None}
        rows.append(row)
        rh = row["refusal_harmful"]
        log(f"  {label}: {row['texts_per_s_ratio']:.2f}x texts/s, steps {row['mean_steps']:.1f}, token agreement "
            f"{row['token_agreement']:.3f}, harmful refusal {rh['fast_rate']:.3f} vs {rh['exact_rate']:.3f} "
            f"(delta {rh['delta']:+.3f}, CI {rh['ci95'][0]:+.3f}..{rh['ci95'][1]:+.3f})")
    tps = traces_per_s(lm, prompts[:traces], cfgs, repeats)
    for row, label in zip(rows, list(cfgs)[1:]):
        row["traces_per_s_ratio"] = tps[label] / tps["exact"]
    return {"exact_texts_per_s": len(prompts) / dt0, "exact_traces_per_s": tps["exact"], "settings": rows}


def native_models(tok):
    """Random-initialised kit-native LLaDA and Dream of the organism's size (hidden 256, 4 layers, 4 heads)."""
    from sri_kit import native
    V = len(tok)
    torch.manual_seed(0)
    llada = native.LLaDAForDiffusion(native.llada_config(
        d_model=256, n_heads=4, n_kv_heads=4, n_layers=4, mlp_hidden_size=512, vocab_size=V, embedding_size=V,
        mask_token_id=tok.mask_token_id, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)).eval()
    dream = native.DreamForDiffusion(native.dream_config(
        hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
        vocab_size=V)).eval()
    return {"native-llada-tiny": sk.wrap_model(llada, tok, family="diffusion", name="native-llada-tiny"),
            "native-dream-tiny": sk.wrap_model(dream, tok, family="diffusion", name="native-dream-tiny",
                                               shift_logits=True)}


def machine_info(threads: int | None) -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/fast_decoding.py")
    ap.add_argument("--quick", action="store_true", help="16 + 16 prompts, one repeat")
    ap.add_argument("--n", type=int, default=None, help="prompts per pool (harmful, benign); default 200")
    ap.add_argument("--traces", type=int, default=32, help="prompts for the traces/s comparison")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-native", action="store_true", help="skip the cached samplers on native models")
    ap.add_argument("--settings", default=None,
                    help="organism settings as name=value,... e.g. threshold=0.9,threshold_factor=4 (default: the sweep)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = args.n or (16 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)
    out = Path(args.json) if args.json else RESULTS / ("fast_decoding_quick.json" if args.quick else "fast_decoding.json")
    ensure_registered()
    log = lambda s: print(s, flush=True)  # noqa: E731
    res = {"machine": machine_info(args.threads), "n_per_pool": n, "repeats": repeats}
    lm = sk.load_model("tiny-dlm")
    base = lm.default_config
    harmful = [r["prompt"] for r in load_pool("harmful")][:n]
    benign = [r["prompt"] for r in load_pool("benign")][:n]
    log(f"organism tiny-dlm, {base.steps} steps, gen_length {base.gen_length}, block {base.block_len}; "
        f"{len(harmful)} harmful + {len(benign)} benign prompts")
    order = harmful + benign
    settings = ORGANISM_SETTINGS
    if args.settings:
        opt = {"threshold": "threshold", "threshold_factor": "factor"}
        settings = [(k, {opt[k]: float(v)}) for k, v in (item.split("=") for item in args.settings.split(","))]
    org = compare(lm, order, base, settings, len(harmful), min(args.traces, len(order)), repeats, log)
    res["organism"] = {"model": "tiny-dlm", "config": base.to_dict(), **org}
    ok = [r for r in org["settings"] if r["texts_per_s_ratio"] >= 3.0
          and max(abs(c) for c in r["refusal_harmful"]["ci95"]) <= 0.02 + 1e-12]
    ok_point = [r for r in org["settings"] if r["texts_per_s_ratio"] >= 3.0 and abs(r["refusal_harmful"]["delta"]) <= 0.02]
    res["target"] = {"speedup_3x_refusal_within_2pts_ci": [f"{r['sampler']} {r['options']}" for r in ok],
                     "speedup_3x_refusal_within_2pts_point": [f"{r['sampler']} {r['options']}" for r in ok_point]}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(out, json.dumps(res, indent=1, default=str))          # the organism part, in case of a stop
    if not args.no_native:
        res["native"] = {}
        prompts = harmful[:min(len(harmful), 32 if not args.quick else 8)]
        for name, nlm in native_models(lm.tokenizer).items():
            log(f"{name}: cached samplers, {len(prompts)} prompts")
            res["native"][name] = compare(nlm, prompts, base, CACHE_SETTINGS, len(prompts), len(prompts), repeats, log)
    res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(out, json.dumps(res, indent=1, default=str))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
